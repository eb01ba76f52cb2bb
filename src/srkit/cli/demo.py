"""``srkit demo``: the main job end to end on data srkit makes itself.

Makes sample CT studies with TID 1500 measurement reports and CT dose reports, imports
them into the database (an SQLite file in the user data folder by default), and shows
what the archive now knows: counts, the measurement table, the dose summary and plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from srkit.cli.common import db_option, user_errors

__all__ = ["demo", "plot_summary"]


def _default_folder() -> Path:
    from srkit.db.engine import _data_dir

    return _data_dir() / "samples"


def plot_summary(
    measurements: list[dict[str, Any]], doses: list[dict[str, Any]], out: Path
) -> Path:
    """Dose over time and the distribution of measured long axes, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for patient, points in dlp_series(doses).items():
        # one series per patient: a line joins only the exams of one patient
        left.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=patient)
    if 1 < len(dlp_series(doses)) <= 10:
        left.legend(title="patient", fontsize=7)
    left.set_title("CT dose length product per study")
    left.set_ylabel("DLP total (mGy.cm)")
    left.tick_params(axis="x", rotation=45)
    values = [
        m["value"]
        for m in measurements
        if isinstance(m.get("value"), float)
        and (m.get("quantity") or {}).get("meaning") == "Long Axis"
    ]
    right.hist(values, bins=10, color="#2f6fb5")
    right.set_title("Lesion long axis")
    right.set_xlabel("mm")
    right.set_ylabel("lesions")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def dlp_series(doses: list[dict[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Each patient's exams as (date, DLP total) in date order, patients in order of
    their first exam: the series of the DLP plot (exams of different patients are
    never joined by a line)."""
    from srkit.render.formats import format_date

    series: dict[str, list[tuple[str, float]]] = {}
    for d in sorted(doses, key=lambda d: str(d.get("study_date") or "")):
        if not isinstance(d.get("dlp_total"), float):
            continue
        when = (
            format_date(str(d.get("study_date") or ""))
            or str(d.get("start_of_xray_irradiation") or "")[:10]
        )
        series.setdefault(str(d.get("patient_id") or "?"), []).append((when, d["dlp_total"]))
    return series


SHOWN = 40
"""The most measurement rows the demo prints (the rest: srkit query measurements)."""


def summary_png(folder: Path) -> Path:
    """Where the plot goes: beside the samples folder, not in it (so that ``srkit
    import`` of the folder finds only DICOM files)."""
    return folder.parent / f"{folder.name}-summary.png"


@click.command()
@db_option("url")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the sample files (default: user data folder).",
)
@click.option("--studies", type=click.IntRange(1, 500), default=6, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@user_errors
def demo(url: str | None, folder: Path | None, studies: int, seed: int) -> None:
    """Make sample reports, import them into the database and summarise them."""
    from rich.console import Console
    from rich.table import Table

    from srkit.db import Database
    from srkit.samples import make_samples

    console = Console(soft_wrap=True)
    folder = folder or _default_folder()
    made = make_samples(folder, studies=studies, seed=seed)
    console.print(
        f"[bold]Made[/] {len(made)} studies in {folder}: "
        f"{sum(len(m.images) for m in made)} CT images, {len(made)} measurement reports, "
        f"{len(made)} CT dose reports"
    )
    with Database(url) as db:
        report = db.import_paths([m.images[0].parent for m in made], progress=True)
        console.print(
            f"[bold]Imported[/] into {db.url}: {report.imported} new, {report.skipped} already there, "
            f"{len(report.rejected)} rejected"
        )
        counts = db.counts()
        console.print(
            "Database: "
            + ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in counts if counts[k])
        )
        measurements = db.query_measurements()
        shown = measurements[:SHOWN]
        title = f"Measurements (TID 1500): {len(measurements)}"
        if len(shown) < len(measurements):
            title = f"Measurements (TID 1500): first {len(shown)} of {len(measurements)}"
        table = Table(title=title)
        for col in ("patient", "lesion", "site", "quantity", "value", "units"):
            table.add_column(col, justify="right" if col == "value" else "left")
        for row in shown:
            table.add_row(
                str(row.get("patient_id") or ""),
                str(row.get("tracking_identifier") or ""),
                str((row.get("finding_site") or {}).get("meaning") or ""),
                str((row.get("quantity") or {}).get("meaning") or ""),
                f"{row['value']:.1f}" if isinstance(row.get("value"), float) else "",
                str((row.get("units") or {}).get("value") or ""),
            )
        console.print(table)
        doses = db.query_dose()
        dose_table = Table(title="Radiation dose reports (TID 10011, TID 10001)")
        for col in (
            "patient",
            "date",
            "manufacturer",
            "events",
            "DLP total mGy.cm",
            "max CTDIvol mGy",
        ):
            dose_table.add_column(col)
        for row in doses:
            dose_table.add_row(
                str(row.get("patient_id") or ""),
                str(row.get("study_date") or row.get("start_of_xray_irradiation") or "")[:10],
                str(row.get("manufacturer") or ""),
                str(row.get("number_of_events") or ""),
                f"{row['dlp_total']:.1f}" if isinstance(row.get("dlp_total"), float) else "",
                f"{row['max_ctdivol']:.2f}" if isinstance(row.get("max_ctdivol"), float) else "",
            )
        console.print(dose_table)
        png = plot_summary(measurements, doses, summary_png(folder))
        console.print(f"[bold]Plot[/]: {png}")
        console.print("Next: srkit ls studies, srkit query dose --format csv, srkit serve")
    click.echo(
        f"srkit demo: {len(made)} studies made in {folder}, {report.imported} instances "
        f"stored, {len(measurements)} measurements, {len(doses)} dose reports \u2192 {db.url}",
        err=True,
    )
