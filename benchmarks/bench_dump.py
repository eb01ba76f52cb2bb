"""Benchmark `srkit dump` over >= 1,000 SRs against the pydicom floor and DCMTK dsrdump.

The pydicom floor: ``pydicom.dcmread`` of each file, then touching every element value,
sequences included (the least any pydicom-based reader must do). DCMTK: ``dsrdump -Ee``
on the same files in one process. srkit: ``srkit dump --format jsonl`` (and the text tree)
on the same files in one process, and ``srkit.read`` alone in this process; each with the
compiled reader (parser and content tree builder, ``srkit.codec._fastparse_c`` and
``srkit.codec._tree_c``) and with the pure-Python one (``SRKIT_PURE_PYTHON=1``).

The machine is shared and noisy: every figure is the median of ``--repeat`` rounds, and
besides the wall-clock seconds the CPU seconds (user + system, of the child process for
the commands) are given, which the other loads on the machine disturb less. Ratios are
to dsrdump's.

    python benchmarks/bench_dump.py [--count 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
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


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pydicom_floor(paths: list[Path]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), _cpu_self()
    for path in paths:
        touch(pydicom.dcmread(path))
    return time.perf_counter() - start, _cpu_self() - cpu


def srkit_read(paths: list[Path], parser: str) -> tuple[float, float]:
    import srkit
    from srkit.codec import fastparse

    previous = fastparse.use(parser)
    start, cpu = time.perf_counter(), _cpu_self()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            srkit.read(path)
    result = time.perf_counter() - start, _cpu_self() - cpu
    fastparse.use(previous)
    return result


def run(
    cmd: list[str], paths: list[Path], env: dict[str, str] | None = None
) -> tuple[float, float]:
    start, cpu = time.perf_counter(), _cpu_children()
    subprocess.run(
        [*cmd, *map(str, paths)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return time.perf_counter() - start, _cpu_children() - cpu


def median(fn, repeat: int) -> tuple[float, float]:
    rounds = [fn() for _ in range(repeat)]
    return statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)


def srkit_command() -> tuple[list[str], dict[str, str]]:
    """``srkit`` as this checkout's code (the srkit this process imports)."""
    import srkit

    root = str(Path(srkit.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", "srkit.cli.main"], {"PYTHONPATH": path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from srkit.codec import fastparse

    parsers = fastparse.implementations()
    srkit_cli, env = srkit_command()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_corpus(Path(tmp), args.count)
        import srkit

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            items = sum(len(srkit.read(p)) for p in paths)
        size = sum(p.stat().st_size for p in paths) / 1e6
        print(f"corpus: {len(paths)} SR files, {items} content items, {size:.1f} MB")
        print(f"readers: {', '.join(parsers)}; medians of {args.repeat} rounds")
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        results: dict[str, tuple[float, float]] = {}
        dsrdump = shutil.which("dsrdump", path="/usr/bin") or shutil.which("dsrdump")
        if dsrdump:
            results["DCMTK dsrdump -Ee"] = median(lambda: run([dsrdump, "-Ee"], paths), args.repeat)
        results["pydicom floor (dcmread + touch all)"] = median(
            lambda: pydicom_floor(paths), args.repeat
        )
        for name in parsers:
            pure = {"SRKIT_PURE_PYTHON": "1" if name == "pure-python" else ""}
            results[f"srkit.read (library, {name})"] = median(
                lambda name=name: srkit_read(paths, name), args.repeat
            )
            results[f"srkit dump --format jsonl ({name})"] = median(
                lambda pure=pure: run([*srkit_cli, "dump", "--format", "jsonl"], paths, env | pure),
                args.repeat,
            )
            results[f"srkit dump, text tree ({name})"] = median(
                lambda pure=pure: run([*srkit_cli, "dump"], paths, env | pure), args.repeat
            )
        base = results.get("DCMTK dsrdump -Ee")
        print(
            f"{'reader':42s} {'wall s':>7s} {'cpu s':>7s} {'files/s':>8s} {'items/s':>9s}"
            f" {'x dsrdump wall':>14s} {'x dsrdump cpu':>13s}"
        )
        for name, (wall, cpu) in results.items():
            ratio_wall = f"{wall / base[0]:14.2f}" if base else f"{'-':>14s}"
            ratio_cpu = f"{cpu / base[1]:13.2f}" if base else f"{'-':>13s}"
            print(
                f"{name:42s} {wall:7.2f} {cpu:7.2f} {len(paths) / wall:8.0f} {items / wall:9.0f}"
                f" {ratio_wall} {ratio_cpu}"
            )
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        if base:
            jsonl = results.get("srkit dump --format jsonl (compiled)")
            if jsonl:
                met = "met" if jsonl[1] <= base[1] else "NOT met"
                print(f"target (jsonl, compiled, cpu <= 1.0x dsrdump): {met}")


if __name__ == "__main__":
    main()
