"""Benchmark `srkit dump` over >= 1,000 SRs against the pydicom floor and DCMTK dsrdump.

The pydicom floor: ``pydicom.dcmread`` of each file, then touching every element value,
sequences included (the least any pydicom-based reader must do). DCMTK: ``dsrdump -Ee``
on the same files in one process. srkit: ``srkit dump --format jsonl`` (and the text tree)
on the same files in one process, and ``srkit.read`` alone in this process.

    python benchmarks/bench_dump.py [--count 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_corpus


def touch(ds) -> int:
    n = 0
    for elem in ds:
        value = elem.value
        n += 1
        if elem.VR == "SQ":
            for item in value:
                n += touch(item)
    return n


def pydicom_floor(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        touch(pydicom.dcmread(path))
    return time.perf_counter() - start


def srkit_read(paths: list[Path]) -> float:
    import srkit

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            srkit.read(path)
    return time.perf_counter() - start


def run(cmd: list[str], paths: list[Path]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [*cmd, *map(str, paths)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - start


def best(fn, repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    srkit_cli = shutil.which("srkit") or str(Path(sys.executable).parent / "srkit")
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_corpus(Path(tmp), args.count)
        items = 0
        import srkit

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            items = sum(len(srkit.read(p)) for p in paths)
        size = sum(p.stat().st_size for p in paths) / 1e6
        print(f"corpus: {len(paths)} SR files, {items} content items, {size:.1f} MB")
        results = {
            "pydicom floor (dcmread + touch all)": best(lambda: pydicom_floor(paths), args.repeat),
            "srkit.read (library)": best(lambda: srkit_read(paths), args.repeat),
            "srkit dump --format jsonl": best(
                lambda: run([srkit_cli, "dump", "--format", "jsonl"], paths), args.repeat
            ),
            "srkit dump (text tree)": best(lambda: run([srkit_cli, "dump"], paths), args.repeat),
        }
        dsrdump = shutil.which("dsrdump", path="/usr/bin") or shutil.which("dsrdump")
        if dsrdump:
            results["DCMTK dsrdump -Ee"] = best(lambda: run([dsrdump, "-Ee"], paths), args.repeat)
        floor = results["pydicom floor (dcmread + touch all)"]
        print(f"{'reader':40s} {'seconds':>8s} {'files/s':>9s} {'items/s':>10s} {'x floor':>8s}")
        for name, secs in results.items():
            print(
                f"{name:40s} {secs:8.2f} {len(paths) / secs:9.0f} {items / secs:10.0f} {secs / floor:8.2f}"
            )
        if dsrdump:
            print(
                f"DCMTK is {floor / results['DCMTK dsrdump -Ee']:.1f}x faster than the pydicom floor"
            )


if __name__ == "__main__":
    main()
