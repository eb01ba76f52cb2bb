"""The charts physicists open, each with the table behind it.

Every chart is a :class:`Chart`: its table (columns and rows, downloadable as CSV) and
an inline SVG drawn from that table only, whose marks carry their numbers as
``data-*`` attributes, so that what is drawn can be checked against the table:

- ``dlp`` / ``ctdivol``: CT exams per protocol (standard name, else vendor name) as box
  plots (whiskers at minimum and maximum, box from the 25th to the 75th percentile,
  median line), the DRL drawn as a red mark where one is known;
- ``ctdivol-time``: median CTDIvol and DLP per station and month;
- ``dap-procedure``: total DAP of each fluoroscopy procedure, in date order;
- ``events``: how many exams have how many irradiation events, per modality.

DAP is drawn in ``dap_unit`` (``Gy.m2`` as the templates prescribe, ``Gy.cm2``,
``uGy.m2``, ``cGy.cm2`` or ``mGy.cm2`` as people read it); the data stay in Gy.m2.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from srkit.dose.drl import DrlTable, quantile
from srkit.dose.exams import Exam
from srkit.errors import SrkitError
from srkit.templates.units import convert

__all__ = ["Chart", "DAP_UNITS", "dap_in", "charts"]

DAP_UNITS = ("Gy.m2", "Gy.cm2", "uGy.m2", "cGy.cm2", "mGy.cm2", "dGy.cm2")
"""Units DAP can be shown in."""


def dap_in(value: float | None, unit: str) -> float | None:
    """A DAP in Gy.m2 expressed in ``unit`` (one of :data:`DAP_UNITS`)."""
    if unit not in DAP_UNITS:
        raise SrkitError(f"DAP unit must be one of {', '.join(DAP_UNITS)}, not {unit!r}")
    return None if value is None else convert(value, "Gy.m2", unit)


@dataclass(slots=True)
class Chart:
    """One chart: a title, the table behind it and the SVG drawn from the table."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    svg: str

    def csv(self) -> str:
        """The table as CSV text."""
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(["" if v is None else v for v in row] for row in self.rows)
        return out.getvalue()


def _g(value: float) -> str:
    return f"{value:.6g}"


def _box_chart(
    name: str, title: str, unit: str, groups: list[tuple[str, list[float], float | None]]
) -> Chart:
    columns = ["protocol", "exams", "min", "p25", "median", "p75", "max", "drl", "unit"]
    rows: list[list[Any]] = []
    for label, values, drl in groups:
        rows.append([label, len(values), min(values), quantile(values, 0.25), quantile(values, 0.5),
                     quantile(values, 0.75), max(values), drl, unit])  # fmt: skip
    top = max([r[6] for r in rows] + [r[7] or 0 for r in rows] + [1e-12])
    scale = 460 / top
    parts = []
    for i, row in enumerate(rows):
        label, n, lo, q1, med, q3, hi, drl, _ = row
        y = 10 + 30 * i
        x = 250
        mark = (
            f'<line class="drl" x1="{x + drl * scale:.1f}" x2="{x + drl * scale:.1f}" '
            f'y1="{y - 3}" y2="{y + 21}" stroke="#c0392b" stroke-width="2"/>'
            if drl is not None
            else ""
        )
        parts.append(
            f'<g class="box" data-protocol="{escape(str(label))}" data-exams="{n}" '
            f'data-min="{_g(lo)}" data-p25="{_g(q1)}" data-median="{_g(med)}" '
            f'data-p75="{_g(q3)}" data-max="{_g(hi)}" data-drl="{"" if drl is None else _g(drl)}">'
            f'<text x="0" y="{y + 14}" font-size="12">{escape(str(label)[:36])} (n={n})</text>'
            f'<line x1="{x + lo * scale:.1f}" x2="{x + hi * scale:.1f}" y1="{y + 9}" '
            f'y2="{y + 9}" stroke="#333"/>'
            f'<rect x="{x + q1 * scale:.1f}" y="{y}" width="{max((q3 - q1) * scale, 1):.1f}" '
            f'height="18" fill="#9db9e0" stroke="#333"/>'
            f'<line x1="{x + med * scale:.1f}" x2="{x + med * scale:.1f}" y1="{y}" '
            f'y2="{y + 18}" stroke="#000" stroke-width="2"/>{mark}</g>'
        )
    height = 30 * len(rows) + 30
    axis = f'<text x="250" y="{height - 5}" font-size="11">0 - {_g(top)} {escape(unit)}</text>'
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{name}" '
           f'width="760" height="{height}">{"".join(parts)}{axis}</svg>')  # fmt: skip
    return Chart(name, title, columns, rows, svg)


def _ct_boxes(
    exams: list[Exam], table: DrlTable, attr: str, quantity: str
) -> list[tuple[str, list[float], float | None]]:
    groups: dict[str, list[Exam]] = {}
    for exam in exams:
        if exam.modality == "CT" and getattr(exam, attr) is not None and exam.name:
            groups.setdefault(exam.name, []).append(exam)
    out = []
    for name in sorted(groups):
        members = groups[name]
        national, _source = table.level(members[0], quantity)
        out.append((name, [float(getattr(e, attr)) for e in members], national))
    return out


def _over_time(exams: list[Exam]) -> Chart:
    groups: dict[tuple[str, str], list[Exam]] = {}
    for exam in exams:
        if exam.modality == "CT" and exam.ctdivol is not None and exam.date:
            groups.setdefault((exam.station or "", exam.date[:7]), []).append(exam)
    columns = ["station", "month", "exams", "median_ctdivol", "median_dlp"]
    rows: list[list[Any]] = []
    for (station, month), members in sorted(groups.items()):
        dlps = [e.dlp_total for e in members if e.dlp_total is not None]
        rows.append([station, month, len(members), quantile([e.ctdivol for e in members if e.ctdivol is not None], 0.5),
                     quantile(dlps, 0.5) if dlps else None])  # fmt: skip
    stations = sorted({r[0] for r in rows})
    months = sorted({r[1] for r in rows})
    top = max([r[3] for r in rows] + [1e-12])
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    parts = []
    for s, station in enumerate(stations):
        points = [r for r in rows if r[0] == station]
        colour = colours[s % len(colours)]
        for r in points:
            x = 40 + 680 * (months.index(r[1]) / max(len(months) - 1, 1))
            y = 230 - 200 * r[3] / top
            parts.append(
                f'<circle class="point" data-station="{escape(station)}" data-month="{r[1]}" '
                f'data-value="{_g(r[3])}" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'
            )
        parts.append(
            f'<text x="{40 + 120 * s}" y="15" font-size="12" fill="{colour}">{escape(station)}</text>'
        )
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="ctdivol-time" '
           f'width="760" height="250">{"".join(parts)}<text x="40" y="248" font-size="11">'
           f'{escape(months[0] if months else "")} - {escape(months[-1] if months else "")}, '
           f'median CTDIvol 0 - {_g(top)} mGy</text></svg>')  # fmt: skip
    return Chart("ctdivol-time", "Median CTDIvol per station and month (mGy)", columns, rows, svg)


def _dap_procedures(exams: list[Exam], unit: str) -> Chart:
    xr = [e for e in exams if e.modality != "CT" and e.dap_total is not None]
    columns = ["sop_instance_uid", "date", "patient_id", "station", "protocol", f"dap_{unit}"]
    rows: list[list[Any]] = [[e.sop_instance_uid, e.date, e.patient_id, e.station, e.protocol,
                              dap_in(e.dap_total, unit)] for e in xr]  # fmt: skip
    top = max([r[5] for r in rows] + [1e-12])
    width = 720 / max(len(rows), 1)
    parts = [
        f'<rect class="bar" data-uid="{escape(r[0])}" data-value="{_g(r[5])}" '
        f'x="{30 + i * width:.2f}" y="{230 - 210 * r[5] / top:.1f}" width="{max(width - 0.5, 0.5):.2f}" '
        f'height="{210 * r[5] / top:.1f}" fill="#4a7bb7"/>'
        for i, r in enumerate(rows)
    ]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="dap-procedure" '
           f'width="760" height="250">{"".join(parts)}<text x="30" y="248" font-size="11">'
           f'{len(rows)} procedures, DAP 0 - {_g(top)} {escape(unit)}</text></svg>')  # fmt: skip
    return Chart("dap-procedure", f"DAP per fluoroscopy procedure ({unit})", columns, rows, svg)


def _events(exams: list[Exam]) -> Chart:
    counts = Counter((e.modality, e.number_of_events) for e in exams)
    columns = ["modality", "events", "exams"]
    rows: list[list[Any]] = [[m, n, c] for (m, n), c in sorted(counts.items())]
    top = max([r[2] for r in rows] + [1])
    parts = []
    for i, (modality, n, c) in enumerate(rows):
        y = 10 + 22 * i
        w = 460 * c / top
        parts.append(
            f'<g class="bar" data-modality="{escape(modality)}" data-events="{n}" data-value="{c}">'
            f'<text x="0" y="{y + 13}" font-size="12">{escape(modality)}: {n} events</text>'
            f'<rect x="200" y="{y}" width="{w:.1f}" height="16" fill="#4a7bb7"/>'
            f'<text x="{205 + w:.1f}" y="{y + 13}" font-size="11">{c}</text></g>'
        )
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="events" '
           f'width="760" height="{22 * len(rows) + 20}">{"".join(parts)}</svg>')  # fmt: skip
    return Chart("events", "Irradiation events per exam", columns, rows, svg)


def charts(exams: Sequence[Exam], table: DrlTable, *, dap_unit: str = "Gy.m2") -> list[Chart]:
    """Every chart of the dose pages, in page order."""
    dap_in(None, dap_unit)  # check the unit first
    items = list(exams)
    out = []
    dlp = _ct_boxes(items, table, "dlp_total", "dlp")
    if dlp:
        out.append(_box_chart("dlp", "DLP per protocol (mGy.cm), DRL in red", "mGy.cm", dlp))
    ctdi = _ct_boxes(items, table, "ctdivol", "ctdivol")
    if ctdi:
        out.append(_box_chart("ctdivol", "CTDIvol per protocol (mGy), DRL in red", "mGy", ctdi))
    out.append(_over_time(items))
    out.append(_dap_procedures(items, dap_unit))
    out.append(_events(items))
    return out
