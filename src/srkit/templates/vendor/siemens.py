"""Siemens Healthineers dose reports (CT: SOMATOM; angiography: AXIOM-Artis)."""

from __future__ import annotations

from srkit.codec.fixups import Fixup

MAKER = "siemens"
ALIASES = ("siemens",)
PRIVATE_SCHEMES = ("99SMS", "99SIEMENS")

FIXUPS = (
    Fixup(
        "siemens_unit_spelling",
        "Dose area products carry 'Gym2', DLPs 'mGycm' and exposures 'uAs', none of "
        "them UCUM; read as Gy.m2, mGy.cm and uA.s.",
        "rdsr/pyskindose_siemens_axiom_artis.dcm",
        maker=MAKER,
    ),
    Fixup(
        "siemens_dual_source",
        "Dual-source scanners (SOMATOM Definition Flash) write two CT X-Ray Source "
        "Parameters containers, 'A' and 'B', per acquisition; srkit keeps both, in "
        "order, as the list ct_acquisition_parameters.ct_xray_source_parameters and "
        "the summary reports kVp per source.",
        "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm",
        maker=MAKER,
    ),
)

UNIT_SPELLINGS: dict[str, tuple[str, str]] = {
    "Gym2": ("Gy.m2", "siemens_unit_spelling"),
    "mGycm": ("mGy.cm", "siemens_unit_spelling"),
    "uAs": ("uA.s", "siemens_unit_spelling"),
    "mAs": ("mA.s", "siemens_unit_spelling"),
}
"""Vendor spelling -> (UCUM unit, fix-up name)."""
