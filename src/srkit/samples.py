"""Sample data srkit makes itself: CT series, TID 1500 reports and CT dose reports.

Used by ``srkit demo`` (the README's first command) so that the main job runs on a
fresh machine with no data of its own. Everything is synthetic and deterministic for
a given seed: small CT images (64 x 64 pixels), one measurement report per study with
lesions measured on those images, and one CT Radiation Dose SR per study.
"""

from __future__ import annotations

import datetime as _dt
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

from srkit.codec.writer import write
from srkit.model.code import Code
from srkit.model.document import Patient
from srkit.model.items import ScoordContentItem

__all__ = ["SampleStudy", "make_samples"]

_PREFIX = "1.2.826.0.1.3680043.10.1234."  # deterministic UIDs need a prefix

FIRST_NAMES = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo"]
LAST_NAMES = ["Lovelace", "Okafor", "Nakamura", "Silva", "Novak", "Berg", "Rossi", "Meyer"]
SITES = [
    ("10200004", "Liver"),
    ("39607008", "Lung"),
    ("64033007", "Kidney"),
    ("78961009", "Spleen"),
]
PROTOCOLS = [
    ("Abdomen routine", "818981001", "Abdomen", 120.0),
    ("Chest low dose", "51185008", "Chest", 100.0),
    ("Abdomen-pelvis", "818982008", "Abdomen and Pelvis", 120.0),
]


@dataclass(frozen=True, slots=True)
class SampleStudy:
    """What was made for one study."""

    patient_id: str
    study_instance_uid: str
    images: tuple[Path, ...]
    measurement_report: Path
    dose_report: Path


def _uid(rng: random.Random) -> str:
    return generate_uid(prefix=_PREFIX, entropy_srcs=[str(rng.random())])


def _ct_slice(
    study: dict[str, str], series_uid: str, frame_uid: str, n: int, rng: random.Random
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = UID(_uid(rng))
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Modality = "CT"
    ds.Manufacturer = "srkit sample scanner"
    ds.PatientName = study["name"]
    ds.PatientID = study["id"]
    ds.PatientBirthDate = study["birth"]
    ds.PatientSex = study["sex"]
    ds.StudyInstanceUID = study["uid"]
    ds.StudyDate = study["date"]
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = study["accession"]
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "CT sample study"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 2
    ds.SeriesDescription = "Axial 5 mm"
    ds.InstanceNumber = n + 1
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    ds.Laterality = ""
    ds.ImagePositionPatient = [-160.0, -160.0, -5.0 * n]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceThickness = 5.0
    ds.PixelSpacing = [5.0, 5.0]
    ds.KVP = 120
    ds.AcquisitionNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 64
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    yy, xx = np.mgrid[0:64, 0:64]
    body = ((xx - 32) ** 2 + (yy - 32) ** 2 < 28**2) * 40
    lesion = ((xx - 40) ** 2 + (yy - 26) ** 2 < (4 + n % 3) ** 2) * 60
    noise = np.array([rng.randint(-8, 8) for _ in range(64 * 64)]).reshape(64, 64)
    ds.PixelData = (body + lesion + noise - 1000 * (body == 0)).astype(np.int16).tobytes()
    return ds


def _measurement_report(
    study: dict[str, str], images: list[Dataset], rng: random.Random, now: _dt.datetime
) -> object:
    from srkit.templates import tid1419, tid1501
    from srkit.templates.tid1500_builder import ReportSpec, build_measurement_report

    mm = Code.make("mm", "UCUM", "millimeter")
    mm2 = Code.make("mm2", "UCUM", "square millimeter")
    groups = []
    for n in range(rng.randint(1, 3)):
        image = images[rng.randrange(len(images))]
        code, meaning = SITES[rng.randrange(len(SITES))]
        long_axis = round(rng.uniform(6.0, 42.0), 1)
        short_axis = round(long_axis * rng.uniform(0.5, 0.9), 1)
        area = round(3.14159 * long_axis * short_axis / 4, 1)
        cx, cy = rng.uniform(20, 44), rng.uniform(20, 44)
        groups.append(
            tid1501.MeasurementGroup(
                number=n + 1,
                template="1410",
                tracking_identifier=f"Lesion {n + 1}",
                tracking_unique_identifier=_uid(rng),
                finding=Code.make("4147007", "SCT", "Mass"),
                finding_site=Code.make(code, "SCT", meaning),
                source_sop_instance_uids=(str(image.SOPInstanceUID),),
                region=ScoordContentItem(
                    graphic_type="POLYLINE",
                    data=(cx - 4, cy, cx + 4, cy, cx, cy - 3, cx, cy + 3),
                ),
                measurements=(
                    tid1419.Measurement(
                        quantity=Code.make("103339001", "SCT", "Long Axis"),
                        number=str(long_axis),
                        value=long_axis,
                        units=mm,
                    ),
                    tid1419.Measurement(
                        quantity=Code.make("103340004", "SCT", "Short Axis"),
                        number=str(short_axis),
                        value=short_axis,
                        units=mm,
                    ),
                    tid1419.Measurement(
                        quantity=Code.make("42798000", "SCT", "Area"),
                        number=str(area),
                        value=area,
                        units=mm2,
                    ),
                ),
            )
        )
    spec = ReportSpec(groups=tuple(groups), series_description="Lesion measurements")
    return build_measurement_report(
        spec, images, now=now, sop_instance_uid=_uid(rng), series_instance_uid=_uid(rng)
    )


def _dose_report(
    study: dict[str, str], rng: random.Random, flavour: str, now: _dt.datetime
) -> object:
    from srkit.templates.tid10011_builder import build_ct_dose_report

    events: list[dict[str, Any]] = []
    start = now.replace(microsecond=0)
    for _n in range(rng.randint(1, 3)):
        protocol, region_code, region, kvp = PROTOCOLS[rng.randrange(len(PROTOCOLS))]
        ctdi = round(rng.uniform(2.5, 18.0), 2)
        length = round(rng.uniform(250.0, 520.0), 1)
        events.append(
            {
                "acquisition_protocol": protocol,
                "target_region": {"value": region_code, "scheme": "SCT", "meaning": region},
                "ct_acquisition_type": {
                    "value": "116152004",
                    "scheme": "SCT",
                    "meaning": "Spiral Acquisition",
                },
                "irradiation_event_uid": _uid(rng),
                "ct_acquisition_parameters": {
                    "exposure_time": round(rng.uniform(3.0, 12.0), 2),
                    "scanning_length": length,
                    "nominal_single_collimation_width": 0.6,
                    "nominal_total_collimation_width": 38.4,
                    "pitch_factor": 1.0,
                    "number_of_xray_sources": 1.0,
                    "ct_xray_source_parameters": [
                        {
                            "identification_of_the_xray_source": "A",
                            "kvp": kvp,
                            "maximum_xray_tube_current": 400.0,
                            "xray_tube_current": round(rng.uniform(80, 350)),
                            "exposure_time_per_rotation": 0.5,
                        }
                    ],
                },
                "ct_dose": {
                    "mean_ctdivol": ctdi,
                    "ctdiw_phantom_type": {
                        "value": "113691",
                        "scheme": "DCM",
                        "meaning": "IEC Body Dosimetry Phantom",
                    },
                    "dlp": round(ctdi * length / 10, 2),
                },
            }
        )
    total_dlp = sum(float(e["ct_dose"]["dlp"]) for e in events)
    report = {
        "sop_instance_uid": _uid(rng),
        "study_instance_uid": study["uid"],
        "manufacturer_model_name": "Sample CT 64",
        "station_name": "CT1",
        "observer": {
            "device_observer_uid": _uid(rng),
            "device_observer_name": "CT1",
            "device_observer_model_name": "Sample CT 64",
            "device_observer_serial_number": f"SN{rng.randint(1000, 9999)}",
        },
        "accumulated": [
            {
                "total_number_of_irradiation_events": float(len(events)),
                "ct_dose_length_product_total": round(total_dlp, 2),
            }
        ],
        "start_of_xray_irradiation": start.isoformat(),
        "end_of_xray_irradiation": (start + _dt.timedelta(minutes=4)).isoformat(),
        "events": events,
    }
    patient = Patient(
        name=study["name"], id=study["id"], birth_date=study["birth"], sex=study["sex"]
    )
    doc = build_ct_dose_report(report, flavour=flavour, patient=patient, now=now)
    return replace(doc, series=replace(doc.series, instance_uid=_uid(rng)))


def make_samples(
    folder: Path, *, studies: int = 6, seed: int = 1, slices: int = 6
) -> list[SampleStudy]:
    """Write sample studies under ``folder`` (one sub-folder each) and describe them."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    base = _dt.datetime(2025, 1, 6, 9, 0, 0)
    for s in range(studies):
        when = base + _dt.timedelta(days=17 * s, hours=s % 5)
        study = {
            "name": f"{LAST_NAMES[s % len(LAST_NAMES)]}^{FIRST_NAMES[s % len(FIRST_NAMES)]}",
            "id": f"SRK{s + 1:04d}",
            "birth": f"19{50 + s * 7 % 40}0{1 + s % 9}15",
            "sex": "F" if s % 2 else "M",
            "uid": _uid(rng),
            "date": when.strftime("%Y%m%d"),
            "accession": f"ACC{s + 1:05d}",
        }
        out = folder / study["id"]
        out.mkdir(exist_ok=True)
        series_uid, frame_uid = _uid(rng), _uid(rng)
        images = [_ct_slice(study, series_uid, frame_uid, n, rng) for n in range(slices)]
        image_paths = []
        for n, image in enumerate(images):
            path = out / f"CT{n + 1:03d}.dcm"
            image.save_as(path, enforce_file_format=True)
            image_paths.append(path)
        report = _measurement_report(study, images, rng, when + _dt.timedelta(hours=2))
        report_path = out / "measurements.dcm"
        write(report, report_path)  # type: ignore[arg-type]
        flavour = ("siemens", "ge", "medtronic")[s % 3]
        dose = _dose_report(study, rng, flavour, when)
        dose_path = out / "dose.dcm"
        write(dose, dose_path)  # type: ignore[arg-type]
        made.append(
            SampleStudy(
                patient_id=study["id"],
                study_instance_uid=study["uid"],
                images=tuple(image_paths),
                measurement_report=report_path,
                dose_report=dose_path,
            )
        )
    return made
