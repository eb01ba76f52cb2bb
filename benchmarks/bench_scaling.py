"""Linear costs: read time per content item, query latency and import rate as sizes grow.

Run: ``PYTHONPATH=src python3 benchmarks/bench_scaling.py [--parts read,query,import]
[--items 100,1000,10000,100000] [--studies 1000,10000,100000] [--rounds 3]
[--plot scaling.png]``.

- read: an RDSR (TID 10011) whose CT Acquisition containers are those of a real vendor
  file (``rdsr/``) repeated, and a TID 1500 report whose measurement groups are those of
  a real file (``sr-tid1500/``) repeated, each at about every ``--items`` size; the
  median time of ``srkit.read`` and of one ``srkit dump --format jsonl`` process, per
  content item (``srkit.read``: this process's CPU time; the dump: wall time, start-up
  included, so only its large sizes speak of the cost per item).
- query: archives of ``--studies`` studies (one series, one instance each), built
  directly with SQLAlchemy Core inserts into the schema of :mod:`srkit.db.schema`
  (patient, study, series, instance rows as the writer fills them; the instance paths
  name no file): filler studies never match, and ten probe studies match each usual key
  (Patient ID, Patient's Name ``Smith*``, a Study Date range, Accession Number,
  ModalitiesInStudy), so every archive size returns the same answers. Median latency
  through :meth:`srkit.db.Database.query`, through ``srkit listen`` (C-FIND with the
  project's client, one association per query) and through ``srkit serve`` (QIDO-RS
  with httpx).
- import: batches of real CT files with fresh UIDs imported into archives of 0, 10k,
  100k instances (``Database.import_paths``), instances per second per batch.

Prints tables (medians of ``--rounds``) with the ratio of each size to the smallest and
the load average; writes a log-log plot (matplotlib) to ``--plot``.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.peers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import DATA, make_corpus

RDSR = DATA / "rdsr" / "openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
TID1500 = DATA / "sr-tid1500" / "highdicom_sr_document_with_multiple_groups.dcm"
CT = DATA / "ct"
PROBES = 10
"""Probe studies per archive: each usual key matches all or one of them, never a filler."""
QUERIES: dict[str, dict[str, str]] = {
    "PatientID": {"PatientID": "PROBE3"},
    "PatientName Smith*": {"PatientName": "Smith*"},
    "StudyDate range": {"StudyDate": "20310101-20310131"},
    "AccessionNumber": {"AccessionNumber": "ACCPROBE3"},
    "ModalitiesInStudy": {"ModalitiesInStudy": "PT"},
}
EXPECTED = {
    "PatientID": 1,
    "PatientName Smith*": PROBES,
    "StudyDate range": PROBES,
    "AccessionNumber": 1,
    "ModalitiesInStudy": PROBES,
}


def median_time(
    fn: Callable[[], Any], rounds: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    times = []
    for _ in range(rounds):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- read ---------------------------------------------------------------------------


def _count(items: Any) -> int:
    return sum(1 + _count(getattr(i, "ContentSequence", [])) for i in items)


def _concept(item: Any) -> str:
    seq = getattr(item, "ConceptNameCodeSequence", None)
    return str(seq[0].CodeValue) if seq else ""


def _grow(path: Path, holder_path: list[str], unit: str, target: int, out: Path) -> int:
    """``path`` with the children coded ``unit`` under the container reached through
    ``holder_path`` (concept codes) repeated until the document has about ``target``
    content items; returns the item count."""
    import pydicom

    ds = pydicom.dcmread(path)
    holder = ds
    for code in holder_path:
        holder = next(i for i in holder.ContentSequence if _concept(i) == code)
    units = [i for i in holder.ContentSequence if _concept(i) == unit]
    others = [i for i in holder.ContentSequence if _concept(i) != unit]
    base = 1 + _count(ds.ContentSequence) - _count(units)
    size = _count(units) / len(units)
    wanted = max(1, round((target - base) / size))
    grown = [copy.deepcopy(units[n % len(units)]) for n in range(wanted)]
    holder.ContentSequence = pydicom.Sequence(others + grown)
    ds.save_as(out)
    return 1 + _count(ds.ContentSequence)


def bench_read(sizes: list[int], rounds: int, tmp: Path) -> list[tuple[str, int, float, float]]:
    import srkit

    kinds = {
        "RDSR (TID 10011)": (RDSR, [], "113819"),  # CT Acquisition
        "TID 1500": (TID1500, ["126010"], "125007"),  # Measurement Group
    }
    rows = []
    for kind, (source, holder, unit) in kinds.items():
        for target in sizes:
            out = tmp / f"{unit}-{target}.dcm"
            items = _grow(source, holder, unit, target, out)
            doc = srkit.read(out)
            assert sum(1 for _ in doc.walk()) == items, (kind, items)
            # CPU time of this process: the machine is shared, wall time is noise here
            t_read = median_time(lambda out=out: srkit.read(out), rounds, time.process_time)
            cmd = [sys.executable, "-m", "srkit.cli.main", "dump", "--format", "jsonl", str(out)]
            t_dump = median_time(
                lambda cmd=cmd: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL),
                rounds,
            )
            rows.append((kind, items, t_read, t_dump))
            print(
                f"  {kind:18s} {items:>7d} items  read {t_read * 1e3:9.1f} ms "
                f"({t_read / items * 1e6:6.1f} us/item)  dump {t_dump * 1e3:9.1f} ms "
                f"({t_dump / items * 1e6:7.1f} us/item)",
                flush=True,
            )
    return rows


# -- archives -----------------------------------------------------------------------

SURNAMES = ["Jones", "Brown", "Smyth", "Taylor", "Wilson", "Evans", "Thomas", "Roberts"]
MODALITIES = ["CT", "MR", "US", "CR", "SR"]


def build_archive(url: str, studies: int) -> None:
    """``studies`` studies (patient, study, series, instance rows) by Core bulk inserts."""
    import random

    from sqlalchemy import insert

    from srkit.db import Database
    from srkit.db import schema as S

    Database(url).close()  # the schema at the newest migration
    from srkit.db.engine import make_engines, resolve_url

    _reader, writer = make_engines(resolve_url(url))
    rnd = random.Random(studies)
    chunk = 20_000
    root = "1.2.826.0.1.3680043.8.498.77"
    with writer.begin() as conn:
        for start in range(0, studies, chunk):
            patients, study_rows, series_rows, instances = [], [], [], []
            for n in range(start, min(studies, start + chunk)):
                pk = n + 1
                probe = n < PROBES
                pid = f"PROBE{n}" if probe else f"PID{n:07d}"
                name = (
                    f"Smith^Probe{n}"
                    if probe
                    else f"{rnd.choice(SURNAMES)}^{rnd.choice('ABCDEFGH')}{n}"
                )
                date = (
                    f"203101{n + 1:02d}"
                    if probe
                    else f"{rnd.randint(1990, 2025)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
                )
                patient = {
                    "pk": pk,
                    "patient_key": pid,
                    "patient_id": pid,
                    "patient_name": name,
                    "patient_birth_date": "19600101",
                    "patient_sex": "O",
                }
                patients.append(patient)
                study_rows.append(
                    {
                        "pk": pk,
                        "patient_pk": pk,
                        "study_instance_uid": f"{root}.{n}",
                        **{k: v for k, v in patient.items() if k not in ("pk", "patient_key")},
                        "study_date": date,
                        "study_time": "120000",
                        "accession_number": f"ACCPROBE{n}" if probe else f"ACC{n:07d}",
                        "study_id": str(n),
                        "study_description": "bench",
                    }
                )
                series_rows.append(
                    {
                        "pk": pk,
                        "study_pk": pk,
                        "series_instance_uid": f"{root}.{n}.1",
                        "modality": "PT" if probe else rnd.choice(MODALITIES),
                        "series_number": 1,
                    }
                )
                instances.append(
                    {
                        "pk": pk,
                        "series_pk": pk,
                        "sop_instance_uid": f"{root}.{n}.1.1",
                        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
                        "instance_number": 1,
                        "path": f"/nonexistent/bench/{n}.dcm",
                        "copied": False,
                        "size": 1000,
                        "content_hash": f"{n:064x}",
                        "imported_at": "2026-12-02T00:00:00+00:00",
                    }
                )
            conn.execute(insert(S.patient), patients)
            conn.execute(insert(S.study), study_rows)
            conn.execute(insert(S.series), series_rows)
            conn.execute(insert(S.instance), instances)
    if writer.dialect.name == "sqlite":
        with writer.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    writer.dispose()


def archive(cache: Path, studies: int) -> Path:
    """The SQLite file of an archive of ``studies`` studies (built once, then reused)."""
    path = cache / f"archive-{studies}.sqlite"
    if not path.exists():
        start = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build_archive(str(partial), studies)
        partial.rename(path)
        print(f"  built {studies} studies in {time.perf_counter() - start:.1f} s", flush=True)
    return path


# -- query --------------------------------------------------------------------------


def _server(args: list[str], port: int) -> subprocess.Popen[bytes]:
    from tests.peers import wait_for_port

    proc = subprocess.Popen(
        [sys.executable, "-m", "srkit.cli.main", *args, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=60)
    return proc


def bench_query(
    ladder: list[int], rounds: int, cache: Path, tmp: Path
) -> list[tuple[str, str, int, float]]:
    import httpx
    from tests.peers import free_port

    from srkit.db import Database
    from srkit.net.dimse import client
    from srkit.net.dimse.peers import Peer

    rows = []
    for studies in ladder:
        db_path = tmp / f"q-{studies}.sqlite"
        shutil.copy(archive(cache, studies), db_path)
        with Database(db_path) as db:
            for key, filters in QUERIES.items():
                got = db.query("STUDY", filters)
                assert len(got) == EXPECTED[key], (key, len(got))
                t = median_time(lambda f=filters: db.query("STUDY", f), max(rounds, 21))
                rows.append(("db.query", key, studies, t))
        port = free_port()
        listen = _server(["listen", "--aet", "SRKIT", "--db", str(db_path)], port)
        try:
            peer = Peer("SRKIT", "127.0.0.1", port)
            for key, filters in QUERIES.items():
                fields = ["PatientName", "PatientID", "StudyDate", "AccessionNumber"]
                got = client.find(peer, "STUDY", filters, fields=fields)
                assert len(got) == EXPECTED[key], (key, len(got))
                t = median_time(
                    lambda f=filters, fs=fields, p=peer: client.find(p, "STUDY", f, fields=fs),
                    max(rounds, 5),
                )
                rows.append(("C-FIND", key, studies, t))
        finally:
            listen.terminate()
            listen.wait()
        port = free_port()
        serve = _server(["serve", "--db", str(db_path)], port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/dicomweb", timeout=60) as http:
                for key, filters in QUERIES.items():
                    params = {**filters, "limit": "100"}
                    answer = http.get("/studies", params=params)
                    answer.raise_for_status()
                    assert len(answer.json()) == EXPECTED[key], (key, answer.text[:200])
                    t = median_time(
                        lambda p=params: http.get("/studies", params=p).raise_for_status(),
                        max(rounds, 5),
                    )
                    rows.append(("QIDO-RS", key, studies, t))
        finally:
            serve.terminate()
            serve.wait()
        for via, key, size, t in rows:
            if size == studies:
                print(f"  {studies:>7d} studies  {via:8s} {key:20s} {t * 1e3:8.2f} ms", flush=True)
    return rows


# -- import -------------------------------------------------------------------------


def bench_import(
    ladder: list[int], batch: int, rounds: int, cache: Path, tmp: Path
) -> list[tuple[int, float]]:
    from srkit.db import Database

    sources = sorted(CT.rglob("*.dcm"))
    rows = []
    for size in ladder:
        rates = []
        for r in range(rounds):
            db_path = tmp / f"i-{size}-{r}.sqlite"
            if size:
                shutil.copy(archive(cache, size), db_path)
            files = make_corpus(tmp / f"batch-{size}-{r}", batch, sources)
            with Database(db_path, storage=tmp / f"st-{size}-{r}") as db:
                start = time.perf_counter()
                report = db.import_paths([tmp / f"batch-{size}-{r}"], workers=1)
                elapsed = time.perf_counter() - start
                assert report.imported == len(files), report
            rates.append(batch / elapsed)
            db_path.unlink()
        rate = statistics.median(rates)
        rows.append((size, rate))
        print(f"  into {size:>7d} instances: {rate:7.1f} instances/s", flush=True)
    return rows


# -- report -------------------------------------------------------------------------


def plot(read_rows: list, query_rows: list, import_rows: list, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in (read_rows, query_rows, import_rows) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    ax_iter = iter(axes[0])
    if read_rows:
        ax = next(ax_iter)
        for kind in dict.fromkeys(r[0] for r in read_rows):
            pts = [r for r in read_rows if r[0] == kind]
            ax.loglog(
                [p[1] for p in pts], [p[2] / p[1] * 1e6 for p in pts], "o-", label=f"{kind} read"
            )
            ax.loglog(
                [p[1] for p in pts], [p[3] / p[1] * 1e6 for p in pts], "s--", label=f"{kind} dump"
            )
        ax.set(xlabel="content items", ylabel="microseconds per item", title="Reading")
        ax.legend(fontsize=7)
    if query_rows:
        ax = next(ax_iter)
        for via, key in dict.fromkeys((r[0], r[1]) for r in query_rows):
            pts = [r for r in query_rows if (r[0], r[1]) == (via, key)]
            ax.loglog([p[2] for p in pts], [p[3] * 1e3 for p in pts], "o-", label=f"{via} {key}")
        ax.set(xlabel="studies in the archive", ylabel="latency (ms)", title="Query latency")
        ax.legend(fontsize=6)
    if import_rows:
        ax = next(ax_iter)
        xs = [max(r[0], 1) for r in import_rows]
        ax.loglog(xs, [r[1] for r in import_rows], "o-")
        ax.set(xlabel="instances already in the database (0 drawn at 1)", ylabel="instances/s")
        ax.set_title("Import rate")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"plot: {out}")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="read,query,import")
    parser.add_argument("--items", type=_ints, default=[100, 1000, 10000, 100000])
    parser.add_argument("--studies", type=_ints, default=[1000, 10000, 100000])
    parser.add_argument("--import-sizes", type=_ints, default=[0, 10000, 100000])
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "srkit-bench-scaling"
    )
    parser.add_argument("--plot", type=Path, default=Path("scaling.png"))
    args = parser.parse_args()
    parts = args.parts.split(",")
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {load()}")
    read_rows: list = []
    query_rows: list = []
    import_rows: list = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if "read" in parts:
            print("reading (median of rounds):")
            read_rows = bench_read(args.items, args.rounds, tmp)
        if "query" in parts:
            print("query latency (median of >= 5 rounds, db.query >= 21):")
            query_rows = bench_query(args.studies, args.rounds, args.cache, tmp)
        if "import" in parts:
            print(f"import of {args.batch} CT files (median of rounds):")
            import_rows = bench_import(args.import_sizes, args.batch, args.rounds, args.cache, tmp)
    print(f"load average after: {load()}")
    if read_rows:
        print("\nread: us per item, ratio to the smallest size")
        for kind in dict.fromkeys(r[0] for r in read_rows):
            pts = [r for r in read_rows if r[0] == kind]
            base_r, base_d = pts[0][2] / pts[0][1], pts[-1][3] / pts[-1][1]
            for _k, items, t_read, t_dump in pts:
                print(
                    f"  {kind:18s} {items:>7d}  read {t_read / items * 1e6:7.1f} us "
                    f"(x{t_read / items / base_r:4.2f})  dump {t_dump / items * 1e6:8.1f} us "
                    f"(x{t_dump / items / base_d:5.2f} of the largest's)"
                )
    if query_rows:
        print("\nquery latency: ms, ratio to the smallest archive")
        smallest = min(r[2] for r in query_rows)
        for via, key in dict.fromkeys((r[0], r[1]) for r in query_rows):
            pts = {r[2]: r[3] for r in query_rows if (r[0], r[1]) == (via, key)}
            cells = "  ".join(
                f"{n:>6d}: {t * 1e3:7.2f} (x{t / pts[smallest]:4.2f})"
                for n, t in sorted(pts.items())
            )
            print(f"  {via:8s} {key:20s} {cells}")
    if import_rows:
        print("\nimport rate: instances/s, ratio to the empty database")
        for size, rate in import_rows:
            print(f"  {size:>7d}: {rate:7.1f} (x{rate / import_rows[0][1]:4.2f})")
    plot(read_rows, query_rows, import_rows, args.plot)


if __name__ == "__main__":
    main()
