"""Benchmark preview rendering (srkit.load.preview) against DCMTK's ``dcmj2pnm``.

Renders the three 512x512 slices of the shared CT (``../shared/data/ct/dcmqi_ct-3slice``),
each ``--repeat`` times, to PNG in the file's first VOI window:

- srkit: ``render_frame(path)`` in one process (read, window, PNG encode), then the same
  with the liver SEG painted over it (``seg=``), then as a 160 px thumbnail;
- dcmj2pnm: ``dcmj2pnm --write-png --use-window 1`` once per image (a process per image,
  as a server that shells out to it would run it; its start-up is included).

Prints milliseconds per image and the ratio. ``python benchmarks/bench_preview.py [--repeat 10]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def _time(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    import pydicom

    from srkit.load.preview import render_frame

    files = sorted((DATA / "ct" / "dcmqi_ct-3slice").glob("*.dcm"))
    seg = pydicom.dcmread(DATA / "seg" / "dcmqi_liver_seg.dcm")
    n = args.repeat * len(files)
    it = iter([f for _ in range(args.repeat) for f in files] * 3)
    plain = _time(lambda: render_frame(next(it)), n)
    overlay = _time(lambda: render_frame(next(it), seg=seg), n)
    thumb = _time(lambda: render_frame(next(it), size=160), n)
    print(f"srkit render_frame PNG 512x512:   {plain:7.1f} ms/image")
    print(f"srkit with the SEG overlay:        {overlay:7.1f} ms/image")
    print(f"srkit 160 px thumbnail:            {thumb:7.1f} ms/image")
    tool = shutil.which("dcmj2pnm")
    if tool is None:
        print("dcmj2pnm not found (apt-get install dcmtk): no comparison")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.png"
        it2 = iter([f for _ in range(args.repeat) for f in files])

        def dcmtk() -> None:
            cmd = [tool, "--write-png", "--use-window", "1", str(next(it2)), str(out)]
            subprocess.run(cmd, check=True, capture_output=True)

        peer = _time(dcmtk, n)
    print(f"dcmj2pnm --write-png (a process):  {peer:7.1f} ms/image")
    print(f"ratio dcmj2pnm / srkit: {peer / plain:.2f} (above 1: srkit is faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
