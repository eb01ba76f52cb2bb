"""Vendor knowledge for dose reports: named fix-ups, each with the real file that needs it.

Each maker's module (``ge``, ``siemens``, ``toshiba``, ``philips``) declares its
fix-ups as :class:`~srkit.codec.fixups.Fixup` records (``maker=`` set); importing
this package registers them in the codec's one registry
(:data:`srkit.codec.fixups.FIXUPS`). When one applies, the dose reader leaves a
diagnostic that names it, so a repaired number never hides what was wrong. Files
are named by their path inside the shared test data (see ``PROVENANCE.md``).
"""

from __future__ import annotations

from srkit.codec.fixups import Fixup, register
from srkit.model.code import Code
from srkit.templates.vendor import ge, philips, siemens, toshiba

__all__ = [
    "FIXUPS",
    "UNIT_SPELLINGS",
    "PRIVATE_SCHEME_PREFIXES",
    "unit_spelling",
    "private_key_prefix",
    "maker_of",
]


_MAKERS = (ge, siemens, toshiba, philips)

FIXUPS: dict[str, Fixup] = {f.name: register(f) for m in _MAKERS for f in m.FIXUPS}
"""Every vendor fix-up of the dose reports, by name (each also in the codec's registry)."""

UNIT_SPELLINGS: dict[str, dict[str, tuple[str, str]]] = {
    m.MAKER: m.UNIT_SPELLINGS for m in _MAKERS if hasattr(m, "UNIT_SPELLINGS")
}
"""maker -> {vendor spelling -> (UCUM unit, fix-up name)}."""

PRIVATE_SCHEME_PREFIXES: dict[str, str] = {
    scheme: m.MAKER for m in _MAKERS for scheme in getattr(m, "PRIVATE_SCHEMES", ())
}
"""Private coding scheme -> key prefix (``99PHI-IXR-XPER`` -> ``philips``)."""


def maker_of(manufacturer: str | None) -> str | None:
    """The maker module's name for a Manufacturer (0008,0070) value, if srkit knows it."""
    if not manufacturer:
        return None
    text = manufacturer.lower()
    for m in _MAKERS:
        if any(alias in text for alias in m.ALIASES):
            return str(m.MAKER)
    return None


def unit_spelling(code: Code, maker: str | None) -> tuple[str, str] | None:
    """The UCUM unit a vendor meant by a non-UCUM spelling, with the fix-up's name.

    The document's own maker is asked first, then every other maker (a file
    re-exported by another system keeps its original spellings).
    """
    order = [maker] if maker in UNIT_SPELLINGS else []
    order += [m for m in UNIT_SPELLINGS if m != maker]
    for name in order:
        found = UNIT_SPELLINGS[name].get(code.value)
        if found is not None:
            return found
    return None


def private_key_prefix(code: Code) -> str:
    """The key prefix of a private concept: the maker for its scheme, else ``private``."""
    return PRIVATE_SCHEME_PREFIXES.get(code.scheme.split("[")[0], "private")
