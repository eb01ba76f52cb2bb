"""Benchmark `srkit load` to NIfTI on a 512x512xN CT against dcm2niix and highdicom.

The series is made from the shared 3-slice CT (``../shared/data/ct/dcmqi_ct-3slice``):
N uncompressed slices, 1.25 mm apart, the real pixel values cycled, fresh UIDs. Each
tool runs in its own process (peak memory is that process's maximum resident set):

- srkit: ``examine`` + ``load`` + ``Volume.to_nifti`` (for this uncompressed series
  without pydicom and nibabel: ``srkit_imported`` says which of them it imported; its
  ``.nii.gz`` is compressed on as many threads as ``cpus``);
- dcm2niix: ``dcm2niix -b y`` (the converter itself, as the reference);
- highdicom: ``get_volume_from_series`` of the datasets read with pydicom, then nibabel.

All three write the same format, like for like: uncompressed ``.nii`` (``--format nii``,
dcm2niix ``-z n``) or ``.nii.gz`` at gzip level 1 (``--format nii.gz``: dcm2niix ``-z i -1``,
its internal compressor, since pigz is not assumed; srkit and nibabel write zlib level 1,
srkit in blocks on every core, nibabel on one). Each tool
runs ``--repeat`` times; the figures are the medians of wall time, of CPU time (user +
system, which a busy shared machine disturbs less) and of peak memory, with the load
average before and after.

    python benchmarks/bench_load.py [--slices 400] [--repeat 3] [--format nii]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ct" / "dcmqi_ct-3slice"


def make_series(folder: Path, slices: int) -> list[Path]:
    import pydicom
    from pydicom.uid import generate_uid

    templates = [pydicom.dcmread(p) for p in sorted(DATA.glob("*.dcm"))]
    prefix = "1.2.826.0.1.3680043.8.498."
    series = generate_uid(prefix=prefix, entropy_srcs=["bench", "series"])
    study = generate_uid(prefix=prefix, entropy_srcs=["bench", "study"])
    out = []
    for i in range(slices):
        ds = templates[i % 3].copy()
        sop = generate_uid(prefix=prefix, entropy_srcs=["bench", str(i)])
        ds.SOPInstanceUID = sop
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.SeriesInstanceUID, ds.StudyInstanceUID = series, study
        ds.InstanceNumber = i + 1
        x, y, _ = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y, -i * 1.25]
        ds.SliceLocation = -i * 1.25
        path = folder / f"{i:04d}.dcm"
        ds.save_as(path)
        out.append(path)
    return out


SRKIT = """
import resource, sys, time
t = time.perf_counter()
from srkit.load import examine, load
(item,) = [x for x in examine([sys.argv[1]]) if x.selected]
load(item).to_nifti(sys.argv[2])
r = resource.getrusage(resource.RUSAGE_SELF)
print("imported:", *sorted({m.split(".")[0] for m in sys.modules} & {"pydicom", "nibabel"}))
print(time.perf_counter() - t, r.ru_utime + r.ru_stime, r.ru_maxrss)
"""

HIGHDICOM = """
import resource, sys, time
from pathlib import Path
t = time.perf_counter()
import highdicom as hd, nibabel as nib, pydicom
files = sorted(Path(sys.argv[1]).glob("*.dcm"))
vol = hd.get_volume_from_series([pydicom.dcmread(f) for f in files], dtype="float32")
nib.save(vol.to_nibabel(), sys.argv[2])
r = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - t, r.ru_utime + r.ru_stime, r.ru_maxrss)
"""

DCM2NIIX = """
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run([sys.argv[3], *sys.argv[4:], "-b", "y", "-f", "vol", "-o", sys.argv[2], sys.argv[1]],
               check=True, capture_output=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - t, r.ru_utime + r.ru_stime, r.ru_maxrss)
"""


IMPORTED: dict[str, list[str]] = {}
"""Which of pydicom and nibabel each tool's process imported (srkit's says it)."""


def run(code: str, *args: str) -> tuple[float, float, float]:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True
    )
    if proc.returncode:
        raise SystemExit(f"bench_load: {args[1]}: {proc.stderr.strip().splitlines()[-1]}")
    for line in proc.stdout.splitlines():
        if line.startswith("imported:"):
            IMPORTED[Path(args[1]).parent.name.rsplit("-", 1)[0]] = line.split()[1:]
    seconds, cpu, kib = proc.stdout.split()[-3:]
    return float(seconds), float(cpu), float(kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=("nii", "nii.gz"), default="nii")
    args = parser.parse_args()
    gz = ["-z", "i", "-1"] if args.format == "nii.gz" else ["-z", "n"]
    dcm2niix = shutil.which("dcm2niix") or str(Path(sys.executable).with_name("dcm2niix"))
    work = Path(tempfile.mkdtemp(prefix="srkit-bench-load-"))
    try:
        src = work / "dicom"
        src.mkdir()
        make_series(src, args.slices)
        volume_mb = 512 * 512 * args.slices * 2 / 2**20
        results: dict[str, Any] = {
            "format": args.format,
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "load_average_before": round(os.getloadavg()[0], 2),
        }
        for name, code, extra in (
            ("dcm2niix", DCM2NIIX, [dcm2niix, *gz]),
            ("srkit", SRKIT, []),
            ("highdicom", HIGHDICOM, []),
        ):
            runs: list[tuple[float, float, float]] = []
            for r in range(args.repeat):
                out = work / f"{name}-{r}"
                out.mkdir()
                target = str(out) if name == "dcm2niix" else str(out / f"vol.{args.format}")
                runs.append(run(code, str(src), target, *extra))
                shutil.rmtree(out, ignore_errors=True)
            results[name] = {
                "seconds": round(statistics.median(s for s, _, _ in runs), 3),
                "cpu_seconds": round(statistics.median(c for _, c, _ in runs), 3),
                "peak_mb": round(statistics.median(m for _, _, m in runs), 1),
                "runs_seconds": [round(s, 3) for s, _, _ in runs],
            }
        results["load_average_after"] = round(os.getloadavg()[0], 2)
        s, d, h = (results[k]["seconds"] for k in ("srkit", "dcm2niix", "highdicom"))
        results["volume_mb"] = round(volume_mb, 1)
        results["srkit_vs_dcm2niix_time"] = round(s / d, 2)
        cpu = {k: results[k]["cpu_seconds"] for k in ("srkit", "dcm2niix", "highdicom")}
        results["srkit_vs_dcm2niix_cpu"] = round(cpu["srkit"] / cpu["dcm2niix"], 2)
        results["highdicom_vs_srkit_cpu"] = round(cpu["highdicom"] / cpu["srkit"], 2)
        results["highdicom_vs_srkit_time"] = round(h / s, 2)
        results["srkit_peak_vs_volume"] = round(results["srkit"]["peak_mb"] / volume_mb, 2)
        results["srkit_imported"] = IMPORTED.get("srkit", [])
        results["targets_met"] = {
            "time_within_1.5x_of_dcm2niix": results["srkit_vs_dcm2niix_time"] <= 1.5,
            "3x_faster_than_highdicom": results["highdicom_vs_srkit_time"] >= 3,
            "peak_within_2x_of_volume": results["srkit_peak_vs_volume"] <= 2,
        }
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
