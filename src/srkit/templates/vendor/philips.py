"""Philips dose reports (angiography: Allura Xper / Clarity)."""

from __future__ import annotations

from srkit.codec.fixups import Fixup

MAKER = "philips"
ALIASES = ("philips",)
PRIVATE_SCHEMES = ("99PHI-IXR-XPER", "99PHILIPS")

_EXAMPLE = "rdsr/pyskindose_philips_allura_clarity_u104.dcm"

FIXUPS = (
    Fixup(
        "philips_private_concepts",
        "Events and accumulated data carry about 25 private concepts "
        "(99PHI-IXR-XPER: 'Table Height Position', 'Focal Spot to ISO Center', ...), "
        "some named like standard ones; their keys are prefixed 'philips_' so that "
        "they never shadow a standard key (table_height_position is 113753 DCM).",
        _EXAMPLE,
        maker=MAKER,
    ),
    Fixup(
        "empty_text_value",
        "TEXT items with an empty Text Value (type 1), such as 'Performing Physicians "
        "Name'; srkit writes null for them.",
        _EXAMPLE,
        maker=MAKER,
    ),
    Fixup(
        "empty_image_reference",
        "Acquired Image references with an empty Referenced SOP Instance UID; srkit "
        "writes null for the UID.",
        _EXAMPLE,
        maker=MAKER,
    ),
)
