"""A generated archive of dose reports for the DRL and alert tests.

CT exams are built with srkit's TID 10011 builder (several protocols whose names each
station spells its own way, three stations, a localizer per exam, some with a scanner
Dose Check alert); fluoroscopy exams are the Siemens AXIOM-Artis RDSR of the shared
data cut to one event, with new patients, dates and doses (a group of patients has
many procedures, so that cumulative sums cross the thresholds). Everything is seeded.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from srkit.codec import write
from srkit.templates.tid10011_builder import build_ct_dose_report
from tests.conftest import data_path

ARTIS = "rdsr/pyskindose_siemens_axiom_artis.dcm"

# standard name, body region (SCT), CTDIvol median (mGy), scan length (mm),
# and how each station spells the protocol
CT_PROTOCOLS: list[tuple[str, tuple[str, str], float, float, dict[str, str]]] = [
    (
        "Head",
        ("69536005", "Head"),
        45.0,
        160.0,
        {"CT1": "HEAD ROUTINE", "CT2": "Routine Head 5mm", "CT3": "Head routine"},
    ),
    (
        "Chest",
        ("51185008", "Chest"),
        8.0,
        320.0,
        {"CT1": "CHEST", "CT2": "Thorax routine", "CT3": "CHEST LOW DOSE"},
    ),
    (
        "Abdomen and pelvis",
        ("818981001", "Abdomen"),
        12.0,
        450.0,
        {"CT1": "ABD/PELVIS", "CT2": "Abdomen Pelvis 3mm", "CT3": "AP portal venous"},
    ),
    (
        "CT pulmonary angiography",
        ("51185008", "Chest"),
        10.0,
        300.0,
        {"CT1": "CTPA", "CT2": "CTPA", "CT3": "PE protocol"},
    ),
]
STATIONS = ("CT1", "CT2", "CT3")
MAPPING_CSV = """vendor_protocol,standard_name
HEAD ROUTINE,Head
Routine Head*,Head
Head routine,Head
CHEST*,Chest
Thorax routine,Chest
ABD/PELVIS,Abdomen and pelvis
Abdomen Pelvis*,Abdomen and pelvis
CTPA,CT pulmonary angiography
"""
"""Maps every CT protocol name but ``AP portal venous`` and ``PE protocol``."""

NATIONAL_CSV = """# EXAMPLE values for the tests, not published DRLs
name,modality,ctdivol,dlp,dap,dose_rp,source
Head,CT,60,970,,,test
Chest,CT,10,350,,,test
Abdomen and pelvis,CT,15,,,,test
Coronary angiography,XR,,,150,,test
"""
"""National DRLs of the tests (Abdomen and pelvis has no DLP entry: the local one is used)."""


@dataclass(frozen=True, slots=True)
class Corpus:
    """The generated files and what was put in them."""

    folder: Path
    ct: int
    xr: int
    truth: list[dict[str, Any]]


def _ct_record(
    rng: random.Random, n: int, when: dt.datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    standard, region, median, length, names = CT_PROTOCOLS[rng.randrange(len(CT_PROTOCOLS))]
    station = STATIONS[rng.randrange(len(STATIONS))]
    protocol = names[station]
    scale = {"CT1": 1.0, "CT2": 1.15, "CT3": 0.9}[station]
    ctdi = round(median * scale * rng.lognormvariate(0, 0.3), 2)
    scan = round(length * rng.uniform(0.8, 1.2), 1)
    dlp = round(ctdi * scan / 10, 2)
    scout = {
        "acquisition_protocol": protocol,
        "target_region": {"value": region[0], "scheme": "SCT", "meaning": region[1]},
        "ct_acquisition_type": {
            "value": "113805",
            "scheme": "DCM",
            "meaning": "Constant Angle Acquisition",
        },
        "irradiation_event_uid": str(generate_uid()),
        "ct_acquisition_parameters": {"exposure_time": 1.2, "scanning_length": 400.0},
        "ct_dose": {"dlp": 1.5, "mean_ctdivol": 0.2},
    }
    dose: dict[str, Any] = {"mean_ctdivol": ctdi, "dlp": round(dlp - 1.5, 2)}
    check = n % 37 == 0
    if check:
        yes = {"value": "373066001", "scheme": "SCT", "meaning": "Yes"}
        dose["dose_check_alert_details"] = {
            "dlp_alert_value_configured": yes,
            "ctdivol_alert_value_configured": yes,
            "dlp_alert_value": 1000.0,
            "ctdivol_alert_value": 80.0,
            "accumulated_dlp_forward_estimate": 1000.0 + dlp,
            "reason_for_proceeding": "clinical need",
            "person_name": "Tech^One",
        }
    spiral = {
        "acquisition_protocol": protocol,
        "target_region": {"value": region[0], "scheme": "SCT", "meaning": region[1]},
        "ct_acquisition_type": {
            "value": "116152004",
            "scheme": "SCT",
            "meaning": "Spiral Acquisition",
        },
        "irradiation_event_uid": str(generate_uid()),
        "ct_acquisition_parameters": {"exposure_time": 5.0, "scanning_length": scan},
        "ct_dose": dose,
    }
    record = {
        "sop_instance_uid": str(generate_uid()),
        "study_instance_uid": str(generate_uid()),
        "station_name": station,
        "manufacturer_model_name": "Generated CT",
        "start_of_xray_irradiation": when.isoformat(),
        "end_of_xray_irradiation": (when + dt.timedelta(minutes=5)).isoformat(),
        "accumulated": [
            {"total_number_of_irradiation_events": 2.0, "ct_dose_length_product_total": dlp}
        ],
        "events": [scout, spiral],
    }
    truth = {
        "sop_instance_uid": record["sop_instance_uid"],
        "modality": "CT",
        "station": station,
        "protocol": protocol,
        "standard": standard,
        "body_region": region[1],
        "dlp": dlp,
        "ctdivol": ctdi,
        "date": when.date().isoformat(),
        "dose_check": check,
    }
    return record, truth


def _xr_template() -> Dataset:
    ds = pydicom.dcmread(data_path(ARTIS))
    kept, first = [], True
    for item in ds.ContentSequence:
        if item.ValueType == "CONTAINER" and item.ConceptNameCodeSequence[0].CodeValue == "113706":
            if not first:
                continue
            first = False
        kept.append(item)
    ds.ContentSequence = pydicom.Sequence(kept)
    return ds


def _walk(seq: Any) -> Any:
    for item in seq:
        yield item
        yield from _walk(item.get("ContentSequence", []))


def _code_of(item: Dataset) -> str:
    names = item.get("ConceptNameCodeSequence")
    return str(names[0].CodeValue) if names else ""


def _patch(seq: Any, numbers: dict[str, float], texts: dict[str, str], stamp: str) -> None:
    """Set, in place, the NUMs and TEXTs of ``seq`` by concept code, every DATETIME
    to ``stamp`` and every Irradiation Event UID to a new one."""
    for item in _walk(seq):
        code = _code_of(item)
        if item.ValueType == "NUM" and code in numbers:
            item.MeasuredValueSequence[0].NumericValue = f"{numbers[code]:.10g}"
        elif item.ValueType == "TEXT" and code in texts:
            item.TextValue = texts[code]
        elif item.ValueType == "DATETIME":
            item.DateTime = stamp
        elif item.ValueType == "UIDREF" and code == "113769":
            item.UID = generate_uid()


def _header(ds: Dataset, patient: str, name: str, when: dt.datetime, station: str) -> None:
    ds.PatientID, ds.PatientName = patient, name
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyDate = ds.ContentDate = when.strftime("%Y%m%d")
    ds.StationName = station


def _xr_dataset(
    template: Dataset, patient: str, when: dt.datetime, dap: float, rp: float, station: str
) -> Dataset:
    """The template, changed in place (it is saved before the next call)."""
    ds = template
    _header(ds, patient, f"Fluoro^{patient}", when, station)
    values = {
        "113722": dap,
        "113726": dap,
        "113727": 0.0,
        "122130": dap,
        "113725": rp,
        "113728": rp,
        "113729": 0.0,
        "113738": rp,
    }
    _patch(ds.ContentSequence, values, {}, when.strftime("%Y%m%d%H%M%S"))
    return ds


def _ct_templates(folder: Path) -> dict[tuple[str, bool], Dataset]:
    """One TID 10011 file per (flavour, with Dose Check) made by srkit's builder, read
    back with pydicom to be changed in place."""
    out = {}
    rng = random.Random(0)
    for flavour in ("ge", "siemens", "medtronic"):
        for check in (False, True):
            record, _ = _ct_record(rng, 0 if check else 1, dt.datetime(2025, 1, 1))
            path = folder / f"template-{flavour}-{check}.dcm"
            write(build_ct_dose_report(record, flavour=flavour), path)
            out[(flavour, check)] = pydicom.dcmread(path)
            path.unlink()
    return out


def _ct_dataset(
    template: Dataset, record: dict[str, Any], fact: dict[str, Any], patient: str, when: dt.datetime
) -> Dataset:
    ds = template
    _header(ds, patient, f"Scan^{patient}", when, fact["station"])
    stamp = when.strftime("%Y%m%d%H%M%S")
    scout, spiral = record["events"]
    events = [c for c in ds.ContentSequence if _code_of(c) == "113819"]
    for event, data in zip(events, (scout, spiral), strict=True):
        dose = data["ct_dose"]
        numbers = {
            "113830": dose["mean_ctdivol"],
            "113838": dose["dlp"],
            "113825": data["ct_acquisition_parameters"]["scanning_length"],
        }
        if "dose_check_alert_details" in dose:
            numbers["113905"] = dose["dose_check_alert_details"]["accumulated_dlp_forward_estimate"]
        _patch(event.ContentSequence, numbers, {"125203": data["acquisition_protocol"]}, stamp)
        for item in event.ContentSequence:
            if _code_of(item) == "123014":
                region = data["target_region"]
                item.ConceptCodeSequence[0].CodeValue = region["value"]
                item.ConceptCodeSequence[0].CodeMeaning = region["meaning"]
    accumulated = [c for c in ds.ContentSequence if _code_of(c) == "113811"]
    _patch(
        accumulated, {"113813": record["accumulated"][0]["ct_dose_length_product_total"]}, {}, stamp
    )
    for item in ds.ContentSequence:
        if item.ValueType == "DATETIME":
            item.DateTime = stamp
    return ds


def make_corpus(folder: Path, *, ct: int = 1400, xr: int = 600, seed: int = 12) -> Corpus:
    """Write ``ct`` CT and ``xr`` fluoroscopy dose reports under ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2025, 1, 1, 8, 0, 0)
    truth = []
    ct_patients = [f"CT{n:04d}" for n in range(ct * 2 // 3)]
    templates = _ct_templates(folder)
    for n in range(ct):
        when = start + dt.timedelta(days=rng.randrange(365), minutes=rng.randrange(600))
        record, fact = _ct_record(rng, n, when)
        pid = ct_patients[rng.randrange(len(ct_patients))]
        template = templates[(("ge", "siemens", "medtronic")[n % 3], fact["dose_check"])]
        ds = _ct_dataset(template, record, fact, pid, when)
        ds.save_as(folder / f"ct{n:05d}.dcm")
        truth.append({**fact, "patient_id": pid, "sop_instance_uid": str(ds.SOPInstanceUID)})
    template = _xr_template()
    # 40 patients with many procedures (cumulative alerts), the rest with one or two
    frequent = [f"FL{n:03d}" for n in range(40)]
    others = [f"FX{n:04d}" for n in range(xr)]
    for n in range(xr):
        pid = frequent[n % 40] if n < xr // 2 else others[rng.randrange(len(others))]
        when = start + dt.timedelta(days=rng.randrange(365), minutes=rng.randrange(600))
        dap = round(rng.lognormvariate(-5.3, 0.9), 8)  # Gy.m2, median ~50 Gy.cm2
        rp = round(rng.lognormvariate(-0.9, 0.8), 5)  # Gy
        station = ("FL1", "FL2")[n % 2]
        ds = _xr_dataset(template, pid, when, dap, rp, station)
        ds.save_as(folder / f"xr{n:05d}.dcm")
        truth.append(
            {
                "sop_instance_uid": str(ds.SOPInstanceUID),
                "modality": "XR",
                "station": station,
                "patient_id": pid,
                "dap": dap,
                "dose_rp": rp,
                "date": when.date().isoformat(),
                "protocol": None,
            }
        )
    return Corpus(folder, ct, xr, truth)
