"""``srkit dose drl|unmapped|alerts --db URL``: reference levels and alerts of the archive.

The statistics are computed at query time from the indexed dose reports
(:mod:`srkit.dose`); see README "Dose data" for the file formats.
"""

from __future__ import annotations

from typing import Any

import click

from srkit.cli.common import DB_OPTION, format_option, output_option, user_errors
from srkit.cli.db import _open

__all__ = ["drl", "unmapped", "alerts", "export", "ssde", "exam_rows"]

_FORMAT = format_option("jsonl", "json", "csv", default="jsonl")
_OUTPUT = output_option()
_MAPPING = click.option(
    "--mapping",
    type=click.Path(dir_okay=False),
    help="Vendor protocol -> standard name (CSV/TOML).",
)
_NATIONAL = click.option(
    "--national", type=click.Path(dir_okay=False), help="National DRLs (CSV/TOML)."
)


def _load(db_url: str | None, mapping: str | None) -> tuple[list[Any], Any]:
    from srkit.dose.drl import apply_mapping
    from srkit.dose.exams import load_exams
    from srkit.dose.mapping import ProtocolMap

    protocol_map = ProtocolMap.load(mapping) if mapping else None
    with _open(db_url, must_exist=True) as db:
        exams = load_exams(db)
    return apply_mapping(exams, protocol_map), protocol_map


def exam_rows(exams: list[Any], table: Any) -> list[dict[str, Any]]:
    """One row per exam with its reference levels, ratios and above/below flags."""
    from srkit.dose.drl import compare

    rows = []
    for exam in exams:
        row = exam.to_dict()
        row.pop("dose_checks", None)
        row.update(compare(exam, table))
        rows.append(row)
    return rows


@click.command()
@DB_OPTION
@_MAPPING
@_NATIONAL
@click.option(
    "--by",
    default="name,body_region,station",
    show_default=True,
    help="Group keys: name (standard, else vendor protocol), protocol, body_region, station.",
)
@click.option("--exams", "per_exam", is_flag=True, help="One row per exam against its DRL.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    help="Also draw DLP and CTDIvol per protocol as box plots with the DRL (PNG).",
)
@_FORMAT
@_OUTPUT
@user_errors
def drl(
    db_url: str | None,
    mapping: str | None,
    national: str | None,
    by: str,
    per_exam: bool,
    plot: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Local DRLs: median and 75th percentile of DLP, CTDIvol, DAP and Dose (RP) per
    group, with counts; with --national each group shows its national DRL, with --exams
    each exam is shown against its DRL (national, else the local 75th percentile)."""
    from srkit.dose.drl import DrlTable, local_drls
    from srkit.dose.mapping import normalise_name
    from srkit.tables.write import write_rows

    exams, _ = _load(db_url, mapping)
    entries = DrlTable.load(national) if national else []
    keys = tuple(k.strip() for k in by.split(",") if k.strip())
    if plot:
        from srkit.cli.dose_plot import plot_drl

        plot_drl(exams, DrlTable(entries, local_drls(exams, by=("name",))), plot)
    if per_exam:
        table = DrlTable(entries, local_drls(exams, by=("name",)))
        per = exam_rows(exams, table)
        write_rows(per, fmt, output)
        click.echo(f"srkit dose drl: {len(per)} exams \u2192 {output or 'stdout'}", err=True)
        return
    rows = local_drls(exams, by=keys)
    if entries:
        table = DrlTable(entries)
        for row in rows:
            key = (str(row["modality"]).upper(), str(row.get("name") or ""))
            entry = table.national.get((key[0], normalise_name(key[1])))
            for quantity in ("ctdivol", "dlp", "dap", "dose_rp"):
                level = getattr(entry, quantity) if entry is not None else None
                row[f"national_{quantity}"] = level
                p75 = row.get(f"{quantity}_p75")
                row[f"{quantity}_p75_ratio"] = (
                    float(f"{p75 / level:.6g}") if level and p75 is not None else None
                )
            row["national_source"] = entry.source if entry is not None else None
    write_rows(rows, fmt, output)
    click.echo(
        f"srkit dose drl: {len(exams)} exams, {len(rows)} groups \u2192 {output or 'stdout'}",
        err=True,
    )


@click.command()
@DB_OPTION
@click.option("--mapping", required=True, type=click.Path(dir_okay=False), help="The mapping file.")
@_FORMAT
@_OUTPUT
@user_errors
def unmapped(db_url: str | None, mapping: str, fmt: str, output: str | None) -> None:
    """Vendor protocol names the mapping file has no standard name for, most frequent
    first (protocol, modality, stations, number of exams)."""
    from srkit.dose.mapping import unmapped as find_unmapped
    from srkit.tables.write import write_rows

    exams, protocol_map = _load(db_url, mapping)
    found = find_unmapped(exams, protocol_map)
    write_rows(found, fmt, output)
    click.echo(
        f"srkit dose unmapped: {len(exams)} exams, {len(found)} protocol names not mapped "
        f"\u2192 {output or 'stdout'}",
        err=True,
    )


@click.command()
@DB_OPTION
@click.option("--since", help="Only alerts of exams on or after DATE (YYYY-MM-DD or YYYYMMDD).")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="Thresholds (TOML [alerts]; default $SRKIT_DOSE_ALERTS, else the built-in ones).",
)
@_MAPPING
@_NATIONAL
@_FORMAT
@_OUTPUT
@user_errors
def alerts(
    db_url: str | None,
    since: str | None,
    config: str | None,
    mapping: str | None,
    national: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Dose alerts: per exam and cumulative per patient (fluoroscopy DAP and Dose (RP)),
    CT above its DRL, and the CT Dose Check alerts and notifications the scanner
    recorded (TID 10015)."""
    from dataclasses import replace

    from srkit.dose.alerts import AlertConfig, evaluate
    from srkit.dose.drl import DrlTable
    from srkit.dose.mapping import ProtocolMap
    from srkit.errors import SrkitError
    from srkit.tables.write import write_rows

    day = None
    if since is not None:
        text = since.replace("-", "")
        if len(text) != 8 or not text.isdigit():
            raise click.BadParameter(f"{since!r} is not a date YYYY-MM-DD", param_hint="--since")
        day = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    settings = AlertConfig.load(config) if config else AlertConfig.from_environment()
    if mapping:
        settings = replace(settings, mapping=ProtocolMap.load(mapping))
    if national:
        settings = replace(settings, national=tuple(DrlTable.load(national)))
    exams, _ = _load(db_url, None)
    if not exams:
        raise SrkitError("no dose report in the database")
    found = evaluate(exams, settings)
    rows = [a.to_dict() for a in found if day is None or (a.date or "") >= day]
    write_rows(rows, fmt, output)
    click.echo(f"srkit dose alerts: {len(rows)} alerts on {len(exams)} exams", err=True)


@click.command()
@DB_OPTION
@_MAPPING
@_NATIONAL
@format_option("xlsx", "csv", default=None, note="default: from the file name")
@click.option(
    "--dap-unit",
    type=click.Choice(["Gy.m2", "Gy.cm2", "uGy.m2", "cGy.cm2", "mGy.cm2", "dGy.cm2"]),
    default="Gy.m2",
    show_default=True,
    help="Unit of the DAP columns (the data stay in Gy.m2).",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@user_errors
def export(
    db_url: str | None,
    mapping: str | None,
    national: str | None,
    fmt: str | None,
    dap_unit: str,
    output: str,
) -> None:
    """Every exam with its DRL comparison, as a dose audit: XLSX with one sheet per
    modality, or CSV."""
    from pathlib import Path

    from srkit.atomic import replace_atomically
    from srkit.dose.drl import DrlTable, local_drls
    from srkit.dose.export import export_bytes

    kind = fmt or ("csv" if output.lower().endswith(".csv") else "xlsx")
    exams, _ = _load(db_url, mapping)
    entries = DrlTable.load(national) if national else []
    table = DrlTable(entries, local_drls(exams, by=("name",)))
    data, _media = export_bytes(exams, table, kind, dap_unit=dap_unit)
    replace_atomically(output, lambda tmp: Path(tmp).write_bytes(data))
    click.echo(f"srkit dose export: {len(exams)} exams -> {output}", err=True)


@click.command()
@DB_OPTION
@_FORMAT
@_OUTPUT
@user_errors
def ssde(db_url: str | None, fmt: str, output: str | None) -> None:
    """Size-specific dose estimates of the CT exams (AAPM 204 / 220): from the diameter
    the report carries, else from the study's axial CT images in the database; each row
    says which (``method``) and which CTDI phantom."""
    from srkit.dose.ssde import database_ssde
    from srkit.tables.write import write_rows

    with _open(db_url, must_exist=True) as db:
        rows = [r.to_dict() for r in database_ssde(db)]
    write_rows(rows, fmt, output)
    click.echo(f"srkit dose ssde: {len(rows)} exams \u2192 {output or 'stdout'}", err=True)
