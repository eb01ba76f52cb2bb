"""GE Healthcare dose reports (CT: Optima, Revolution, Discovery)."""

from __future__ import annotations

from srkit.codec.fixups import Fixup

MAKER = "ge"
ALIASES = ("ge medical", "ge healthcare", "general electric")

_EXAMPLE = "rdsr/openrem_CT-ESR-GE_Optima.dcm"

FIXUPS = (
    Fixup(
        "ge_enhanced_sr_dose_report",
        "The CT dose report (TID 10011, root 113701 DCM) is stored as an Enhanced SR "
        "(1.2.840.10008.5.1.4.1.1.88.22) instead of X-Ray Radiation Dose SR "
        "(1.2.840.10008.5.1.4.1.1.88.67); srkit recognises it by its root concept "
        "and template and reads it as a dose report.",
        _EXAMPLE,
        maker=MAKER,
    ),
    Fixup(
        "ge_unit_spelling",
        "DLP and CT Dose Length Product Total carry the unit 'mGycm', which is not "
        "UCUM; read as mGy.cm.",
        _EXAMPLE,
        maker=MAKER,
    ),
    Fixup(
        "ge_unbraced_annotation",
        "Number of X-Ray Sources carries the unit 'X-ray sources', a UCUM annotation "
        "without its braces; read as the count {X-ray sources}.",
        _EXAMPLE,
        maker=MAKER,
    ),
)

UNIT_SPELLINGS: dict[str, tuple[str, str]] = {
    "mGycm": ("mGy.cm", "ge_unit_spelling"),
    "X-ray sources": ("{X-ray sources}", "ge_unbraced_annotation"),
    "X-Ray sources": ("{X-Ray sources}", "ge_unbraced_annotation"),
}
"""Vendor spelling -> (UCUM unit, fix-up name)."""
