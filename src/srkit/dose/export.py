"""Dose audit exports: CSV, and XLSX with one sheet per modality.

Dose audits are exchanged as spreadsheets with one sheet per modality; each row is an
exam (:mod:`srkit.dose.exams`) with its reference levels (:func:`srkit.dose.drl.compare`).
DAP is written in ``dap_unit`` (the column says which); every other number in its
template unit. XLSX needs ``openpyxl`` (``pip install srkit[xlsx]``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from srkit.dose.charts import dap_in
from srkit.dose.drl import DrlTable, compare
from srkit.dose.exams import Exam
from srkit.errors import MissingDependencyError

__all__ = ["COLUMNS", "exam_table", "export_bytes"]

COLUMNS = (
    "sop_instance_uid", "study_instance_uid", "patient_id", "date", "modality", "station",
    "manufacturer", "protocol", "standard_name", "body_region", "number_of_events",
    "dlp_total", "drl_dlp", "dlp_ratio", "dlp_above", "ctdivol", "drl_ctdivol",
    "ctdivol_ratio", "ctdivol_above", "dap_total", "drl_dap", "dap_ratio", "dap_above",
    "dose_rp_total", "drl_dose_rp", "dose_rp_ratio", "dose_rp_above",
)  # fmt: skip
"""Columns of the export, in order (DAP columns get the unit appended)."""

_DAP = ("dap_total", "drl_dap")


def _heading(column: str, dap_unit: str) -> str:
    return f"{column}_{dap_unit}" if column in _DAP else column


def exam_table(
    exams: Sequence[Exam], table: DrlTable, dap_unit: str = "Gy.m2"
) -> dict[str, list[list[Any]]]:
    """Rows per modality (``CT``, ``XR``, ``MG``), in :data:`COLUMNS` order."""
    out: dict[str, list[list[Any]]] = {}
    for exam in exams:
        values = {**exam.to_dict(), **compare(exam, table)}
        row = [dap_in(values.get(c), dap_unit) if c in _DAP else values.get(c) for c in COLUMNS]
        out.setdefault(exam.modality, []).append(row)
    return dict(sorted(out.items()))


def export_bytes(
    exams: Sequence[Exam], table: DrlTable, fmt: str, *, dap_unit: str = "Gy.m2"
) -> tuple[bytes, str]:
    """The export as bytes and its media type; ``fmt`` is ``csv`` or ``xlsx``."""
    sheets = exam_table(exams, table, dap_unit)
    headings = [_heading(c, dap_unit) for c in COLUMNS]
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(headings)
        for rows in sheets.values():
            writer.writerows(["" if v is None else v for v in row] for row in rows)
        return text.getvalue().encode("utf-8"), "text/csv"
    try:
        from openpyxl import Workbook
    except ImportError:  # pragma: no cover - depends on the install
        raise MissingDependencyError("XLSX export needs openpyxl: install srkit[xlsx]") from None
    book = Workbook()
    default = book.active
    for modality, rows in sheets.items():
        sheet = book.create_sheet(modality)
        sheet.append(headings)
        for row in rows:
            sheet.append(row)
    if default is not None and sheets:
        book.remove(default)
    buffer = io.BytesIO()
    book.save(buffer)
    return (
        buffer.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
