"""Benchmark: TID 1500 extraction with srkit vs highdicom over the same files, one run.

Copies the real TID 1500 reports of ``../shared/data/sr-tid1500`` with fresh SOP
Instance UIDs into a temporary folder (at least 500 files), then times

* srkit: ``codec.read`` + ``templates.tid1500.measurement_rows`` per file;
* highdicom: ``hd.sr.srread`` + every measurement group's measurements (values,
  units, tracking ids), which is what a user of highdicom does to get the same rows.

Run: ``/work/venv/bin/python benchmarks/bench_measurements.py [N]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sr-tid1500"


def make_copies(folder: Path, count: int) -> list[Path]:
    sources = sorted(DATA.glob("*.dcm"))
    out: list[Path] = []
    for n in range(count):
        ds = pydicom.dcmread(sources[n % len(sources)])
        uid = generate_uid()
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        path = folder / f"{n:05d}_{sources[n % len(sources)].name}"
        ds.save_as(path)
        out.append(path)
    return out


def run_srkit(paths: list[Path]) -> tuple[float, int]:
    from srkit.extract import extract_rows

    start = time.perf_counter()
    rows = sum(1 for _ in extract_rows(paths))  # what ``srkit measurements`` runs
    return time.perf_counter() - start, rows


def _hd_rows(sr: object) -> int:
    content = sr.content  # type: ignore[attr-defined]
    rows = 0
    for getter in (
        content.get_planar_roi_measurement_groups,
        content.get_volumetric_roi_measurement_groups,
        content.get_image_measurement_groups,
    ):
        for group in getter():
            _ = (group.tracking_identifier, group.tracking_uid, group.finding_type)
            for m in group.get_measurements():
                _ = (m.name, m.value, m.unit, m.derivation)
                rows += 1
    return rows


def run_highdicom(paths: list[Path]) -> tuple[float, int, int]:
    import highdicom as hd

    start = time.perf_counter()
    rows = failed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            try:
                rows += _hd_rows(hd.sr.srread(path))
            except Exception:
                failed += 1
    return time.perf_counter() - start, rows, failed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_copies(Path(tmp), count)
        # warm both (imports, caches) on a few files, outside the timing
        run_srkit(paths[:5])
        run_highdicom(paths[:5])
        t_sr, rows_sr = run_srkit(paths)
        t_hd, rows_hd, failed = run_highdicom(paths)
    print(f"files: {count} (copies of {len(list(DATA.glob('*.dcm')))} real TID 1500 reports)")
    print(f"srkit     : {t_sr:7.2f} s  {count / t_sr:8.1f} files/s  {rows_sr} rows")
    print(
        f"highdicom : {t_hd:7.2f} s  {count / t_hd:8.1f} files/s  {rows_hd} measurements"
        f" ({failed} files highdicom could not read)"
    )
    print(f"speed-up  : {t_hd / t_sr:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
