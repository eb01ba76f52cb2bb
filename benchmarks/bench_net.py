"""C-STORE ingest and C-FIND latency: srkit listen vs Orthanc vs DCMTK storescp.

Run: ``python3 benchmarks/bench_net.py [--count 2000] [--workers 1,auto]
[--rounds 3] [--corpus ct,mixed] [--floor]``.
Every server gets the same files from the same client, DCMTK ``storescu -R``: the
uniform corpus (``ct``: real CT images with fresh UIDs) and the mixed one (``mixed``:
every real file of ``../shared/data`` DCMTK can send, images, SEG, dose SRs, TID 1500
and other SRs, with fresh UIDs, :func:`corpus.make_corpus`), once over one association,
once over four parallel associations;
srkit once per ``--workers`` value (``srkit listen --workers N``), and with
``--baseline ../main/src`` also from another source tree (``srkit-base``: before and
after in one run), and with ``--floor`` also cut down to its floor
(``ingest_floor.py``: answering only, writing files only); ``--index deferred`` (or
``both``) runs srkit with its deferred index (``srkit listen --index deferred``, with
its default ``--indexers auto``, one indexer per core): its
rate counts until the last instance is indexed (the inbox is empty), not only until
storescu has its last answer, which is also printed; ``--mixed-repeat K`` sends
each real file K times. C-FIND latency: all studies at STUDY level, repeated over one association (pynetdicom SCU), srkit (first
``--workers`` value) vs Orthanc. Prints instances/s, milliseconds and ratios.

Every run's files stay until the end. On ext4, creating files where many were deleted
in the last five minutes costs many times more (the inode allocator steps over each
recently freed inode): start the benchmark at least five minutes after anything
deleted many files on the same file system (another run, the test suite).

On a virtual machine the rates also move by up to 2x from run to run with the state of
the guest's memory. ``perf record`` of both servers over 1,000 CT images shows where:
storescp spends 48% of its samples, and srkit's receiver 28% of all srkit samples, in
the kernel's ``copy_folio_from_iter_atomic``, the copy of written bytes into new page
cache pages (0.40 to 0.54 ms per 158 KiB image in those runs, against about 0.05 ms
into pages used before). A page the guest has not used lately costs a fault in the
hypervisor on first touch: this Firecracker guest reports its free pages to the host
(virtio-balloon free page reporting, in 8 MiB blocks: "Free page reporting enabled" in
``dmesg``), which takes them back. The rates were highest just after many files were
deleted (their pages free again, not yet reported), and which pages the kernel hands
out changes between runs. Both servers pay it: storescp as it writes, before it
answers; srkit where its spares' thread fills the next inbox files with zeros ahead (a
process serving one association, :meth:`srkit.db.inbox.Inbox.prepare`), else its
receiver as it writes the data set. A freed page is cold again once reported, so right
after a deletion pages are cheap and inodes dear, minutes later the reverse. Only ratios
within one run compare: use several rounds (``--rounds``, an even number: the servers
take turns within a round, in the reverse order every other round); each ratio is also
printed per round, with its median.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.peers
sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus

from tests.peers import (
    Orthanc,
    Storescp,
    free_port,
    fresh_copies,
    peer_env,
    wait_for_port,
)

from corpus import make_corpus

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STORESCU = "/usr/bin/storescu"


def storescu(port: int, aet: str, files: list[Path], parallel: int) -> float:
    """Seconds for DCMTK storescu to send ``files`` over ``parallel`` associations."""
    chunks = [files[k::parallel] for k in range(parallel)]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [STORESCU, "-R", "-aec", aet, "127.0.0.1", str(port), *map(str, chunk)],
            env=peer_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for chunk in chunks
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"storescu failed: {err.decode()[:300]}")
    return time.perf_counter() - start


def srkit_server(
    root: Path,
    workers: int | str = 1,
    src: str | None = None,
    floor: str | None = None,
    index: str = "immediate",
) -> tuple[subprocess.Popen[bytes], int]:
    """``srkit listen`` on a free port, once it answers a C-ECHO; ``src``: the source
    tree to run it from (another checkout's ``src``, for a before/after comparison);
    ``floor``: run it cut down (``answer`` or ``file``, see ``ingest_floor.py``)."""
    from srkit.net.dimse.client import echo
    from srkit.net.dimse.peers import Peer

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            *(
                [str(Path(__file__).resolve().parent / "ingest_floor.py")]
                if floor
                else ["-m", "srkit.cli.main"]
            ),
            "listen",
            "--port",
            str(port),
            "--aet",
            "SRKIT",
            "--db",
            str(root / "srkit.sqlite"),
            "--workers",
            str(workers),
            *(["--index", index] if index != "immediate" else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            **({"PYTHONPATH": src} if src else {}),
            **({"SRKIT_FLOOR": floor} if floor else {}),
        },
    )
    wait_for_port(port, timeout=60)
    deadline = time.monotonic() + 60
    while True:
        try:
            if echo(Peer("SRKIT", "127.0.0.1", port), calling_aet="BENCH", timeout=5.0) == 0:
                break
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)
    return proc, port


def find_latency(port: int, aet: str, repeat: int = 30) -> tuple[float, int]:
    """Median milliseconds of a STUDY-level C-FIND for all studies; number of matches."""
    from pydicom import Dataset
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import (  # type: ignore[attr-defined]
        StudyRootQueryRetrieveInformationModelFind as FIND,
    )

    ae = AE(ae_title="BENCH")
    ae.add_requested_context(FIND)
    from srkit.net.dimse.tuning import tune_association

    assoc = ae.associate(
        "127.0.0.1", port, ae_title=aet, evt_handlers=[(evt.EVT_CONN_OPEN, tune_association)]
    )
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    for keyword in (
        "StudyInstanceUID",
        "PatientName",
        "PatientID",
        "StudyDate",
        "NumberOfStudyRelatedInstances",
    ):
        setattr(query, keyword, "")
    times, matches = [], 0
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            matches = sum(
                1
                for status, ds in assoc.send_c_find(query, FIND)
                if status and status.Status in (0xFF00, 0xFF01)
            )
            times.append(time.perf_counter() - start)
    finally:
        assoc.release()
    return statistics.median(times) * 1000, matches


def inbox_drained(folder: Path, timeout: float = 600.0) -> None:
    """Wait until the deferred index of the srkit listener in ``folder`` has indexed
    everything it acknowledged (its inbox holds no file: the indexer commits an
    instance before removing its inbox file)."""
    inbox = folder / "srkit-storage" / ".inbox"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not any(e.name.endswith(".dcm") for e in os.scandir(inbox)):
                return
        except FileNotFoundError:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{inbox}: not drained after {timeout:.0f} s")
        time.sleep(0.002)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its living
    descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    return sum(used.get(p, 0.0) for p in tree)


def cpu_times() -> tuple[int, int]:
    """(all, steal) clock ticks of the machine's CPUs so far (Linux ``/proc/stat``):
    steal is the time the hypervisor gave this virtual machine's CPUs to others."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def _pid(server: object) -> int:
    proc = server if isinstance(server, subprocess.Popen) else server.proc  # type: ignore[attr-defined]
    return int(proc.pid)


def ingest_once(
    start: Callable[[Path], tuple[object, int, str]],
    files: list[Path],
    folder: Path,
    parallel: int,
    drain: Callable[[Path], None] | None = None,
) -> tuple[float, float, float, float]:
    """One run into a fresh server and storage folder: instances per second until
    done, instances per second until storescu had its last answer, and the CPU
    milliseconds per instance of the server (all its processes) and of storescu.
    With ``drain``, done is when ``drain(folder)`` returns (the deferred index has
    caught up)."""
    folder.mkdir()
    os.sync()  # the previous runs' files on disk: no run pays for another's writeback
    server, port, aet = start(folder)
    try:
        cpu = tree_cpu(_pid(server))
        client = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        seconds = storescu(port, aet, files, parallel)
        if drain is not None:
            drain(folder)
        elapsed = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_ms = (tree_cpu(_pid(server)) - cpu) * 1000 / len(files)
        client_ms = (
            (after.ru_utime + after.ru_stime - client.ru_utime - client.ru_stime)
            * 1000
            / len(files)
        )
        return len(files) / elapsed, len(files) / seconds, server_ms, client_ms
    finally:
        stop(server)


def stop(server: object) -> None:
    if isinstance(server, subprocess.Popen):
        server.terminate()
        server.wait(30)
    else:
        server.stop()  # type: ignore[attr-defined]


def sendable() -> list[Path]:
    """The real files of ../shared/data DCMTK storescu can send: DCMTK parses them
    (``dcmdump`` succeeds) and knows their SOP class (not Label Map Segmentation)."""
    out = []
    for path in sorted(DATA.rglob("*.dcm")):
        probe = subprocess.run(
            ["dcmdump", "-q", "+P", "0008,0016", str(path)],
            capture_output=True,
            text=True,
            env=peer_env(),
        )
        if probe.returncode == 0 and "1.2.840.10008.5.1.4.1.1.66.7" not in probe.stdout:
            out.append(path)
    return out


def ingest_table(
    files: list[Path],
    root: Path,
    chosen: list[str],
    workers: list[str],
    rounds: int,
    baseline: str | None = None,
    floor: bool = False,
    index: str = "immediate",
) -> None:
    """C-STORE rates of every chosen server on ``files``, and srkit's ratios."""
    root.mkdir()

    def dcmtk(folder: Path) -> tuple[object, int, str]:
        server = Storescp(folder).start()
        return server, server.port, server.aet

    def orthanc(folder: Path) -> tuple[object, int, str]:
        server = Orthanc(folder, dicomweb=False).start()
        return server, server.dicom_port, server.aet

    def srkit(
        n: str, src: str | None = None, cut: str | None = None, mode: str = "immediate"
    ) -> Callable[[Path], tuple[object, int, str]]:
        def start(folder: Path) -> tuple[object, int, str]:
            proc, port = srkit_server(folder, n, src, cut, mode)
            return proc, port, "SRKIT"

        return start

    Starter = Callable[[Path], tuple[object, int, str]]
    starters: list[tuple[str, Starter]] = [("storescp", dcmtk), ("orthanc", orthanc)]
    if baseline:  # the other source tree, in the index mode(s) of this run
        if index in ("immediate", "both"):
            starters += [(f"srkit-base-w{n}", srkit(n, baseline)) for n in workers]
        if index in ("deferred", "both"):
            starters += [
                (f"srkit-base-deferred-w{n}", srkit(n, baseline, mode="deferred")) for n in workers
            ]
    if index in ("immediate", "both"):
        starters += [(f"srkit-w{n}", srkit(n)) for n in workers]
    if index in ("deferred", "both"):
        starters += [(f"srkit-deferred-w{n}", srkit(n, mode="deferred")) for n in workers]
    if floor:  # the listener cut down: answer only, or write the file only
        starters += [(f"srkit-floor-{cut}", srkit("1", None, cut)) for cut in ("answer", "file")]
    active = [(n, st) for n, st in starters if n.split("-")[0] in chosen]
    done: dict[str, dict[int, list[float]]] = {n: {1: [], 4: []} for n, _ in active}
    answered: dict[str, dict[int, list[float]]] = {n: {1: [], 4: []} for n, _ in active}
    cpu: dict[str, dict[int, list[tuple[float, float]]]] = {n: {1: [], 4: []} for n, _ in active}
    # the servers take turns within each round, so that a change in the machine's
    # speed falls on all of them (not on whichever ran during it), in the reverse order
    # every other round: whichever runs after another pays for what the other left
    # (its page cache, grown into pages the host took back), 0.88x for srkit run
    # right after the same srkit code, in that order in every round
    ticks, stolen = cpu_times()
    for round_ in range(rounds):
        for parallel in (1, 4):
            for name, start in active if round_ % 2 == 0 else active[::-1]:
                folder = root / (f"{name}-{parallel}" + (f"-{round_}" if round_ else ""))
                drain = inbox_drained if "-deferred-" in name else None
                rate, sent, server_ms, client_ms = ingest_once(
                    start, files, folder, parallel, drain
                )
                done[name][parallel].append(rate)
                answered[name][parallel].append(sent)
                cpu[name][parallel].append((server_ms, client_ms))
                # no run's files are deleted before the last run: on ext4, creating a
                # file where many were deleted in the last minutes costs up to 20
                # times more (the allocator steps over each recently freed inode,
                # recently_deleted in fs/ext4/ialloc.c), and that would fall on
                # whichever server runs next
    ticks, stolen = (b - a for a, b in zip((ticks, stolen), cpu_times(), strict=True))
    if ticks:
        print(f"CPU time stolen by the hypervisor during these runs: {100 * stolen / ticks:.0f}%")
    results: dict[str, dict[int, float]] = {}
    for name, _start in active:
        results[name] = {p: statistics.median(done[name][p]) for p in (1, 4)}
        sent = {p: statistics.median(answered[name][p]) for p in (1, 4)}
        print(
            f"C-STORE {name:9s}: 1 association {results[name][1]:6.0f}/s "
            f"({len(files) / results[name][1]:5.2f} s), "
            f"4 associations {results[name][4]:6.0f}/s"
            + (
                f" (until indexed; answered at {sent[1]:.0f}/s and {sent[4]:.0f}/s)"
                if "-deferred-" in name
                else ""
            ),
            flush=True,
        )
        mine = [statistics.median(c[0] for c in cpu[name][p]) for p in (1, 4)]
        theirs = [statistics.median(c[1] for c in cpu[name][p]) for p in (1, 4)]
        print(
            f"  CPU ms per instance: server {mine[0]:.2f} / {mine[1]:.2f}, "
            f"storescu {theirs[0]:.2f} / {theirs[1]:.2f} (1 / 4 associations)"
        )
    for name in results:
        peers = ["orthanc", "storescp"]
        if name.startswith("srkit-w"):  # after / before (--baseline)
            peers.append(name.replace("srkit-", "srkit-base-"))
        if name.startswith("srkit-deferred-"):  # deferred / immediate, after / before
            peers.append(name.replace("srkit-deferred-", "srkit-"))
            peers.append(name.replace("srkit-", "srkit-base-"))
        for peer in peers:
            if name.startswith("srkit") and peer in results:
                print(
                    f"ratio {name}/{peer}: "
                    + ", ".join(
                        f"{results[name][n] / results[peer][n]:.2f} ({n} assoc.)" for n in (1, 4)
                    )
                )
                if rounds > 1:  # the two ran in turn within each round: a pair per round
                    for n in (1, 4):
                        paired = [a / b for a, b in zip(done[name][n], done[peer][n], strict=True)]
                        print(
                            f"  per round, {n} assoc.: "
                            + " ".join(f"{ratio:.2f}" for ratio in paired)
                            + f" (median {statistics.median(paired):.2f},"
                            f" {sum(ratio < 1 for ratio in paired)} below 1)"
                        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--servers",
        default="storescp,orthanc,srkit",
        help="comma-separated subset of storescp,orthanc,srkit",
    )
    parser.add_argument(
        "--workers",
        default="1,auto",
        help="comma-separated srkit listen --workers values (1, 2, auto)",
    )
    parser.add_argument("--no-find", action="store_true", help="skip the C-FIND latency")
    parser.add_argument("--corpus", default="ct", help="comma-separated subset of ct,mixed")
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs per server and case; the median is kept"
    )
    parser.add_argument(
        "--mixed-repeat",
        type=int,
        default=1,
        help="copies of each real file in the mixed corpus (each with fresh UIDs)",
    )
    parser.add_argument(
        "--baseline",
        metavar="SRC",
        help="also run srkit from this source tree (e.g. ../main/src) as srkit-base",
    )
    parser.add_argument(
        "--index",
        choices=["immediate", "deferred", "both"],
        default="both",
        help="srkit listen --index mode(s) to run",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run srkit cut down (ingest_floor.py): answering only, writing files only",
    )
    args = parser.parse_args()
    chosen = [s.strip() for s in args.servers.split(",")]
    workers = [w.strip() for w in args.workers.split(",")]
    sources = sorted((DATA / "ct").rglob("*.dcm"))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-net-") as tmp:
        root = Path(tmp)
        files = fresh_copies(sources, args.count, root / "files", per_series=50, per_study=1)
        corpora = {"ct": files}
        if "mixed" in args.corpus:
            real = sendable()
            count = len(real) * max(1, args.mixed_repeat)
            corpora["mixed"] = make_corpus(root / "mixed-files", count, real)
        for corpus_name in args.corpus.split(","):
            cfiles = corpora[corpus_name.strip()]
            size = sum(p.stat().st_size for p in cfiles) / len(cfiles) / 1024
            print(f"{corpus_name}: {len(cfiles)} files, {size:.0f} KiB on average")
            ingest_table(
                cfiles,
                root / corpus_name,
                chosen,
                workers,
                args.rounds,
                args.baseline,
                args.floor,
                args.index,
            )
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.no_find or "srkit" not in chosen or "ct" not in args.corpus:
            return
        # C-FIND over the same data: both servers hold every file
        o_server = Orthanc(root / "find-orthanc", dicomweb=False).start()
        kind = "srkit-deferred" if args.index == "deferred" else "srkit"
        s_proc, s_port = srkit_server(root / "ct" / f"{kind}-w{workers[0]}-1", workers[0])
        try:
            storescu(o_server.dicom_port, o_server.aet, files, 4)
            o_ms, o_n = find_latency(o_server.dicom_port, o_server.aet)
            s_ms, s_n = find_latency(s_port, "SRKIT")
        finally:
            stop(o_server)
            stop(s_proc)
        print(
            f"C-FIND all studies: srkit {s_ms:.1f} ms ({s_n} studies), "
            f"orthanc {o_ms:.1f} ms ({o_n} studies), ratio {s_ms / o_ms:.2f}"
        )


if __name__ == "__main__":
    main()
