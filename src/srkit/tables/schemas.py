"""Fixed table schemas of the contract's tables (``srkit measurements``)."""

from __future__ import annotations

from srkit.tables.write import Schema
from srkit.templates.tid1500 import QUALITATIVE_COLUMNS, QUANTITATIVE_COLUMNS

__all__ = ["CONTEXT_COLUMNS", "MEASUREMENTS", "QUALITATIVE", "with_context"]

_CODES = frozenset(
    {
        "finding",
        "finding_site",
        "laterality",
        "quantity",
        "units",
        "derivation",
        "measurement_method",
    }
)
_TYPES = {
    "measurement_group_number": "int",
    "segment_number": "int",
    "value": "float",
    "source_sop_instance_uids": "strings",
}

MEASUREMENTS = Schema(columns=QUANTITATIVE_COLUMNS, codes=_CODES, types=_TYPES)
"""Quantitative rows: the contract's columns, codes as structs, value a float."""

QUALITATIVE = Schema(
    columns=QUALITATIVE_COLUMNS,
    codes=(_CODES - {"units"}) | {"value"},
    types={k: v for k, v in _TYPES.items() if k != "value"},
)
"""Qualitative rows: the same without units, the value a code."""

CONTEXT_COLUMNS = (
    "patient_id",
    "patient_name",
    "study_date",
    "accession_number",
    "modality",
    "series_manufacturer",
)
"""What the database adds to a measurement row (``srkit query measurements --context``):
the patient and study the report belongs to, as the study's own files say them."""


def with_context(schema: Schema) -> Schema:
    """``schema`` followed by :data:`CONTEXT_COLUMNS` (all text)."""
    return Schema(
        columns=[*schema.columns, *CONTEXT_COLUMNS], codes=schema.codes, types=dict(schema.types)
    )
