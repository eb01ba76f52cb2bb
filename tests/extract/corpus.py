"""A generated corpus for the extraction tests: the SRs of the shared data (TID 1500
reports and dose reports) copied with fresh UIDs, plus broken files (truncated, not
DICOM, wrong SOP class)."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from tests.conftest import data_files, skip_or_fail

SOURCES = ("sr-tid1500/*.dcm", "rdsr/*.dcm")
BROKEN = ("truncated.dcm", "not-dicom.dcm", "ct-image.dcm")


def make_corpus(out: Path, count: int) -> list[Path]:
    """``count`` SRs (round robin over the sources, fresh UIDs) and the broken files."""
    sources = [p for pattern in SOURCES for p in data_files(pattern)]
    if not sources:
        skip_or_fail("no SR in the test data")
    out.mkdir(parents=True, exist_ok=True)
    datasets = [pydicom.dcmread(p) for p in sources]
    paths = []
    for n in range(count):
        ds = datasets[n % len(datasets)]
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        path = out / f"sr{n:05d}_{sources[n % len(sources)].stem}.dcm"
        ds.save_as(path)
        paths.append(path)
    good = next(p for p in paths if "dcmqi" in p.name).read_bytes()
    (out / "truncated.dcm").write_bytes(good[: len(good) // 2])
    (out / "not-dicom.dcm").write_text("this is not DICOM\n")
    ct = data_files("ct/pydicom_CT_small.dcm")
    if ct:
        (out / "ct-image.dcm").write_bytes(ct[0].read_bytes())
    return paths
