"""``srkit create dose-report RECORD.json -o OUT.dcm``: a TID 10011 CT dose report.

The report gets fresh SOP Instance, Study Instance and Irradiation Event UIDs unless
``--keep-uids`` is given (a created report is a new instance, PS3.3 C.12.1.1.1), carries
the patient module of the record (``patient`` object or ``patient_*`` keys, options
override) and codes SNOMED concepts as SCT, never the retired SRT (PS3.16 Annex O).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from srkit.cli.common import user_errors
from srkit.errors import SrkitError

__all__ = ["dose_report", "load_record"]


def load_record(path: str, index: int | None) -> dict[str, Any]:
    """The dose record in a JSON file (an object, or the list ``srkit dose`` writes) or
    a JSON lines file; ``index`` picks one of several (0-based)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SrkitError("not a UTF-8 JSON file", source=path) from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise SrkitError(f"not JSON: {exc.msg} (line {exc.lineno})", source=path) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data) or not data:
        raise SrkitError("expected a dose record object or a list of them", source=path)
    if index is None:
        if len(data) > 1:
            raise SrkitError(f"{len(data)} records; choose one with --index", source=path)
        index = 0
    if not 0 <= index < len(data):
        raise SrkitError(f"--index {index} out of range (0-{len(data) - 1})", source=path)
    record: dict[str, Any] = data[index]
    if record.get("template") not in (None, "10011"):
        raise SrkitError(
            f"record of TID {record.get('template')}: only CT (TID 10011) reports can be created",
            source=path,
        )
    return record


@click.command("dose-report")
@click.argument("record", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--flavour", type=click.Choice(["ge", "siemens", "medtronic"]), default="siemens",
    show_default=True, help="Whose report-level content to write.",
)  # fmt: skip
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option("--index", type=int, help="Which record of a list (0-based).")
@click.option(
    "--keep-uids",
    is_flag=True,
    help="Keep the record's SOP, study and event UIDs (default: fresh).",
)
@click.option("--new-uids", is_flag=True, hidden=True, help="Fresh UIDs (the default now).")
@click.option("--patient-name", help="Patient's Name (0010,0010), DICOM PN form.")
@click.option("--patient-id", help="Patient ID (0010,0020).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Read the result back and fail unless it gives the record back.")  # fmt: skip
@user_errors
def dose_report(
    record: str,
    flavour: str,
    output: str,
    index: int | None,
    keep_uids: bool,
    new_uids: bool,
    patient_name: str | None,
    patient_id: str | None,
    check: bool,
) -> None:
    """Create a TID 10011 CT Radiation Dose SR from RECORD (the JSON ``srkit dose`` writes).

    RECORD holds one report object (or a list/JSON lines of them: pick with --index);
    only ``events`` is required. Keys follow ``srkit dose``: numbers in mGy, mGy.cm,
    mm, s, kV, mA; codes as {value, scheme, meaning} (SRT codes are written as SCT).
    The report gets fresh UIDs unless --keep-uids; its patient module comes from the
    record's ``patient`` object or ``patient_name``/``patient_id``/``patient_birth_date``/
    ``patient_sex`` keys, overridden by --patient-name/--patient-id.
    """
    from srkit.codec import read
    from srkit.codec.writer import write
    from srkit.model.document import Patient
    from srkit.templates.dose import dose_report as read_dose
    from srkit.templates.dose_common import REPORT_KEYS
    from srkit.templates.tid10011_builder import build_ct_dose_report, record_patient, sct_record

    del new_uids  # fresh UIDs are the default; --keep-uids keeps them
    data = load_record(record, index)
    if not keep_uids:
        data = _fresh_uids(data)
    patient = record_patient(data)
    patient = Patient(
        name=patient_name or patient.name,
        id=patient_id or patient.id,
        birth_date=patient.birth_date,
        sex=patient.sex,
    )
    doc = build_ct_dose_report(data, flavour=flavour, patient=patient)
    write(doc, output)
    if check:
        back = read_dose(read(output))
        expected = sct_record({**data, "template": "10011"})
        got = back.to_dict() if back is not None else {}
        wrong = sorted(
            k
            for k in REPORT_KEYS
            if expected.get(k) is not None and k in got and got.get(k) != expected[k]
        )
        if wrong:
            raise SrkitError(f"read back differs in {', '.join(wrong)}", source=output)
    click.echo(f"{output}: {len(data['events'])} events, flavour {flavour}", err=True)


def _fresh_uids(data: dict[str, Any]) -> dict[str, Any]:
    from pydicom.uid import generate_uid

    events = [
        {**e, "irradiation_event_uid": str(generate_uid())} if isinstance(e, dict) else e
        for e in data.get("events") or []
    ]
    return {
        **data,
        "sop_instance_uid": str(generate_uid()),
        "study_instance_uid": str(generate_uid()),
        "events": events,
    }
