"""The import loop: collect files, skip unchanged ones, parse in worker processes,
write batches. Each batch is one transaction, so a killed import leaves whole
batches only; the next import skips what is indexed and completes the rest.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.db.batch import ImportReport, known_files
from srkit.db.ingest import expand_paths, parse_file
from srkit.db.staging import clean_stale
from srkit.errors import SrkitError

if TYPE_CHECKING:
    from srkit.db.database import Database

__all__ = ["run_import"]

BATCH = 250
"""Records per transaction during an import."""

POOL_MIN_FILES = 48
"""Below this many files parsing stays in the calling process (a pool costs more)."""


def _unchanged(db: Database, files: list[str]) -> tuple[list[str], int]:
    """Files to parse, and how many are indexed already with the same size and mtime."""
    todo: list[str] = []
    skipped = 0
    with db._reader.connect() as conn:
        known = known_files(conn, files)  # queried in chunks
    for path in files:
        facts = known.get(path)
        if facts is not None:
            try:
                st = os.stat(path)
            except OSError:
                todo.append(path)
                continue
            if (st.st_size, st.st_mtime_ns) == facts:
                skipped += 1
                continue
        todo.append(path)
    return todo, skipped


def _parsed(
    files: list[str], copy_root: str | None, workers: int, stack: ExitStack
) -> Iterator[dict[str, Any]]:
    """Records in file order, parsed by a process pool when it pays."""
    parse = partial(parse_file, copy_root=copy_root)
    if workers <= 1 or len(files) < POOL_MIN_FILES:
        yield from map(parse, files)
        return
    # fork is fast; a process with threads (a server) forks a clean server instead
    method = "fork" if threading.active_count() == 1 and sys.platform != "win32" else "spawn"
    pool = stack.enter_context(
        ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))
    )
    chunksize = max(1, min(32, len(files) // (workers * 8)))
    yield from pool.map(parse, files, chunksize=chunksize)


def _progress(progress: bool | Callable[[int, int], None], total: int, stack: ExitStack) -> Any:
    if callable(progress):
        return progress
    if not progress or not sys.stderr.isatty() or total < 2:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = stack.enter_context(
        Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
    )
    task = bar.add_task("import", total=total)
    return lambda done, _total: bar.update(task, completed=done)


def run_import(
    db: Database,
    paths: Iterable[str | os.PathLike[str]],
    *,
    copy: bool,
    workers: int | None,
    on_error: str,
    progress: bool | Callable[[int, int], None],
) -> ImportReport:
    """See :meth:`srkit.db.database.Database.import_paths`."""
    report = ImportReport()
    files, missing = expand_paths(paths)
    for path, reason in missing:
        _reject(report, path, reason, on_error)
    todo, report.skipped = _unchanged(db, files)
    copy_root = None
    if copy:
        clean_stale(db.storage)  # only files no live process holds
        db.storage.mkdir(parents=True, exist_ok=True)
        copy_root = str(db.storage)
    count = workers if workers is not None else (os.cpu_count() or 1)
    with ExitStack() as stack:
        tick = _progress(progress, len(files), stack)
        done = report.skipped + len(missing)
        batch: list[dict[str, Any]] = []
        created: set[str] = set()
        for rec in _parsed(todo, copy_root, count, stack):
            done += 1
            if "error" in rec:
                _reject(report, rec["path"], rec["error"], on_error)
            else:
                batch.append(rec)
            if len(batch) >= BATCH:
                _flush(db, batch, report, on_error, created)
                batch = []
            if tick is not None and (done % 50 == 0 or done == len(files)):
                tick(done, len(files))
        if batch:
            _flush(db, batch, report, on_error, created)
        if tick is not None:
            tick(len(files), len(files))
    return report


def _flush(
    db: Database,
    batch: list[dict[str, Any]],
    report: ImportReport,
    on_error: str,
    created: set[str],
) -> None:
    if batch and batch[0].get("copied"):
        created.update(r["path"] for r in batch if r.get("copy_state") == "created")
        _check_orphan_copies(db, batch, created)
    before = len(report.conflicts)
    db._write_records(batch, report)
    if on_error == "raise" and len(report.conflicts) > before:
        path, reason = report.conflicts[before]
        raise SrkitError(reason, source=path)


def _check_orphan_copies(db: Database, batch: list[dict[str, Any]], created: set[str]) -> None:
    """A copy that existed before this import but is not indexed (a killed import left
    it) is replaced by this file's bytes when they differ."""
    import hashlib

    from srkit.db.ingest import create_exclusive

    pending = [r for r in batch if r.get("copy_state") == "exists" and r["path"] not in created]
    if not pending:
        return
    indexed = {
        str(p)
        for r in pending
        if (p := db.instance_path(r["instance"]["sop_instance_uid"])) is not None
    }
    for rec in pending:
        if rec["path"] in indexed:
            continue
        try:
            with open(rec["path"], "rb") as stream:
                same = hashlib.sha256(stream.read()).hexdigest() == rec["content_hash"]
            if not same:
                os.unlink(rec["path"])
                with open(rec["source_path"], "rb") as stream:
                    create_exclusive(Path(rec["path"]), stream.read())
            created.add(rec["path"])
        except OSError as exc:
            raise SrkitError(
                f"cannot repair the stored copy: {exc.strerror}", source=rec["path"]
            ) from None


def _reject(report: ImportReport, path: str, reason: str, on_error: str) -> None:
    if on_error == "raise":
        raise SrkitError(reason, source=path)
    report.rejected.append((path, reason))
