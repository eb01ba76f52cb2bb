"""SR content rows for the index: document facts, TID 1500 and dose rows.

The rows are those of ``srkit measurements`` (TID 1500, PS3.16) and ``srkit dose``
(TID 10011 CT Radiation Dose, TID 10001 Projection X-Ray Radiation Dose); the
template readers live in :mod:`srkit.templates` and are imported lazily, so the
index works (with document rows only) where a reader is missing. The kind of a
document (measurement report, dose report, key object selection) is the one rule of
:func:`srkit.templates.registry.document_kind`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from pydicom.dataset import Dataset

from srkit.errors import SrkitError

__all__ = ["sr_rows", "document_row", "measurement_columns", "dose_columns", "flat_numbers"]


def _code_cols(prefix: str, code: Any) -> dict[str, Any]:
    if isinstance(code, Mapping):
        return {
            f"{prefix}_value": code.get("value"),
            f"{prefix}_scheme": code.get("scheme"),
            f"{prefix}_meaning": code.get("meaning"),
        }
    return {f"{prefix}_value": None, f"{prefix}_scheme": None, f"{prefix}_meaning": None}


def _float(value: Any) -> float | None:
    if isinstance(value, Mapping):
        value = value.get("number", value.get("value"))
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _plain(value: Any) -> Any:
    """JSON-safe copy of a row (code objects and dataclasses become dicts)."""
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def document_row(doc: Any) -> dict[str, Any]:
    """The ``sr_document`` columns of a read document (PS3.3 C.17.2)."""
    from srkit.templates.registry import document_kind

    title = doc.title
    template = doc.template_id
    kind = document_kind(doc)
    diags = [d.to_dict() for d in doc.diagnostics]
    return {
        "kind": kind,
        "template": template,
        **_code_cols("title", title.to_dict() if title is not None else None),
        "completion_flag": doc.completion_flag,
        "verification_flag": doc.verification_flag,
        "item_count": len(doc),
        "error_count": sum(1 for d in diags if d["severity"] == "ERROR"),
        "warning_count": sum(1 for d in diags if d["severity"] == "WARNING"),
        "diagnostics": json.dumps(diags, ensure_ascii=False),
    }


def measurement_columns(row: Mapping[str, Any], *, qualitative: bool) -> dict[str, Any]:
    """Table columns of one ``srkit measurements`` row (the row itself kept as JSON)."""
    plain = _plain(dict(row))
    seg = plain.get("segmentation_sop_instance_uid")
    cols: dict[str, Any] = {
        "measurement_group_number": _int(plain.get("measurement_group_number")),
        "tracking_identifier": plain.get("tracking_identifier"),
        "tracking_unique_identifier": plain.get("tracking_unique_identifier"),
        **_code_cols("finding", plain.get("finding")),
        **_code_cols("finding_site", plain.get("finding_site")),
        **_code_cols("quantity", plain.get("quantity")),
        "row": json.dumps(plain, ensure_ascii=False),
    }
    if qualitative:
        cols.update(_code_cols("answer", plain.get("value")))
    else:
        cols["value"] = _float(plain.get("value"))
        cols.update(_code_cols("units", plain.get("units")))
        cols["segmentation_sop_instance_uid"] = seg if isinstance(seg, str) else None
        cols["segment_number"] = _int(plain.get("segment_number"))
    return cols


_CODE_KEYS = frozenset({"value", "scheme", "meaning", "version"})


def flat_numbers(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested report keys joined with ``.`` (lists: first element), leaves kept."""
    out: dict[str, Any] = {}
    _flatten(obj, prefix, out, None)
    return out


def _flatten(obj: Any, prefix: str, out: dict[str, Any], last: dict[str, Any] | None) -> None:
    """:func:`flat_numbers` into ``out`` (one dict for the whole walk: an event of a
    large report has hundreds of leaves); ``last`` also gets each leaf under its key's
    last dotted part (the first leaf of that part kept)."""
    while isinstance(obj, list):  # a list stands for its first element
        if not obj:
            return
        obj = obj[0]
    if (type(obj) is dict or isinstance(obj, Mapping)) and not _is_code(obj):
        for key, value in obj.items():
            _flatten(value, f"{prefix}{key}.", out, last)
        return
    key = prefix.rstrip(".")
    out[key] = obj
    if last is not None:
        last.setdefault(key.rsplit(".", 1)[-1], obj)


def _is_code(obj: Mapping[str, Any]) -> bool:
    """A code object (``value`` and ``scheme``, at most ``meaning`` and ``version``
    besides): a leaf of a flattened record."""
    return "value" in obj and "scheme" in obj and obj.keys() <= _CODE_KEYS


class _Picker:
    """Columns picked from one flattened record (:func:`flat_numbers`): the first
    value whose key is one of the names asked for, else the first whose last dotted
    part is; the last parts are indexed once."""

    __slots__ = ("flat", "last")

    def __init__(self, flat: Mapping[str, Any], last: dict[str, Any] | None = None) -> None:
        self.flat = flat
        if last is None:
            last = {}
            for key, value in flat.items():
                last.setdefault(key.rsplit(".", 1)[-1], value)
        self.last = last

    @classmethod
    def of(cls, obj: Any) -> _Picker:
        """The picker of :func:`flat_numbers` of ``obj``, flattened and indexed in one walk."""
        flat: dict[str, Any] = {}
        last: dict[str, Any] = {}
        _flatten(obj, "", flat, last)
        return cls(flat, last)

    def __call__(self, *names: str) -> Any:
        """The value for the first of ``names`` found (see the class), or None."""
        for name in names:
            if name in self.flat:
                return self.flat[name]
        for name in names:
            if name in self.last:
                return self.last[name]
        return None


def dose_columns(report: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Columns of ``dose_report`` and of each ``dose_event`` for one report dict."""
    text = json.dumps(dict(report), default=_default, ensure_ascii=False)
    plain = json.loads(text)  # JSON-safe; its text is the report column as it is
    totals: dict[str, Any] = {}
    for acc in plain.get("accumulated") or []:
        for key, value in flat_numbers(acc).items():
            totals.setdefault(key, value)
    total = _Picker(totals)
    row = {
        "template": plain.get("template"),
        "manufacturer": plain.get("manufacturer"),
        "manufacturer_model_name": plain.get("manufacturer_model_name"),
        "station_name": plain.get("station_name"),
        **_code_cols("procedure", plain.get("procedure_reported")),
        "start_of_xray_irradiation": plain.get("start_of_xray_irradiation"),
        "end_of_xray_irradiation": plain.get("end_of_xray_irradiation"),
        "total_dlp": _float(total("ct_dose_length_product_total")),
        "total_dap": _float(total("dose_area_product_total")),
        "total_dose_rp": _float(total("dose_rp_total")),
        "event_count": len(plain.get("events") or []),
        "report": text,
    }
    events = []
    for number, event in enumerate(plain.get("events") or [], start=1):
        pick = _Picker.of(event)
        events.append(
            {
                "event_number": number,
                "irradiation_event_uid": pick("irradiation_event_uid"),
                "acquisition_protocol": pick("acquisition_protocol"),
                "datetime_started": pick("datetime_started"),
                **_code_cols("target_region", pick("target_region")),
                "mean_ctdivol": _float(pick("mean_ctdivol")),
                "dlp": _float(pick("dlp")),
                "dose_area_product": _float(pick("dose_area_product")),
                "dose_rp": _float(pick("dose_rp")),
                "kvp": _float(pick("kvp")),
                "row": json.dumps(event, ensure_ascii=False),
            }
        )
    for key in ("irradiation_event_uid", "acquisition_protocol", "datetime_started"):
        for ev in events:
            if ev[key] is not None and not isinstance(ev[key], str):
                ev[key] = str(ev[key])
    return row, events


def sr_rows(ds: Dataset) -> dict[str, Any] | None:
    """Every SR row of a dataset: ``document``, ``measurements``, ``qualitative``,
    ``dose`` (``(report_row, event_rows)`` or None), ``notes`` (template reader errors).

    None when the SR content cannot be read at all.
    """
    from srkit.codec.reader import read_dataset

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = read_dataset(ds)
    except SrkitError:
        return None
    out: dict[str, Any] = {
        "document": document_row(doc),
        "measurements": [],
        "qualitative": [],
        "dose": None,
        "notes": [],
    }
    kind = out["document"]["kind"]
    if kind == "measurement_report":
        _measurements(doc, out)
    elif kind == "dose_report":
        _dose(doc, out)
    return out


def _measurements(doc: Any, out: dict[str, Any]) -> None:
    from srkit.templates import tid1500

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not tid1500.is_measurement_report(doc):
                return
            report = tid1500.read_measurement_report(doc)  # read once for both kinds
            out["measurements"] = [
                measurement_columns(r, qualitative=False) for r in report.measurement_rows()
            ]
            out["qualitative"] = [
                measurement_columns(r, qualitative=True) for r in report.qualitative_rows()
            ]
    except Exception as exc:  # a reader bug is a note on the document, not a lost file
        out["notes"].append(f"TID 1500 rows not read: {type(exc).__name__}: {exc}")
        out["measurements"], out["qualitative"] = [], []


def _dose(doc: Any, out: dict[str, Any]) -> None:
    from srkit.templates import dose

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = dose.dose_report(doc)
            if report is None:  # not a dose report after all
                return
            report_dict = report.to_dict()
            row, events = dose_columns(report_dict)
            summary = _plain(dose.dose_summary(report_dict))
            row["summary"] = json.dumps(summary, ensure_ascii=False) if summary else None
            for column, key in (
                ("total_dlp", "dlp_total"),
                ("total_dap", "dap_total"),
                ("total_dose_rp", "dose_rp_total"),
            ):
                if summary and summary.get(key) is not None:
                    row[column] = _float(summary[key])
            if summary:
                row["manufacturer"] = row["manufacturer"] or summary.get("manufacturer")
                row["manufacturer_model_name"] = row["manufacturer_model_name"] or summary.get(
                    "model"
                )
            out["dose"] = (row, events)
    except Exception as exc:
        out["notes"].append(f"dose rows not read: {type(exc).__name__}: {exc}")
        out["dose"] = None
