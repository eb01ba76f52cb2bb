"""Import speed: ``Database.import_paths`` next to Orthanc's REST import and a bare
pydicom + sqlite3 batched indexer, on the same generated files, in one run.

The files are copies of the real CT, MR and SR files of ``../shared/data`` with fresh
UIDs: each generated study holds the 16-slice MR series, the 11 CT images (in their
original series) and one SR, cycling through the TID 1500 reports and the three CT
dose reports (so SR content indexing is part of the figure).

Usage: ``python benchmarks/bench_import.py [--files 2000] [--no-orthanc]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

DATA = Path(
    os.environ.get("SRKIT_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
ORTHANC = "/usr/sbin/Orthanc"


def generate(out: Path, count: int) -> list[Path]:
    """Write ``count`` files (copies with fresh UIDs) under ``out``; returns them."""
    images = sorted((DATA / "mr").rglob("*.dcm")) + sorted((DATA / "ct").rglob("*.dcm"))
    reports = sorted((DATA / "sr-tid1500").glob("*.dcm")) + sorted(
        (DATA / "rdsr").glob("openrem_*.dcm")
    )
    sources = {p: pydicom.dcmread(p) for p in images + reports}
    original_series = {p: str(ds.SeriesInstanceUID) for p, ds in sources.items()}
    files: list[Path] = []
    study_no = 0
    while len(files) < count:
        study_no += 1
        study, patient = generate_uid(), f"BENCH{study_no:05d}"
        series_map: dict[str, str] = {}
        members = [*images, reports[study_no % len(reports)]]
        for n, src in enumerate(members):
            if len(files) >= count:
                break
            ds = sources[src]
            old_series = original_series[src]
            ds.StudyInstanceUID = study
            ds.SeriesInstanceUID = series_map.setdefault(old_series, generate_uid())
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.PatientID = patient
            path = out / f"s{study_no:04d}" / f"{n:03d}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path)
            files.append(path)
    return files


def bench_srkit(files: list[Path], root: Path, tmp: Path, *, copy: bool) -> float:
    from srkit.db import Database

    name = "copy" if copy else "ref"
    with Database(tmp / f"srkit-{name}.sqlite", storage=tmp / f"storage-{name}") as db:
        start = time.perf_counter()
        report = db.import_paths([root], copy=copy)
        elapsed = time.perf_counter() - start
        counts = db.counts()
    assert report.imported == len(files), report.summary()
    print(
        f"  srkit ({name}): {report.summary()}; SR rows: {counts['measurements']} "
        f"measurements, {counts['dose_events']} dose events",
        file=sys.stderr,
    )
    return elapsed


def bench_bare(files: list[Path], tmp: Path) -> float:
    """A minimal batched indexer: header fields of every file into one sqlite3 table."""
    start = time.perf_counter()
    con = sqlite3.connect(tmp / "bare.sqlite")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE instance (sop TEXT PRIMARY KEY, study TEXT, series TEXT, patient TEXT,"
        " name TEXT, date TEXT, modality TEXT, sop_class TEXT, path TEXT)"
    )
    batch = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            batch.append(
                (
                    ds.SOPInstanceUID,
                    ds.StudyInstanceUID,
                    ds.SeriesInstanceUID,
                    str(ds.get("PatientID", "")),
                    str(ds.get("PatientName", "")),
                    ds.get("StudyDate"),
                    ds.get("Modality"),
                    ds.SOPClassUID,
                    str(path),
                )
            )
            if len(batch) >= 500:
                con.executemany("INSERT OR IGNORE INTO instance VALUES (?,?,?,?,?,?,?,?,?)", batch)
                con.commit()
                batch = []
    con.executemany("INSERT OR IGNORE INTO instance VALUES (?,?,?,?,?,?,?,?,?)", batch)
    con.commit()
    con.close()
    return time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_orthanc(files: list[Path], tmp: Path) -> float | None:
    import httpx

    if not Path(ORTHANC).exists():
        print("  Orthanc not installed: skipped", file=sys.stderr)
        return None
    http = _free_port()
    config = {
        "Name": "srkit-bench",
        "StorageDirectory": str(tmp / "orthanc-storage"),
        "IndexDirectory": str(tmp / "orthanc-index"),
        "HttpPort": http,
        "DicomPort": _free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [],
    }
    (tmp / "orthanc.json").write_text(json.dumps(config))
    log = open(tmp / "orthanc.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [ORTHANC, str(tmp / "orthanc.json")],
        stdout=log,
        stderr=log,
        env={**os.environ, "TCP_NODELAY": "1"},
    )
    base = f"http://127.0.0.1:{http}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(200):
                try:
                    client.get("/system")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            start = time.perf_counter()
            for path in files:
                response = client.post("/instances", content=path.read_bytes())
                response.raise_for_status()
            elapsed = time.perf_counter() - start
            stats = client.get("/statistics").json()
        print(
            f"  Orthanc: {stats['CountInstances']} instances, {stats['CountStudies']} studies",
            file=sys.stderr,
        )
        return elapsed
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--no-orthanc", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="srkit-bench-"))
    try:
        root = tmp / "files"
        files = generate(root, args.files)
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"{len(files)} files, {size:.0f} MB, under {root}", file=sys.stderr)
        for path in files:  # warm the page cache equally for everyone
            path.read_bytes()
        results: dict[str, float | None] = {
            "bare pydicom+sqlite3 (headers only)": bench_bare(files, tmp),
            "srkit import (reference in place)": bench_srkit(files, root, tmp, copy=False),
            "srkit import --copy": bench_srkit(files, root, tmp, copy=True),
            "Orthanc REST /instances": None if args.no_orthanc else bench_orthanc(files, tmp),
        }
        orthanc = results["Orthanc REST /instances"]
        bare = results["bare pydicom+sqlite3 (headers only)"]
        print(
            f"\n{'indexer':40s} {'seconds':>8s} {'files/s':>8s} {'vs Orthanc':>10s} {'vs bare':>8s}"
        )
        for name, seconds in results.items():
            if seconds is None:
                print(f"{name:40s} {'-':>8s}")
                continue
            rate = len(files) / seconds
            vs_o = f"{orthanc / seconds:.2f}x" if orthanc else "-"
            vs_b = f"{bare / seconds:.2f}x" if bare else "-"
            print(f"{name:40s} {seconds:8.2f} {rate:8.0f} {vs_o:>10s} {vs_b:>8s}")
        print(f"(cpu count {os.cpu_count()}; srkit parses in a process pool)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
