"""``srkit export parquet --db URL -o DIR``: the database's rows as the Parquet
datasets extraction writes from files (:func:`srkit.db.export.export_dataset`)."""

from __future__ import annotations

import click

from srkit.cli.common import DB_OPTION, user_errors

__all__ = ["parquet"]


@click.command("parquet")
@DB_OPTION
@click.option("-o", "--output", "out", required=True, type=click.Path(), help="Dataset folder.")
@click.option(
    "--kind",
    type=click.Choice(["quantitative", "qualitative", "dose", "instances"]),
    default="quantitative",
    show_default=True,
)
@click.option("--overwrite", is_flag=True, help="Replace a dataset already in -o DIR.")
@user_errors
def parquet(db_url: str | None, out: str, kind: str, overwrite: bool) -> None:
    """Write the database's measurements, qualitative evaluations, dose reports and
    events, or instances as the Parquet dataset srkit measurements/dose/instances
    -o DIR writes from the files (the same schema and rows)."""
    from srkit.cli.db import _open
    from srkit.db.export import export_dataset

    with _open(db_url, must_exist=True) as db:
        counts = export_dataset(db, out, kind=kind, overwrite=overwrite)
    rows = ", ".join(f"{n} {name}" for name, n in counts.items())
    click.echo(f"srkit: {rows} -> {out}", err=True)
