"""The picture of ``srkit dose --plot``: dose per irradiation event (matplotlib, Agg)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from srkit.errors import MissingDependencyError, SrkitError

__all__ = ["plot_dose", "plot_drl"]


def _when(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _series(
    reports: list[dict[str, Any]],
) -> tuple[list[tuple[str, float]], list[tuple[Any, float]]]:
    ct: list[tuple[str, float]] = []
    xray: list[tuple[Any, float]] = []
    for report in reports:
        label = str(report.get("station_name") or report.get("manufacturer") or "")
        for n, event in enumerate(report.get("events") or [], 1):
            if report.get("template") == "10011":
                dlp = (event.get("ct_dose") or {}).get("dlp")
                if isinstance(dlp, float):
                    ct.append((f"{label} {n}", dlp))
            else:
                dap = event.get("dose_area_product")
                if isinstance(dap, float):
                    xray.append((_when(event.get("datetime_started")) or len(xray) + 1, dap * 1e4))
    return ct, xray


def plot_dose(reports: list[dict[str, Any]], path: str) -> None:
    """Write a PNG: CT events' DLP (mGy.cm) as bars, X-ray events' DAP (Gy.cm2) over time."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the install
        raise MissingDependencyError("--plot needs matplotlib: install srkit[plot]") from None
    ct, xray = _series(reports)
    panels = [p for p in (ct, xray) if p]
    if not panels:
        raise SrkitError("nothing to plot: no event has a DLP or a dose area product")
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.5 * len(panels)), squeeze=False)
    row = 0
    if ct:
        ax = axes[row][0]
        ax.bar(range(len(ct)), [v for _, v in ct], color="tab:blue")
        ax.set_xticks(range(len(ct)), [k for k, _ in ct], rotation=90, fontsize=6)
        ax.set_ylabel("DLP (mGy.cm)")
        ax.set_title("CT irradiation events")
        row += 1
    if xray:
        ax = axes[row][0]
        if not all(isinstance(x, dt.datetime) for x, _ in xray):
            xray = [(n, v) for n, (_, v) in enumerate(xray, 1)]
        ax.plot([x for x, _ in xray], [v for _, v in xray], "o", markersize=3, color="tab:red")
        ax.set_ylabel("DAP (Gy.cm2)")
        ax.set_title("Projection X-ray irradiation events")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise SrkitError(f"cannot write: {exc.strerror}", source=path) from None
    finally:
        plt.close(fig)


def plot_drl(exams: list[Any], table: Any, path: str) -> None:
    """Write a PNG: DLP and CTDIvol of CT exams per protocol as box plots, the DRL
    (national, else the local 75th percentile) as a red mark (``srkit dose drl --plot``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the install
        raise MissingDependencyError("--plot needs matplotlib: install srkit[plot]") from None
    from srkit.dose.charts import charts

    boxes = [c for c in charts(exams, table) if c.name in ("dlp", "ctdivol")]
    if not boxes:
        raise SrkitError("nothing to plot: no CT exam with a DLP or CTDIvol")
    fig, axes = plt.subplots(len(boxes), 1, figsize=(10, 1 + 0.5 * len(boxes[0].rows) * len(boxes)),
                             squeeze=False)  # fmt: skip
    for ax, chart in zip((a[0] for a in axes), boxes, strict=True):
        stats = [
            {"label": f"{r[0]} (n={r[1]})", "whislo": r[2], "q1": r[3], "med": r[4], "q3": r[5],
             "whishi": r[6], "fliers": []}
            for r in chart.rows
        ]  # fmt: skip
        ax.bxp(stats, orientation="horizontal", showfliers=False)
        for n, r in enumerate(chart.rows, 1):
            if r[7] is not None:
                ax.plot([r[7], r[7]], [n - 0.4, n + 0.4], color="tab:red", linewidth=2)
        ax.set_title(chart.title)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise SrkitError(f"cannot write: {exc.strerror}", source=path) from None
    finally:
        plt.close(fig)
