"""Queries over the SR content tables: measurements (TID 1500), dose (TID 10011/10001).

Filters are keyword arguments:

- code filters (``finding``, ``finding_site``, ``quantity``, ``units``, ``answer``,
  ``target_region``, ``procedure``): a code value (``"G-D705"``), ``"value:scheme"``,
  or a meaning with wildcards (``"*volume*"``, case-insensitive);
- ``min_<column>`` / ``max_<column>`` on numeric columns (``min_value``,
  ``max_total_dlp``, ``min_mean_ctdivol``, ...);
- ``date_from`` / ``date_to`` (Study Date, ``YYYYMMDD``);
- text filters with DICOM wildcards: ``manufacturer``, ``patient_id``,
  ``patient_name``, ``station_name``, ``tracking_identifier``,
  ``acquisition_protocol``, ``template``, ``kind``;
- UIDs: ``study_instance_uid``, ``sop_instance_uid``, ``series_instance_uid``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.engine import Connection

from srkit.db import schema as S
from srkit.db.query import _like_pattern, _person_name, match, sql_integer
from srkit.errors import SrkitError

__all__ = ["measurement_query", "dose_query", "dose_exam_query", "document_query", "run"]

_CONTEXT = [
    S.study.c.patient_id,  # as the study's own files say (srkit.db.hierarchy)
    S.study.c.patient_name,
    S.study.c.study_date,
    S.study.c.accession_number,
    S.series.c.modality,
    S.series.c.manufacturer.label("series_manufacturer"),
]
_CODES = (
    "finding",
    "finding_site",
    "quantity",
    "units",
    "answer",
    "target_region",
    "procedure",
    "title",
)
_TEXT = (
    "manufacturer",
    "patient_id",
    "patient_name",
    "station_name",
    "tracking_identifier",
    "acquisition_protocol",
    "template",
    "kind",
    "manufacturer_model_name",
)
_UIDS = (
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "tracking_unique_identifier",
    "irradiation_event_uid",
)


def _joined(table: Any) -> Any:
    i = S.instance
    return (
        table.join(i, table.c.instance_pk == i.c.pk)
        .join(S.series, i.c.series_pk == S.series.c.pk)
        .join(S.study, S.series.c.study_pk == S.study.c.pk)
        .join(S.patient, S.study.c.patient_pk == S.patient.c.pk)
    )


def _column(tables: list[Any], name: str) -> Any:
    for table in tables:
        if name in table.c:
            return table.c[name]
    return None


def _code_condition(table: Any, prefix: str, value: str) -> Any:
    text = value.strip()
    code_value, _, scheme = text.partition(":")
    if scheme and " " not in text:
        return and_(table.c[f"{prefix}_value"] == code_value, table.c[f"{prefix}_scheme"] == scheme)
    # a meaning: case-insensitive, with wildcards (the PN rule of C-FIND, not fuzzy)
    meaning = _person_name(table.c[f"{prefix}_meaning"], text, False)
    return or_(table.c[f"{prefix}_value"] == text, meaning)


def _conditions(tables: list[Any], filters: Mapping[str, Any]) -> list[Any]:
    conds: list[Any] = []
    for key, raw in filters.items():
        if raw is None or raw == "":
            continue
        value = str(raw)
        if key in ("date_from", "date_to"):
            column = S.study.c.study_date
            conds.append(column >= value if key == "date_from" else column <= value)
        elif key.startswith(("min_", "max_")):
            column = _column(tables, key[4:])
            if (
                column is None
                or not hasattr(column.type, "python_type")
                or (column.type.python_type is not float)
            ):
                raise SrkitError(f"unknown numeric filter {key!r}")
            try:
                number = float(raw)
            except (TypeError, ValueError):
                raise SrkitError(f"{key} needs a number, not {raw!r}") from None
            conds.append(column >= number if key.startswith("min_") else column <= number)
        elif key in _CODES:
            table = next((t for t in tables if f"{key}_value" in t.c), None)
            if table is None:
                raise SrkitError(f"unknown filter {key!r}")
            conds.append(_code_condition(table, key, value))
        elif key in _TEXT or key in _UIDS:
            column = _column(tables, key)
            if column is None:
                raise SrkitError(f"unknown filter {key!r}")
            vr = "UI" if key in _UIDS else ("PN" if key == "patient_name" else "LO")
            cond = match(column, value, vr, fuzzy=False)
            if key == "manufacturer" and vr == "LO":
                cond = column.ilike(_like_pattern(value), escape="\\")
            if cond is not None:
                conds.append(cond)
        else:
            raise SrkitError(f"unknown filter {key!r}")
    return conds


def _paging(stmt: Select[Any], filters: dict[str, Any]) -> Select[Any]:
    limit = filters.pop("limit", None)
    offset = filters.pop("offset", None)
    if limit is not None:
        stmt = stmt.limit(sql_integer("limit", limit, low=0))
    if offset:
        stmt = stmt.offset(sql_integer("offset", offset, low=0))
    return stmt


def measurement_query(filters: Mapping[str, Any]) -> tuple[Select[Any], str]:
    """Rows of ``srkit measurements`` (``kind="qualitative"`` for evaluations)."""
    opts = dict(filters)
    kind = opts.pop("kind", "quantitative")
    if kind not in ("quantitative", "qualitative"):
        raise SrkitError(f"kind must be quantitative or qualitative, not {kind!r}")
    table = S.measurement if kind == "quantitative" else S.qualitative
    tables = [table, S.instance, S.series, S.study, S.patient]
    stmt = select(table.c.row, *_CONTEXT).select_from(_joined(table))
    stmt = stmt.where(*_conditions(tables, opts_without_paging(opts)))
    stmt = stmt.order_by(S.study.c.study_date, S.instance.c.sop_instance_uid, table.c.pk)
    return _paging(stmt, opts), "row"


def opts_without_paging(opts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in opts.items() if k not in ("limit", "offset")}


def dose_query(filters: Mapping[str, Any]) -> tuple[Select[Any], str]:
    """Dose reports (one row per report: summary and totals) or, with
    ``level="event"``, irradiation events (one row per event with its report's facts)."""
    opts = dict(filters)
    level = opts.pop("level", "report")
    r = S.dose_report
    tables = [r, S.instance, S.series, S.study, S.patient]
    report_cols = [
        r.c.template,
        r.c.manufacturer,
        r.c.manufacturer_model_name,
        r.c.station_name,
        r.c.total_dlp,
        r.c.total_dap,
        r.c.total_dose_rp,
        r.c.event_count,
        S.instance.c.sop_instance_uid,
        S.study.c.study_instance_uid,
        r.c.start_of_xray_irradiation,
    ]
    if level == "event":
        e = S.dose_event
        tables.insert(0, e)
        joined = e.join(r, e.c.dose_report_pk == r.c.pk)
        joined = (
            joined.join(S.instance, r.c.instance_pk == S.instance.c.pk)
            .join(S.series, S.instance.c.series_pk == S.series.c.pk)
            .join(S.study, S.series.c.study_pk == S.study.c.pk)
            .join(S.patient, S.study.c.patient_pk == S.patient.c.pk)
        )
        stmt = select(e.c.event_number, r.c.report, *report_cols, *_CONTEXT).select_from(joined)
        order = [S.study.c.study_date, S.instance.c.sop_instance_uid, e.c.event_number]
        shape = "event"
    elif level == "report":
        stmt = select(
            r.c.summary,
            r.c.procedure_value,
            r.c.procedure_scheme,
            r.c.procedure_meaning,
            *report_cols,
            *_CONTEXT,
        ).select_from(_joined(r))
        order = [S.study.c.study_date, S.instance.c.sop_instance_uid]
        shape = "report"
    else:
        raise SrkitError(f"level must be report or event, not {level!r}")
    stmt = stmt.where(*_conditions(tables, opts_without_paging(opts))).order_by(*order)
    return _paging(stmt, opts), shape


def dose_exam_query(
    sop_instance_uids: list[str] | None = None, patient_ids: list[str] | None = None
) -> Select[Any]:
    """Every dose report's stored record with its patient and study (for
    :mod:`srkit.dose.exams`), or only those of ``sop_instance_uids`` / ``patient_ids``."""
    return _dose_exams([S.dose_report.c.report], sop_instance_uids, patient_ids)


def dose_exam_keys_query(
    sop_instance_uids: list[str] | None = None, patient_ids: list[str] | None = None
) -> Select[Any]:
    """:func:`dose_exam_query` without the report: each dose report's key (its row,
    its instance's content hash and time of indexing) and its context, so that a
    caller holding the exams of known keys reads only the others' reports
    (:func:`dose_reports_query`)."""
    keys = [
        S.dose_report.c.pk.label("report_pk"),
        S.instance.c.content_hash,
        S.instance.c.imported_at,
    ]
    return _dose_exams(keys, sop_instance_uids, patient_ids)


def _dose_exams(
    columns: list[Any], sop_instance_uids: list[str] | None, patient_ids: list[str] | None
) -> Select[Any]:
    """``columns`` and the context of each dose report (of ``sop_instance_uids`` /
    ``patient_ids``), by study date and SOP Instance UID."""
    stmt = select(
        *columns,
        S.instance.c.sop_instance_uid,
        S.study.c.study_instance_uid,
        S.patient.c.patient_id,
        S.patient.c.patient_name,
        S.study.c.study_date,
    ).select_from(_joined(S.dose_report))
    if sop_instance_uids is not None:
        stmt = stmt.where(S.instance.c.sop_instance_uid.in_(sop_instance_uids))
    if patient_ids is not None:
        stmt = stmt.where(S.patient.c.patient_id.in_(patient_ids))
    return stmt.order_by(S.study.c.study_date, S.instance.c.sop_instance_uid)


def dose_reports_query(report_pks: list[int]) -> Select[Any]:
    """The stored report of each ``dose_report`` row of ``report_pks``."""
    r = S.dose_report
    return select(r.c.pk, r.c.report).where(r.c.pk.in_(report_pks))


def document_query(filters: Mapping[str, Any]) -> tuple[Select[Any], str]:
    """SR documents (kind, template, title, flags, diagnostics counts)."""
    opts = dict(filters)
    d = S.sr_document
    tables = [d, S.instance, S.series, S.study, S.patient]
    stmt = select(
        S.instance.c.sop_instance_uid,
        S.instance.c.sop_class_uid,
        S.study.c.study_instance_uid,
        d.c.kind,
        d.c.template,
        d.c.title_value,
        d.c.title_scheme,
        d.c.title_meaning,
        d.c.completion_flag,
        d.c.verification_flag,
        d.c.item_count,
        d.c.error_count,
        d.c.warning_count,
        d.c.diagnostics,
        *_CONTEXT,
    ).select_from(_joined(d))
    stmt = stmt.where(*_conditions(tables, opts_without_paging(opts)))
    stmt = stmt.order_by(S.study.c.study_date, S.instance.c.sop_instance_uid)
    return _paging(stmt, opts), "document"


def run(conn: Connection, stmt: Select[Any], shape: str) -> list[dict[str, Any]]:
    """Execute and shape the rows as plain dicts.

    An event row is the row :func:`srkit.tables.dose.event_rows` makes of the stored
    report (the row ``srkit dose`` makes of the file), with the patient and study.
    """
    from srkit.tables.dose import event_rows

    out = []
    events: dict[str, list[dict[str, Any]]] = {}  # the rows of each report, made once
    for row in conn.execute(stmt):
        m = dict(row._mapping)
        context = {
            k: m.pop(k)
            for k in (
                "patient_id",
                "patient_name",
                "study_date",
                "accession_number",
                "modality",
                "series_manufacturer",
            )
        }
        if shape in ("event", "report"):
            # the SR's own series modality ("SR"), not the modality a dose report is about
            context["series_modality"] = context.pop("modality")
        if shape == "row":
            item = json.loads(m["row"])
        elif shape == "event":
            uid = m["sop_instance_uid"]
            if uid not in events:
                events[uid] = event_rows(json.loads(m["report"]))
            item = dict(events[uid][m["event_number"] - 1])
        elif shape == "report":
            # the row of ``srkit dose --summary`` (same keys, same numbers), plus the
            # procedure reported and the patient and study it belongs to
            summary = json.loads(m["summary"]) if m.get("summary") else {}
            item = summary or {
                "sop_instance_uid": m["sop_instance_uid"],
                "study_instance_uid": m["study_instance_uid"],
                "template": m["template"],
                "manufacturer": m["manufacturer"],
                "model": m["manufacturer_model_name"],
                "device": m["station_name"],
                "number_of_events": m["event_count"],
                "dlp_total": m["total_dlp"],
                "dap_total": m["total_dap"],
                "dose_rp_total": m["total_dose_rp"],
            }
            item["procedure_reported"] = (
                {
                    "value": m["procedure_value"],
                    "scheme": m["procedure_scheme"],
                    "meaning": m["procedure_meaning"],
                }
                if m.get("procedure_value")
                else None
            )
        else:
            m["diagnostics"] = json.loads(m["diagnostics"])
            item = m
        item.update({k: v for k, v in context.items() if k not in item})
        out.append(item)
    return out
