"""``srkit instances PATH...``: the header index of files, one row per DICOM instance
with the patient, study, series and instance attributes ``srkit ls`` lists (read from
the header; pixel data is never read), as a table or a Parquet dataset."""

from __future__ import annotations

from typing import Any

import click

from srkit.cli.common import format_option, output_option, report_error, user_errors
from srkit.cli.datasets import dataset_options, is_dataset, run_dataset

__all__ = ["instances"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@format_option(
    "jsonl", "csv", "parquet", "json", "parquet-dataset", default="jsonl",
    note="parquet-dataset: a folder, see -o",
)  # fmt: skip
@output_option("out", folder=True)
@dataset_options
@user_errors
def instances(paths: tuple[str, ...], fmt: str, out: str | None, **dataset: Any) -> None:
    """One row per DICOM instance under PATHS (files, folders, globs, manifests, URLs):
    patient, study, series and instance attributes. Files that are not DICOM found
    in folders are skipped; a named one is an error (exit 1)."""
    if is_dataset(fmt, out, dataset):
        run_dataset(paths, kind="instances", out=out, **dataset)
        return
    from srkit.extract.instances import INSTANCES
    from srkit.extract.kinds import Job, process_file
    from srkit.extract.sources import list_items
    from srkit.tables.write import write_rows

    job = Job(kind="instances")
    rows: list[dict[str, Any]] = []
    failed = False
    for item in list_items(paths):
        found, outcome = process_file(job, item)
        rows.extend(found.get("instances", []))
        for _, reason, _ in outcome.errors:
            failed = True
            report_error(f"{item.path}: {reason}")
    write_rows(rows, fmt, out, schema=INSTANCES)
    if failed:
        raise SystemExit(1)
