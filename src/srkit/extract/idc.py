"""``--columns idc``: TID 1500 rows named and nested as the Imaging Data Commons'
BigQuery views ``quantitative_measurements`` and ``qualitative_measurements`` name
them (PS3.16 TID 1500, TID 1411; codes as structs of CodeValue,
CodingSchemeDesignator, CodingSchemeVersion, CodeMeaning).

Differences from IDC's views, on purpose:

* IDC's views keep only measurement groups that reference a segment of a DICOM SEG
  (TID 1411 with Referenced Segment). srkit keeps every group, planar ROI groups
  (TID 1410), image-level groups (TID 1501), volumetric groups without a SEG
  reference and report-level qualitative evaluations, and says why IDC's views would
  drop the row in ``srkitNotInIdcViews`` (null when IDC's views hold it too).
* ``measurementGroup_number`` is 0-based, as in IDC (the offset of the group in the
  Imaging Measurements container); null for a report-level evaluation.
* ``Value`` is a float (IDC: NUMERIC); a TEXT qualitative evaluation has its text in
  ``Value.CodeMeaning`` with no code value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["IDC_QUALITATIVE", "IDC_QUANTITATIVE", "idc_rows", "idc_schema"]

_CODE_FIELDS = ("CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning")

IDC_QUANTITATIVE: tuple[tuple[str, str], ...] = (
    ("PatientID", "string"),
    ("SOPInstanceUID", "string"),
    ("SeriesInstanceUID", "string"),
    ("measurementGroup_number", "int"),
    ("segmentationInstanceUID", "string"),
    ("segmentationSegmentNumber", "int"),
    ("sourceSegmentedSeriesUID", "string"),
    ("trackingIdentifier", "string"),
    ("trackingUniqueIdentifier", "string"),
    ("Quantity", "code"),
    ("Value", "float"),
    ("Units", "code"),
    ("finding", "code"),
    ("findingSite", "code"),
    ("lateralityModifier", "code"),
    ("derivationModifier", "code"),
    ("srkitNotInIdcViews", "string"),
)
"""Columns of ``quantitative_measurements`` and their types."""

IDC_QUALITATIVE: tuple[tuple[str, str], ...] = tuple(
    (name, "code" if name == "Value" else kind)
    for name, kind in IDC_QUANTITATIVE
    if name not in ("Units", "derivationModifier")
)
"""Columns of ``qualitative_measurements``: the same without Units and
derivationModifier; ``Value`` is a code."""


def idc_schema(kind: str) -> Any:
    """The Arrow schema of the ``kind`` table (``quantitative`` or ``qualitative``)."""
    import pyarrow as pa

    code = pa.struct([(f, pa.string()) for f in _CODE_FIELDS])
    types = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "code": code}
    columns = IDC_QUANTITATIVE if kind == "quantitative" else IDC_QUALITATIVE
    return pa.schema([pa.field(name, types[t]) for name, t in columns])


def _code(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        return {
            "CodeValue": None,
            "CodingSchemeDesignator": None,
            "CodingSchemeVersion": None,
            "CodeMeaning": value,
        }
    if not isinstance(value, Mapping):
        return None
    return {
        "CodeValue": value.get("value"),
        "CodingSchemeDesignator": value.get("scheme"),
        "CodingSchemeVersion": value.get("version"),
        "CodeMeaning": value.get("meaning"),
    }


def _why_not(group: Any) -> str | None:
    if group is None:
        return "report-level evaluation (no measurement group)"
    if group.template == "1410":
        return "planar ROI group (TID 1410)"
    if group.template == "1501":
        return "image-level group (TID 1501)"
    if group.referenced_segment is None:
        return "no SEG reference (TID 1411 without Referenced Segment)"
    return None


def idc_rows(
    rows: Sequence[Mapping[str, Any]], report: Any, patient_id: str | None, kind: str
) -> list[dict[str, Any]]:
    """IDC rows of srkit's rows of one report (:func:`srkit.templates.tid1500.report_rows`)."""
    groups = {g.number: g for g in report.groups}
    out = []
    for row in rows:
        number = row.get("measurement_group_number")
        group = groups.get(number) if number is not None else None
        item: dict[str, Any] = {
            "PatientID": patient_id,
            "SOPInstanceUID": row.get("sop_instance_uid"),
            "SeriesInstanceUID": row.get("series_instance_uid"),
            "measurementGroup_number": None if number is None else int(number) - 1,
            "segmentationInstanceUID": row.get("segmentation_sop_instance_uid"),
            "segmentationSegmentNumber": row.get("segment_number"),
            "sourceSegmentedSeriesUID": (
                group.source_series_for_segmentation if group is not None else None
            ),
            "trackingIdentifier": row.get("tracking_identifier"),
            "trackingUniqueIdentifier": row.get("tracking_unique_identifier"),
            "Quantity": _code(row.get("quantity")),
            "Value": _code(row.get("value")) if kind == "qualitative" else row.get("value"),
            "finding": _code(row.get("finding")),
            "findingSite": _code(row.get("finding_site")),
            "lateralityModifier": _code(row.get("laterality")),
            "srkitNotInIdcViews": _why_not(group),
        }
        if kind == "quantitative":
            item["Units"] = _code(row.get("units"))
            item["derivationModifier"] = _code(row.get("derivation"))
        out.append(item)
    return out
