"""Generated archives for the web tests: many studies made from one real CT file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from tests.conftest import data_path

FAMILIES = ["Lovelace", "Okafor", "Nakamura", "Silva", "Novak", "Berg", "Rossi", "Meyer",
            "Haddad", "Kowalski"]  # fmt: skip
GIVEN = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ines", "Jon"]
MODALITY_EVERY = 5
"""Every 5th study is MR (a copy of the CT with its Modality changed), the rest CT."""


def study_facts(n: int) -> dict[str, str]:
    """What study ``n`` (0-based) of :func:`make_studies` holds."""
    day = dt.date(2020, 1, 1) + dt.timedelta(days=n)
    return {
        "name": f"{FAMILIES[n % 10]}{n // 10:02d}^{GIVEN[n // 10 % 10]}",
        "id": f"GEN{n:04d}",
        "date": day.strftime("%Y%m%d"),
        "accession": f"A{n:05d}",
        "modality": "MR" if n % MODALITY_EVERY == 0 else "CT",
    }


def make_studies(folder: Path, count: int) -> list[Path]:
    """``count`` one-instance studies from ``ct/pydicom_CT_small.dcm`` with fresh UIDs,
    distinct patients, names, dates and accession numbers (:func:`study_facts`)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"))
    paths = []
    for n in range(count):
        facts = study_facts(n)
        ds = source.copy()
        ds.PatientName = facts["name"]
        ds.PatientID = facts["id"]
        ds.StudyDate = facts["date"]
        ds.AccessionNumber = facts["accession"]
        ds.Modality = facts["modality"]
        ds.StudyDescription = f"Generated study {n}"
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = folder / f"study{n:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
