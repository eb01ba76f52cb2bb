"""``srkit import``, ``srkit ls``, ``srkit query``, ``srkit rm``: the local database."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from srkit.cli.common import (
    DB_OPTION,
    POLICY_OPTION,
    format_option,
    output_option,
    report_error,
    user_errors,
)
from srkit.errors import SrkitError
from srkit.model.levels import normalise_level

__all__ = ["check", "import_cmd", "ls", "query", "rm"]


def _open(db_url: str | None, *, must_exist: bool = False, policy: str = "keep-first") -> Any:
    """The database; ``must_exist`` for commands that only read or remove, so that a
    mistyped path is an error instead of a new empty database."""
    import os

    from srkit.db import Database
    from srkit.errors import SrkitError

    name = db_url or os.environ.get("SRKIT_DB") or "the default database"
    if must_exist:
        from srkit.db.engine import sqlite_file

        path = sqlite_file(db_url)
        if path is not None and not path.exists():
            raise SrkitError(
                "no such database (srkit import or srkit demo makes one)", source=str(path)
            )
    try:
        return Database(db_url, conflict_policy=policy)
    except SrkitError as exc:
        if exc.source is None:
            exc.source = _display(str(name))
        raise


def _display(url: str) -> str:
    """A database URL with any password hidden."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@DB_OPTION
@click.option("--copy", is_flag=True, help="Copy the files into the database's storage folder.")
@click.option("--workers", type=click.IntRange(min=1), help="Parsing processes (default: CPUs).")
@format_option("text", "json", default="text", note="json: the report on stdout")
@POLICY_OPTION
@user_errors
def import_cmd(
    paths: tuple[str, ...],
    db_url: str | None,
    copy: bool,
    workers: int | None,
    fmt: str,
    policy: str,
) -> None:
    """Index the DICOM files under PATH... (folders recursively, DICOMDIR files).

    Files indexed already are skipped; SR content (measurements, dose) is indexed
    too. A file that is not DICOM is skipped with a note (exit 0, unless no file at
    all was DICOM: exit 1); a DICOM file that cannot be imported (truncated, no
    UIDs) is named on stderr with the reason, the others are imported, and the exit
    code is then 1. A PATH that does not exist is an error before anything is done. Files filed with a conflict
    (patient attributes that differ, a study or series UID of another patient or
    study, a replaced or kept copy) are named as warnings: ``srkit ls conflicts``.
    """
    import os

    from srkit.cli.faces import is_wrong_kind

    for path in paths:
        if not os.path.lexists(path):
            # a mistyped path: nothing is imported and no database is made
            raise SrkitError("no such file or directory (nothing imported)", source=path)
    with _open(db_url, policy=policy) as db:
        report = db.import_paths(paths, copy=copy, workers=workers, progress=True)
        _dose_alerts(db, report.uids)
    wrong = [(p, r) for p, r in report.rejected if is_wrong_kind(r)]
    broken = [(p, r) for p, r in report.rejected if not is_wrong_kind(r)]
    for path, reason in wrong:
        report_error(f"{path}: {reason}; skipped")
    for path, reason in broken + report.conflicts:
        report_error(f"{path}: {reason}")
    for path, reason in report.warnings:
        report_error(f"warning: {path}: {reason}")
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    files = report.imported + report.skipped + report.updated + report.failed
    line = f"{files} files, {report.imported} stored, {report.skipped} already there"
    if report.updated:
        line += f", {report.updated} updated"
    line += f", {len(wrong)} skipped (not DICOM), {len(broken)} rejected"
    line += f", {len(report.conflicts)} conflicts"
    if report.warnings:
        line += f", {len(report.warnings)} filed with a conflict (srkit ls conflicts)"
    click.echo(f"srkit import: {line}", err=True)
    used = report.imported + report.skipped + report.updated
    if broken or report.conflicts or (wrong and not used):
        if wrong and not used and not broken and not report.conflicts:
            report_error("nothing imported: no DICOM file among " + ", ".join(paths))
        raise SystemExit(1)


def _dose_alerts(db: Any, uids: list[str]) -> None:
    """Hook: the dose alerts of the newly indexed instances, one line each on stderr
    (``srkit.dose.alerts.evaluate_new``; thresholds from ``$SRKIT_DOSE_ALERTS``)."""
    if not uids:
        return
    from srkit.dose.alerts import evaluate_new, format_alert

    try:
        found = evaluate_new(db, uids)
    except SrkitError as exc:
        report_error(f"dose alerts not evaluated: {exc}")
        return
    for alert in found:
        click.echo(f"srkit: {format_alert(alert)}", err=True)


_LEVELS = {
    name: str(normalise_level(name)) for name in ("patients", "studies", "series", "instances")
}
"""The words of ``srkit ls`` and the Query/Retrieve Levels they name (the model's)."""
_CONFLICT_COLUMNS = [
    "detected_at",
    "kind",
    "resolution",
    "source",
    "patient_id",
    "sop_instance_uid",
    "message",
]
_COLUMNS = {
    "PATIENT": [
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
        "NumberOfPatientRelatedInstances",
    ],
    "STUDY": [
        "StudyDate",
        "PatientID",
        "PatientName",
        "AccessionNumber",
        "ModalitiesInStudy",
        "StudyDescription",
        "NumberOfStudyRelatedInstances",
        "StudyInstanceUID",
    ],
    "SERIES": [
        "StudyDate",
        "PatientID",
        "Modality",
        "SeriesNumber",
        "SeriesDescription",
        "NumberOfSeriesRelatedInstances",
        "SeriesInstanceUID",
    ],
    "IMAGE": [
        "PatientID",
        "Modality",
        "SeriesNumber",
        "InstanceNumber",
        "SOPClassUID",
        "SOPInstanceUID",
    ],
}


def _sop_classes(value: str) -> str:
    """A SOP class UID, a keyword (``CTImageStorage``), or ``SR`` for every SR class."""
    from pydicom._uid_dict import UID_dictionary

    from srkit.codec.sopclass import SR_SOP_CLASSES

    if value.upper() == "SR":
        return "\\".join(SR_SOP_CLASSES)
    if value[:1].isdigit():
        return value
    for uid, entry in UID_dictionary.items():
        if value.lower() in (entry[4].lower(), entry[0].lower()):
            return str(uid)
    raise SrkitError(
        f"unknown SOP class {value!r} (a UID, a keyword such as CTImageStorage, or SR)"
    )


@click.command()
@click.argument("level", type=click.Choice([*_LEVELS, "conflicts"]))
@DB_OPTION
@click.option("--patient-id", help="Patient ID (wildcards * ?).")
@click.option("--patient-name", help="Patient's name (wildcards, case-insensitive).")
@click.option("--study-date", help="YYYYMMDD or a range a-b, -b, a-.")
@click.option("--modality", help="Modality (in the study for studies).")
@click.option("--sop-class", help="SOP Class UID, keyword (CTImageStorage) or SR.")
@click.option("--study", "study_uid", help="Study Instance UID(s), backslash-separated.")
@click.option("--series", "series_uid", help="Series Instance UID(s).")
@click.option("--accession", help="Accession number (wildcards).")
@click.option(
    "-k",
    "--key",
    "keys",
    multiple=True,
    metavar="KEYWORD=VALUE",
    help="Any indexed DICOM keyword, DICOM matching (repeatable).",
)
@click.option("--fuzzy", is_flag=True, help="Fuzzy name matching.")
@click.option("--limit", type=click.IntRange(min=0))
@click.option("--offset", type=click.IntRange(min=0), default=0)
@format_option("text", "json", "jsonl", "csv", default="text")
@user_errors
def ls(
    level: str,
    db_url: str | None,
    patient_id: str | None,
    patient_name: str | None,
    study_date: str | None,
    modality: str | None,
    sop_class: str | None,
    study_uid: str | None,
    series_uid: str | None,
    accession: str | None,
    keys: tuple[str, ...],
    fuzzy: bool,
    limit: int | None,
    offset: int,
    fmt: str,
) -> None:
    """List the patients, studies, series or instances of the database, or the
    conflicts recorded while filing instances (``conflicts``: newest first; --study and
    --key kind=KIND narrow them)."""
    if level == "conflicts":
        _ls_conflicts(db_url, study_uid, keys, limit, fmt)
        return
    from srkit.cli.faces import check_date_range, check_key_value, check_modality

    lvl = _LEVELS[level]
    if study_date is not None:
        study_date = check_date_range(study_date, "--study-date")
    if modality is not None:
        modality = check_modality(modality, "--modality")
    filters: dict[str, str] = {}
    for keyword, value in (
        ("PatientID", patient_id),
        ("PatientName", patient_name),
        ("StudyDate", study_date),
        ("StudyInstanceUID", study_uid),
        ("SeriesInstanceUID", series_uid),
        ("AccessionNumber", accession),
    ):
        if value is not None:
            filters[keyword] = value
    if modality is not None:
        filters["ModalitiesInStudy" if lvl in ("PATIENT", "STUDY") else "Modality"] = modality
    if sop_class is not None:
        filters["SOPClassUID"] = _sop_classes(sop_class)
    for item in keys:
        keyword, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEYWORD=VALUE", param_hint="--key")
        filters[keyword.strip()] = check_key_value(keyword.strip(), value, "--key")
    with _open(db_url, must_exist=True) as db:
        rows = db.query(lvl, filters, limit=limit, offset=offset, fuzzy=fuzzy)
    _print(rows, fmt, _COLUMNS[lvl])
    one = {"patients": "patient", "studies": "study", "instances": "instance"}
    word = one.get(level, level) if len(rows) == 1 else level
    click.echo(f"srkit ls: {len(rows)} {word}", err=True)


def _ls_conflicts(
    db_url: str | None, study_uid: str | None, keys: tuple[str, ...], limit: int | None, fmt: str
) -> None:
    from srkit.db.hierarchy import KINDS

    kind = None
    for item in keys:
        key, sep, value = item.partition("=")
        if not sep or key.strip() != "kind" or value not in KINDS:
            raise click.BadParameter(
                f"{item!r}: conflicts are narrowed by kind=KIND ({', '.join(KINDS)})",
                param_hint="--key",
            )
        kind = value
    with _open(db_url, must_exist=True) as db:
        rows = db.conflicts(kind=kind, study_instance_uid=study_uid, limit=limit)
    if fmt != "text":
        for row in rows:
            row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
    _print(rows, fmt, _CONFLICT_COLUMNS)
    click.echo(f"srkit ls: {len(rows)} conflicts", err=True)


def _print(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> None:
    from srkit.tables.write import write_rows

    if fmt != "text":
        write_rows(rows, fmt)
        return
    from srkit.render.escape import escape_control

    table = [
        [("" if r.get(c) is None else escape_control(str(r.get(c)))) for c in columns] for r in rows
    ]
    widths = [max([len(c)] + [len(t[i]) for t in table]) for i, c in enumerate(columns)]
    out = sys.stdout
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    for t in table:
        out.write("  ".join(v.ljust(w) for v, w in zip(t, widths)).rstrip() + "\n")


@click.group()
def query() -> None:
    """Query the SR content of the database (measurements, dose)."""


def _out_options(func: Any) -> Any:
    func = output_option()(func)
    func = format_option("jsonl", "json", "csv", "parquet", default="jsonl")(func)
    func = click.option("--limit", type=click.IntRange(min=0))(func)
    func = click.option("--date-from", help="Study date from (YYYYMMDD).")(func)
    func = click.option("--date-to", help="Study date to (YYYYMMDD).")(func)
    func = click.option("--manufacturer", help="Manufacturer (wildcards, case-insensitive).")(func)
    func = click.option("--patient-id", help="Patient ID (wildcards).")(func)
    func = click.option(
        "-w",
        "--where",
        "wheres",
        multiple=True,
        metavar="FILTER=VALUE",
        help="Any filter of the Python API (min_value=10, ...).",
    )(func)
    return DB_OPTION(func)


def _filters(common: dict[str, Any], wheres: tuple[str, ...]) -> dict[str, Any]:
    """The query's filters; dates (also given as ``-w date_from=...``) checked, a bad
    one a usage error naming the form (:mod:`srkit.cli.faces`)."""
    from srkit.cli.faces import check_date

    filters = {k: v for k, v in common.items() if v is not None}
    given = {k: f"--{k.replace('_', '-')}" for k in filters}
    for item in wheres:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not FILTER=VALUE", param_hint="--where")
        key = key.strip().replace("-", "_")
        filters[key] = value
        given[key] = "--where"
    for key in ("date_from", "date_to"):
        if filters.get(key) is not None:
            check_date(str(filters[key]), given[key])
    if (
        filters.get("date_from")
        and filters.get("date_to")
        and (filters["date_from"] > filters["date_to"])
    ):
        raise click.BadParameter("--date-from is after --date-to", param_hint="--date-to")
    return filters


@query.command()
@_out_options
@click.option(
    "--kind",
    type=click.Choice(["quantitative", "qualitative"]),
    default="quantitative",
    show_default=True,
)
@click.option("--finding", help="Finding: code value, value:scheme or meaning (wildcards).")
@click.option("--finding-site", help="Finding site (as --finding).")
@click.option("--quantity", help="Measured quantity (as --finding).")
@click.option("--units", help="Units (as --finding).")
@click.option("--min-value", type=float)
@click.option("--max-value", type=float)
@click.option(
    "--context",
    is_flag=True,
    help="Add the patient and study columns (patient_id, patient_name, study_date, "
    "accession_number, modality, series_manufacturer) after those of srkit measurements.",
)
@user_errors
def measurements(
    db_url: str | None,
    fmt: str,
    output: str | None,
    wheres: tuple[str, ...],
    limit: int | None,
    context: bool,
    **common: Any,
) -> None:
    """TID 1500 measurement rows: the columns of ``srkit measurements`` (the same in
    every format, whatever the rows hold), and with --context the patient and study."""
    from srkit.tables.schemas import MEASUREMENTS, QUALITATIVE, with_context
    from srkit.tables.write import write_rows

    filters = _filters(common, wheres)
    if limit is not None:
        filters["limit"] = limit
    with _open(db_url, must_exist=True) as db:
        rows = db.query_measurements(**filters)
    schema = QUALITATIVE if filters.get("kind") == "qualitative" else MEASUREMENTS
    write_rows(rows, fmt, output, schema=with_context(schema) if context else schema)
    click.echo(f"srkit query measurements: {len(rows)} rows \u2192 {output or 'stdout'}", err=True)


@query.command()
@_out_options
@click.option(
    "--level",
    type=click.Choice(["report", "event"]),
    default="report",
    show_default=True,
    help="One row per report or per irradiation event.",
)
@click.option("--template", type=click.Choice(["10011", "10001"]))
@click.option("--min-dlp", type=float, help="mGy.cm (report: total DLP; event: DLP).")
@click.option("--max-dlp", type=float)
@click.option("--min-ctdivol", type=float, help="mGy (events).")
@click.option("--max-ctdivol", type=float)
@click.option("--min-dap", type=float, help="Gy.m2 (report: total DAP; event: DAP).")
@click.option("--max-dap", type=float)
@click.option(
    "--drl",
    "drl_file",
    type=click.Path(dir_okay=False),
    help="National DRLs (CSV/TOML): each report against its DRL (ratio, above).",
)
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False),
    help="Vendor protocol -> standard name, for --drl and --local-drl.",
)
@click.option(
    "--local-drl", is_flag=True, help="Compare with local 75th percentiles where no national DRL."
)
@click.option(
    "--context",
    is_flag=True,
    help="Add the patient and study columns (patient_id, patient_name, study_date, "
    "accession_number, series_modality, series_manufacturer).",
)
@user_errors
def dose(
    db_url: str | None,
    fmt: str,
    output: str | None,
    wheres: tuple[str, ...],
    limit: int | None,
    level: str,
    drl_file: str | None,
    mapping: str | None,
    local_drl: bool,
    context: bool,
    **common: Any,
) -> None:
    """Radiation dose reports or events (TID 10011, TID 10001).

    With --drl (and/or --local-drl) each report row also carries its protocol, standard
    name, reference levels and ``<quantity>_ratio`` / ``<quantity>_above`` columns.
    The columns are those of ``srkit dose`` (``--summary``; events: ``--events``),
    the same in every format.
    """
    from srkit.tables.schemas import dose_schema
    from srkit.tables.write import write_rows

    event = level == "event"
    names = {
        "min_dlp": "min_dlp" if event else "min_total_dlp",
        "max_dlp": "max_dlp" if event else "max_total_dlp",
        "min_dap": "min_dose_area_product" if event else "min_total_dap",
        "max_dap": "max_dose_area_product" if event else "max_total_dap",
        "min_ctdivol": "min_mean_ctdivol",
        "max_ctdivol": "max_mean_ctdivol",
    }
    if not event and (
        common.get("min_ctdivol") is not None or common.get("max_ctdivol") is not None
    ):
        level, event = "event", True
    renamed = {names.get(k, k): v for k, v in common.items()}
    filters = _filters(renamed, wheres)
    filters["level"] = level
    if limit is not None:
        filters["limit"] = limit
    with _open(db_url, must_exist=True) as db:
        rows = db.query_dose(**filters)
        if (drl_file or local_drl or mapping) and event:
            raise click.UsageError("--drl, --mapping and --local-drl compare reports, not events")
        if drl_file or local_drl or mapping:
            from srkit.dose.drl import with_reference_levels

            rows = with_reference_levels(db, rows, drl_file, mapping, local=local_drl)
    compared = bool(drl_file or local_drl or mapping)
    write_rows(rows, fmt, output, schema=dose_schema(level, context=context, drl=compared))
    click.echo(f"srkit query dose: {len(rows)} rows \u2192 {output or 'stdout'}", err=True)


_RM_LEVELS = {
    name: str(normalise_level(name)) for name in ("patient", "study", "series", "instance")
}


@click.command()
@click.argument("level", type=click.Choice(list(_RM_LEVELS)))
@click.argument("uids", nargs=-1, required=True)
@DB_OPTION
@click.option(
    "--delete-files",
    is_flag=True,
    help="Also delete the copies srkit made (never the files you imported in place).",
)
@click.option(
    "--patient-id", help="Only the instances of this patient (a UID filed under several)."
)
@click.option("--issuer", help="Issuer of Patient ID (with --patient-id, or for patients).")
@click.option("--study", "study_uid", help="Only the instances of this study (for series).")
@user_errors
def rm(
    level: str,
    uids: tuple[str, ...],
    db_url: str | None,
    delete_files: bool,
    patient_id: str | None,
    issuer: str | None,
    study_uid: str | None,
) -> None:
    """Remove patients (by Patient ID), studies, series or instances (by UID) from the index.

    A UID filed under several patients (a conflict: ``srkit ls conflicts``) is refused
    unless --patient-id (and --issuer) or --study choose one of them.
    """
    within = {
        "PatientID": patient_id or "",
        "IssuerOfPatientID": issuer or "",
        "StudyInstanceUID": study_uid or "",
    }
    missing = []
    total = 0
    with _open(db_url, must_exist=True) as db:
        for uid in uids:
            n = db.remove(_RM_LEVELS[level], uid, delete_files=delete_files, within=within)
            if n == 0:
                missing.append(uid)
            total += n
    click.echo(f"srkit rm: {total} instance(s) removed", err=True)
    if missing:
        for uid in missing:
            report_error(f"{uid}: no such {level} in the database")
        raise SystemExit(1)


@click.command()
@DB_OPTION
@click.option(
    "--repair",
    is_flag=True,
    help="Mend storage problems: remove staged files of dead processes, index orphan "
    "files (or move them to <storage>/.lost), drop rows whose copy is missing.",
)
@user_errors
def check(db_url: str | None, repair: bool) -> None:
    """Check the database and its storage folder; exit code 1 when problems are found
    (with --repair: when any remain)."""
    with _open(db_url, must_exist=True) as db:
        problems = db.check_integrity(repair=repair)
        remaining = db.check_integrity() if repair and problems else problems
    for line in problems:
        report_error(line)
    click.echo(
        f"srkit check: {len(problems)} problem(s)"
        + (f", {len(remaining)} remaining" if repair else ""),
        err=True,
    )
    if remaining:
        raise SystemExit(1)
