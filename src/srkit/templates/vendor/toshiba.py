"""Toshiba / Canon Medical dose reports (CT: Aquilion)."""

from __future__ import annotations

from srkit.codec.fixups import Fixup

MAKER = "toshiba"
ALIASES = ("toshiba", "canon")
PRIVATE_SCHEMES = ("99TOSHIBA-TMSC", "99CANON")

_EXAMPLE = "rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm"

FIXUPS = (
    Fixup(
        "wrong_code_meaning",
        "Concept names carry a meaning that is not the standard's (113832 DCM written "
        "'Identification Number of the X-Ray Source'); srkit keys every item by its "
        "code value and scheme and reports the differing meanings once.",
        _EXAMPLE,
        maker=MAKER,
    ),
    Fixup(
        "private_report_content",
        "A private container (99TOSHIBA-TMSC 'Patient Body Parameters', with 'Total "
        "Number of Images') sits at report level, where TID 10011 has no row for it; "
        "srkit keeps it in DoseReport.extra, outside the contract's JSON.",
        _EXAMPLE,
        maker=MAKER,
    ),
    Fixup(
        "toshiba_dose_check",
        "Each CT Dose container holds TID 10015 Dose Check Alert Details with a Person "
        "Name (and its role) and Dose Check Notification Details; the person's role, a "
        "HAS PROPERTIES child, becomes a key beside person_name and the Yes/No answers "
        "stay legacy SNOMED RT codes (R-0038D, R-00339) as stored.",
        _EXAMPLE,
        maker=MAKER,
    ),
)
