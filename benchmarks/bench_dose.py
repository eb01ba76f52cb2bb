"""Benchmark: extract radiation dose reports with srkit vs bare pydicom reading.

Copies the seven real dose reports of the shared data (3 CT, 4 projection X-ray) with
fresh SOP Instance and Study Instance UIDs into a temporary folder until there are at
least ``--count`` files (default 1001), then times, over the same files:

- srkit: ``codec.read`` + ``templates.dose.dose_report(...).to_dict()``;
- pydicom: ``dcmread`` + touching every element value, sequences included.

Prints the rates and the ratio. Run: ``python benchmarks/bench_dose.py [--count N]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rdsr"


def make_copies(folder: Path, count: int) -> list[Path]:
    """At least ``count`` copies of the real reports, each with fresh UIDs."""
    sources = sorted(DATA.glob("*.dcm"))
    datasets = [pydicom.dcmread(p) for p in sources]
    files: list[Path] = []
    n = 0
    while len(files) < count:
        for ds in datasets:
            ds.SOPInstanceUID = generate_uid()
            ds.StudyInstanceUID = generate_uid()
            if "file_meta" in dir(ds):
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            path = folder / f"dose_{n:05d}.dcm"
            ds.save_as(path)
            files.append(path)
            n += 1
    return files


def touch(ds: pydicom.Dataset) -> int:
    """Access every element value (recursively); returns how many were touched."""
    n = 0
    for elem in ds:
        n += 1
        if elem.VR == "SQ":
            for item in elem.value:
                n += touch(item)
        else:
            _ = elem.value
    return n


def bench_pydicom(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        touch(pydicom.dcmread(path))
    return time.perf_counter() - start


def bench_srkit(files: list[Path]) -> tuple[float, int]:
    from srkit.codec import read
    from srkit.errors import SrkitWarning
    from srkit.templates.dose import dose_report

    events = 0
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SrkitWarning)
        for path in files:
            report = dose_report(read(path))
            assert report is not None
            events += len(report.to_dict()["events"])
    return time.perf_counter() - start, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1001)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="srkit-bench-dose-"))
    try:
        files = make_copies(folder, args.count)
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"{len(files)} dose reports ({size:.0f} MB) in {folder}")
        t_pydicom = bench_pydicom(files)
        t_srkit, events = bench_srkit(files)
        n = len(files)
        print(f"pydicom dcmread + touch all: {t_pydicom:7.2f} s  {n / t_pydicom:7.1f} files/s")
        print(
            f"srkit read + dose_report:    {t_srkit:7.2f} s  {n / t_srkit:7.1f} files/s "
            f"({events / t_srkit:.0f} events/s)"
        )
        print(f"ratio srkit/pydicom time: {t_srkit / t_pydicom:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
