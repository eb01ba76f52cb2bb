"""Start-up: ``srkit --help`` and ``srkit dump`` of one small file against
``python -c pass`` and DCMTK ``dsrdump`` (issue 17: targets 100 ms and 150 ms).

Each command runs ``--runs`` times, the commands taking turns so that a change in the
machine's load falls on all of them; the median and the fastest run are reported, in
milliseconds, with the median CPU time (user + system, less disturbed by other loads on a
shared machine) and what srkit adds to a bare interpreter. srkit runs as this checkout's
code (``python -m srkit.cli.main``, the srkit this process imports), once with the
compiled parser and once with the pure-Python one. Both commands are answered without
click (``srkit.cli.shortcut``), as the console script answers them.

Bytecode: an installed srkit has its modules byte-compiled (pip compiles them), but
this checkout may have none, and ``PYTHONDONTWRITEBYTECODE`` (set on some machines)
stops Python from caching them, so every run would compile srkit's sources again. The
commands run with ``PYTHONPYCACHEPREFIX`` set to a temporary folder and bytecode
writing on: the warm-up run writes the bytecode, as an install does.

    python benchmarks/bench_start.py [--runs 20] [--file PATH]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA

SMALL = DATA / "sr-other" / "pydicom_test-SR.dcm"
TARGETS = {"srkit --help": 100.0, "srkit dump FILE": 150.0}


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one run."""
    start, cpu = time.perf_counter(), _cpu_children()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return (time.perf_counter() - start) * 1000, (_cpu_children() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--file", type=Path, default=SMALL)
    args = parser.parse_args()
    import srkit
    from srkit.codec import fastparse

    root = str(Path(srkit.__file__).resolve().parents[1])
    cache = tempfile.mkdtemp(prefix="srkit-bench-start-pyc-")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=root, SRKIT_PURE_PYTHON="", PYTHONPYCACHEPREFIX=cache)
    pure = {**env, "SRKIT_PURE_PYTHON": "1"}
    srkit_cmd = [sys.executable, "-m", "srkit.cli.main"]
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], env),
        "srkit --help": ([*srkit_cmd, "--help"], env),
        "srkit dump FILE": ([*srkit_cmd, "dump", str(args.file)], env),
        "srkit dump FILE (pure-python)": ([*srkit_cmd, "dump", str(args.file)], pure),
        "srkit dump --format jsonl FILE": (
            [*srkit_cmd, "dump", "--format", "jsonl", str(args.file)],
            env,
        ),
    }
    dsrdump = shutil.which("dsrdump", path="/usr/bin") or shutil.which("dsrdump")
    if dsrdump:
        commands["DCMTK dsrdump FILE"] = ([dsrdump, str(args.file)], env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for cmd, cmd_env in commands.values():
        _once(cmd, cmd_env)  # warm the file cache, write the bytecode
    for _ in range(args.runs):
        for name, (cmd, cmd_env) in commands.items():
            times[name].append(_once(cmd, cmd_env))
    print(
        f"file: {args.file.name} ({args.file.stat().st_size} bytes); parsers here: "
        f"{', '.join(fastparse.implementations())}; {args.runs} runs each"
    )
    bare = statistics.median(t[0] for t in times["python -c pass"])
    print(
        f"{'command':34s} {'median ms':>9s} {'min ms':>7s} {'cpu ms':>7s} {'- python':>9s}"
        f" {'target':>7s}"
    )
    for name, values in times.items():
        mid = statistics.median(t[0] for t in values)
        cpu = statistics.median(t[1] for t in values)
        target = next((f"{v:.0f}" for k, v in TARGETS.items() if name == k), "")
        verdict = "" if not target else (" ok" if mid <= float(target) else " over")
        print(
            f"{name:34s} {mid:9.1f} {min(t[0] for t in values):7.1f} {cpu:7.1f}"
            f" {mid - bare:9.1f} {target:>7s}{verdict}"
        )
    print("wall: median and fastest run; cpu: median user + system time of the process")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
