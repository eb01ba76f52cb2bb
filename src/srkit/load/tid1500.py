"""The TID 1500 plugin: a Measurement Report as the table Slicer's plugin builds.

One row per measurement group (PS3.16 TID 1500, TID 1411/1501): ``Tracking Identifier``
and one column per ``<quantity> [unit]``, the quantity's meaning followed by its
derivation when it has one (``SUVbw Mean [{SUVbw}g/ml]``), the unit its UCUM code.
Rows come from :func:`srkit.templates.tid1500.read_measurement_report`. The referenced
segmentations and source images found among the examined files are named in the
loadable (they are offered by the SEG and scalar plugins as their own loadables);
those not found are a ``referenced_instances_absent`` warning.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.load.headers import HeaderCache
from srkit.load.loadable import Loadable, LoadWarning

__all__ = ["MeasurementReportPlugin", "MeasurementTable", "measurement_table"]

SR_CONFIDENCE = 0.9


@dataclass(slots=True, kw_only=True)
class MeasurementTable:
    """The measurement table of one report."""

    columns: list[str]
    rows: list[dict[str, Any]]
    name: str = ""
    referenced: dict[str, list[str]] = field(default_factory=dict)
    warnings: tuple[LoadWarning, ...] = ()

    def to_csv(self, path: str | Path) -> Path:
        """Write the table as CSV (empty cells for measurements a group lacks)."""
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            writer.writeheader()
            for row in self.rows:
                writer.writerow(row)
        return path


def _column(row: dict[str, Any]) -> str:
    quantity = (row.get("quantity") or {}).get("meaning") or "value"
    derivation = (row.get("derivation") or {}).get("meaning")
    units = (row.get("units") or {}).get("value") or ""
    name = f"{quantity} {derivation}" if derivation else str(quantity)
    return f"{name} [{units}]"


def measurement_table(rows: Sequence[dict[str, Any]], name: str = "") -> MeasurementTable:
    """The table of quantitative rows (:data:`srkit.templates.tid1500.QUANTITATIVE_COLUMNS`)."""
    columns = ["Tracking Identifier"]
    groups: dict[int, dict[str, Any]] = {}
    for row in rows:
        col = _column(row)
        if col not in columns:
            columns.append(col)
        number = int(row.get("measurement_group_number") or 0)
        group = groups.setdefault(
            number, {"Tracking Identifier": row.get("tracking_identifier") or ""}
        )
        group[col] = row.get("value")
    return MeasurementTable(columns=columns, rows=list(groups.values()), name=name)


class MeasurementReportPlugin:
    """TID 1500 Measurement Report -> measurement table."""

    name = "tid1500"

    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        """One loadable per measurement report, naming what it references."""
        from srkit.codec.sopclass import is_sr_sop_class

        by_uid = {h.sop_instance_uid: h for h in headers.headers.values()}
        out = []
        for files in file_lists:
            for h in headers.of(str(f) for f in files):
                if not is_sr_sop_class(h.sop_class_uid):
                    continue
                report = _read(h.path)
                if report is None:
                    continue
                rows = report.measurement_rows()
                seg_uids = sorted(
                    {
                        r["segmentation_sop_instance_uid"]
                        for r in rows
                        if r.get("segmentation_sop_instance_uid")
                    }
                )
                source_uids = sorted(
                    {u for r in rows for u in r.get("source_sop_instance_uids") or []}
                    | {ref.sop_instance_uid for ref in report.image_library}
                )
                wanted = seg_uids + source_uids
                found = [by_uid[u].path for u in wanted if u in by_uid]
                absent = [u for u in wanted if u not in by_uid]
                warnings = []
                if absent:
                    warnings.append(
                        LoadWarning(
                            code="referenced_instances_absent",
                            message=f"{h.path}: {len(absent)} of {len(wanted)} referenced "
                            f"instances are not among the files (first {absent[0]})",
                            measured={"absent": absent},
                            files=(h.path,),
                        )
                    )
                desc = str(h.dataset.get("SeriesDescription", "") or "Measurement Report")
                groups = len({r["measurement_group_number"] for r in rows})
                out.append(
                    Loadable(
                        files=(h.path,),
                        name=f"{desc} ({groups} groups, {len(rows)} measurements)",
                        tooltip="TID 1500 measurement table",
                        warnings=tuple(warnings),
                        confidence=SR_CONFIDENCE,
                        plugin=self.name,
                        series_uid=h.series_uid,
                        extra={
                            "segmentation_instances": seg_uids,
                            "source_instances": source_uids,
                            "referenced_files": found,
                        },
                    )
                )
        return out

    def load(self, loadable: Loadable, **_: Any) -> MeasurementTable:
        """The :class:`MeasurementTable` of the report."""
        from srkit.load.pixels import LoadError

        report = _read(loadable.files[0])
        if report is None:
            raise LoadError("not a TID 1500 measurement report", source=loadable.files[0])
        table = measurement_table(report.measurement_rows(), loadable.name)
        table.warnings = tuple(loadable.warnings)
        table.referenced = {
            "segmentation_instances": list(loadable.extra.get("segmentation_instances", [])),
            "source_instances": list(loadable.extra.get("source_instances", [])),
            "referenced_files": list(loadable.extra.get("referenced_files", [])),
        }
        return table


def _read(path: str) -> Any:
    import warnings

    from srkit.codec.reader import read
    from srkit.errors import SrkitError, SrkitWarning
    from srkit.templates.tid1500 import is_measurement_report, read_measurement_report

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SrkitWarning)
            doc = read(path)
    except SrkitError:
        return None
    if not is_measurement_report(doc):
        return None
    return read_measurement_report(doc)
