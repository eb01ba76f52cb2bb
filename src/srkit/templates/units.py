"""UCUM units: parsing, conversion, and the units the dose templates prescribe.

The dose templates of PS3.16 (TID 10001-10007, TID 10011-10015) name one unit per
numeric concept (``UNITS = EV (mGy.cm, UCUM, "mGy.cm")``); every number srkit
tabulates is converted to that unit, whatever the vendor wrote. The parser covers
the part of UCUM (https://ucum.org/ucum) that dose reports use: prefixes, atoms,
integer exponents, products (``.``), quotients (``/``) and annotations (``{events}``).
A unit that cannot be converted raises :class:`UnitError`; callers turn it into a
diagnostic, never into a number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from srkit.errors import UnsupportedError

__all__ = [
    "UnitError",
    "Unit",
    "parse_ucum",
    "conversion_factor",
    "convert",
    "PRESCRIBED_UNITS",
    "prescribed_unit",
    "UNIT_MEANINGS",
    "STANDARD_SPELLINGS",
    "standard_unit",
]


class UnitError(UnsupportedError):
    """A unit srkit cannot parse, or two units of different dimensions."""


# base dimensions; Gy and Sv, V and A are kept apart on purpose (no J/kg trickery:
# a dose in Sv must never silently become a dose in Gy)
_DIMS = ("m", "g", "s", "A", "V", "Gy", "Sv", "rad")

_ATOMS: dict[str, tuple[float, dict[str, int]]] = {
    "m": (1.0, {"m": 1}),
    "g": (1.0, {"g": 1}),
    "s": (1.0, {"s": 1}),
    "min": (60.0, {"s": 1}),
    "h": (3600.0, {"s": 1}),
    "A": (1.0, {"A": 1}),
    "V": (1.0, {"V": 1}),
    "Gy": (1.0, {"Gy": 1}),
    "Sv": (1.0, {"Sv": 1}),
    "rad": (1.0, {"rad": 1}),
    "deg": (math.pi / 180.0, {"rad": 1}),
    "Hz": (1.0, {"s": -1}),
    "L": (1e-3, {"m": 3}),
    "l": (1e-3, {"m": 3}),
    "%": (0.01, {}),
    "1": (1.0, {}),
}
_ATOMS_NO_PREFIX = frozenset({"min", "h", "deg", "%", "1", "rad"})

_PREFIXES: dict[str, float] = {
    "Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6,
    "k": 1e3, "h": 1e2, "da": 1e1, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6,
    "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18,
}  # fmt: skip

_COMPONENT = re.compile(r"^([A-Za-z%]+|1)(-?\d+)?$")
_ANNOTATION = re.compile(r"\{[^{}]*\}")
_GROUP = re.compile(r"/\(([^()/]*)\)")


@dataclass(frozen=True, slots=True)
class Unit:
    """A parsed unit: a factor to the base units and a dimension vector."""

    factor: float
    dims: tuple[int, ...]

    @property
    def dimensionless(self) -> bool:
        """True for counts, ratios and annotations (``1``, ``{events}``, ``%``)."""
        return not any(self.dims)


def _atom(symbol: str) -> tuple[float, dict[str, int]] | None:
    if symbol in _ATOMS:
        return _ATOMS[symbol]
    for prefix in sorted(_PREFIXES, key=len, reverse=True):
        if symbol.startswith(prefix):
            rest = symbol[len(prefix) :]
            if rest in _ATOMS and rest not in _ATOMS_NO_PREFIX:
                factor, dims = _ATOMS[rest]
                return _PREFIXES[prefix] * factor, dims
    return None


def _component(text: str, original: str) -> tuple[float, dict[str, int]]:
    if text == "":
        return 1.0, {}  # a bare annotation, "{events}"
    match = _COMPONENT.match(text)
    if match is None:
        raise UnitError(f"not a UCUM unit: {original!r}")
    found = _atom(match.group(1))
    if found is None:
        raise UnitError(f"not a UCUM unit: {original!r}")
    exponent = int(match.group(2) or 1)
    factor, dims = found
    return factor**exponent, {k: v * exponent for k, v in dims.items()}


@cache
def parse_ucum(code: str) -> Unit:
    """Parse a UCUM expression (``"mGy.cm"``, ``"dGy.cm2"``, ``"{pulse}/s"``).

    Raises
    ------
    UnitError
        For anything outside the supported subset of UCUM.
    """
    text = _ANNOTATION.sub("", code.strip())
    # one parenthesised divisor, "mSv/(mGy.cm)": every factor in it divides
    text = _GROUP.sub(lambda m: "/" + m.group(1).replace(".", "/"), text)
    if code.strip() == "" or "{" in text or "}" in text or " " in text:
        raise UnitError(f"not a UCUM unit: {code!r}")
    factor = 1.0
    dims = dict.fromkeys(_DIMS, 0)
    sign = 1
    token = ""
    for char in text + ".":
        if char in "./":
            f, d = _component(token, code)
            factor = factor * f if sign > 0 else factor / f
            for k, v in d.items():
                dims[k] += sign * v
            sign = -1 if char == "/" else 1
            token = ""
        else:
            token += char
    return Unit(factor, tuple(dims[k] for k in _DIMS))


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """The factor that turns a number in ``from_unit`` into ``to_unit``.

    Raises
    ------
    UnitError
        When either unit is not UCUM or the dimensions differ.
    """
    a, b = parse_ucum(from_unit), parse_ucum(to_unit)
    if a.dims != b.dims:
        raise UnitError(f"cannot convert {from_unit!r} to {to_unit!r}")
    return a.factor / b.factor


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``, to 15 significant digits."""
    if from_unit == to_unit:
        return value
    factor = conversion_factor(from_unit, to_unit)
    if factor == 1.0:
        return value
    return float(f"{value * factor:.15g}")


def _table() -> dict[str, str]:
    # (DCM code value) -> UCUM unit, from the UNITS constraints of PS3.16
    # TID 10002-10007 (projection X-ray) and TID 10012-10015 (CT).
    groups: dict[str, tuple[str, ...]] = {
        "Gy.m2": ("113722", "113726", "113727", "122130"),
        "Gy": ("113725", "113728", "113729", "113738"),
        "mGy": (
            "113830", "113837", "113904", "113906", "113912", "113914", "113930",
            "111631", "111636", "111637",
        ),
        "mGy.cm": ("113813", "113838", "113903", "113905", "113911", "113913"),
        "mSv": ("113814", "113839"),
        "mSv/(mGy.cm)": ("113840",),
        "mGy/(mA.s)": ("113836",),
        "s": ("113730", "113855", "113742", "113824", "113834"),
        "ms": ("113735", "113793"),
        "uA.s": ("113736",),
        "mA": ("113734", "113833"),
        "kV": ("113733",),
        "mm": (
            "113825", "113826", "113827", "113893", "113895", "113896",
            "113897", "113898", "113899", "113821", "113766", "113750", "113748",
            "113737", "113751", "113752", "113753", "113758", "113773", "113788",
            "113789", "111633", "111634", "111638",
        ),
        "deg": ("112011", "112012", "113739", "113740", "113770", "113754", "113755", "113756"),
        "m2": ("113790",),
        "{pulse}/s": ("113791",),
        "%": ("113763",),
        "1": ("113812", "113823", "113828", "113768", "113731", "122322"),
    }  # fmt: skip
    return {value: unit for unit, values in groups.items() for value in values}


PRESCRIBED_UNITS: dict[str, str] = _table()
"""DCM concept code value -> the UCUM unit its template prescribes."""

UNIT_MEANINGS: dict[str, str] = {
    "Gy.m2": "Gy.m2",
    "mGy.cm": "mGy.cm",
    "mSv/mGy.cm": "mSv/mGy.cm",
    "mGy/mA.s": "mGy/mAs",
    "uA.s": "uAs",
    "{pulse}/s": "pulse/s",
    "%": "Percent",
    "1": "no units",
    "{events}": "events",
    "{X-Ray sources}": "X-Ray sources",
    "{ratio}": "ratio",
    "m2": "m2",
}
"""Code meanings srkit writes for the units it creates (the rest mean themselves)."""


STANDARD_SPELLINGS: dict[str, str] = {
    "mSv/(mGy.cm)": "mSv/mGy.cm",
    "mGy/(mA.s)": "mGy/mA.s",
}
"""Units as PS3.16 spells them where UCUM's left-to-right reading would differ:
srkit writes the standard's spelling and reads it as the parenthesised unit."""

_READ_SPELLINGS = {v: k for k, v in STANDARD_SPELLINGS.items()}


def standard_unit(code: str) -> str:
    """The UCUM reading of a unit as the standard spells it (``mSv/mGy.cm``)."""
    return _READ_SPELLINGS.get(code, code)


def prescribed_unit(scheme: str, value: str) -> str | None:
    """The prescribed UCUM unit of a numeric concept, ``None`` when none is known."""
    if scheme != "DCM":
        return None
    return PRESCRIBED_UNITS.get(value)
