"""Make benchmark corpora from the real files in ../shared/data, with fresh UIDs."""

from __future__ import annotations

import os
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

DATA = Path(
    os.environ.get("SRKIT_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SR_PATTERNS = ("sr-*/*.dcm", "rdsr/*.dcm", "kos/*.dcm")


def sr_sources() -> list[Path]:
    """The real SR files."""
    return sorted(p for pattern in SR_PATTERNS for p in DATA.glob(pattern))


def make_corpus(out: Path, count: int, sources: list[Path] | None = None) -> list[Path]:
    """``count`` copies of ``sources`` (round robin) with fresh study/series/instance UIDs."""
    sources = sources or sr_sources()
    out.mkdir(parents=True, exist_ok=True)
    datasets = [pydicom.dcmread(p) for p in sources]
    paths = []
    for n in range(count):
        ds = datasets[n % len(datasets)]
        study, series, inst = generate_uid(), generate_uid(), generate_uid()
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = inst
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            meta.MediaStorageSOPInstanceUID = inst
        path = out / f"{n:05d}_{sources[n % len(sources)].stem}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths
