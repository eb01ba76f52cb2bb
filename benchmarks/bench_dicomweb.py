"""What a viewer asks of DICOMweb, timed: srkit serve vs Orthanc's DICOMweb plugin.

Run: ``python benchmarks/bench_dicomweb.py [--rounds 30]``.
Both servers hold the same files: a real 512 x 512 CT slice and its copy compressed
by DCMTK to JPEG Lossless. Each request (OHIF's study list query, a native frame, the
JPEG Lossless frame as stored and decompressed, a rendered PNG) is sent ``--rounds``
times over HTTP from this process; prints the median milliseconds and srkit/Orthanc.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.peers

from tests.peers import Orthanc, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CT = DATA / "ct" / "dcmqi_ct-3slice" / "01.dcm"


def jpeg_lossless(src: Path, out: Path) -> Path:
    """``src`` compressed by DCMTK to JPEG Lossless SV1, with a new SOP Instance UID."""
    import pydicom
    from pydicom.uid import generate_uid

    subprocess.run(["/usr/bin/dcmcjpeg", "+e1", "+ua", str(src), str(out)], check=True)
    ds = pydicom.dcmread(out)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(out, enforce_file_format=True)
    return out


def median_ms(url: str, accept: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        request = urllib.request.Request(url, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=60) as rsp:
            rsp.read()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    import pydicom

    from srkit.db import Database

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = [CT, jpeg_lossless(CT, tmp / "jpegll.dcm")]
        db = Database(tmp / "db.sqlite")
        for path in files:
            db.store(path.read_bytes())
        db.close()
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        serve = subprocess.Popen(
            [sys.executable, "-c", "from srkit.cli.main import cli; cli()", "serve",
             "--db", str(tmp / "db.sqlite"), "--port", str(port)],
            env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        orthanc = Orthanc(tmp / "orthanc")
        try:
            wait_for_port(port)
            orthanc.start()
            orthanc.upload(files)
            native, jpeg = (pydicom.dcmread(p, stop_before_pixels=True) for p in files)

            def path(ds: pydicom.Dataset, rest: str) -> str:
                return (
                    f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
                    f"/instances/{ds.SOPInstanceUID}{rest}"
                )

            octets = 'multipart/related; type="application/octet-stream"'
            cases = [
                ("QIDO-RS study list (OHIF's)", "/studies?includefield=00081030,00080060",
                 "application/dicom+json"),
                ("frame, native 512x512", path(native, "/frames/1"), octets),
                ("frame, JPEG Lossless as stored", path(jpeg, "/frames/1"),
                 octets + "; transfer-syntax=*"),
                ("frame, JPEG Lossless decompressed", path(jpeg, "/frames/1"), octets),
                ("rendered PNG, window 40/400", path(native, "/rendered?window=40,400,linear"),
                 "image/png"),
            ]  # fmt: skip
            print(f"{'request':36s} {'srkit ms':>9s} {'Orthanc ms':>11s} {'ratio':>6s}")
            for name, url, accept in cases:
                ours = median_ms(f"http://127.0.0.1:{port}/dicomweb{url}", accept, args.rounds)
                theirs = median_ms(orthanc.dicomweb_url + url, accept, args.rounds)
                print(f"{name:36s} {ours:9.1f} {theirs:11.1f} {ours / theirs:6.2f}")
        finally:
            orthanc.stop()
            serve.terminate()
            serve.wait(10)


if __name__ == "__main__":
    main()
