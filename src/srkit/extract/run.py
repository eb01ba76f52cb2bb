"""``srkit.extract.extract``: inputs to a Parquet dataset, batch by batch, on any
executor (:mod:`srkit.extract.executors`), resumable (:mod:`srkit.extract.dataset`).

The driver lists the inputs, leaves out what a resumed dataset already holds, cuts
the rest into batches (the work unit) and hands them to the executor. A worker that
sees the dataset folder (every local executor; Dask workers when the folder is shared
at the same path, checked up front) writes its batch's data parts itself and sends
back only the outcomes; the driver commits each batch (its errors and manifest part)
as it comes back, so memory stays flat whatever the input size. Workers that do not
see the folder send their tables back for the driver to write (slower, same dataset).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from srkit.extract.dataset import Batch, Dataset, Item, new_batch_id, run_token
from srkit.extract.kinds import Job, run_batch, run_batch_into, tables_of
from srkit.extract.sources import list_items

__all__ = ["Summary", "extract"]


@dataclass(slots=True)
class Summary:
    """What a run did: inputs listed, already done (resume), read now, rows by table,
    files that failed (with their first reason), seconds."""

    listed: int = 0
    kept: int = 0
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0


def _batches(items: list[Item], size: int, run: str) -> Iterator[tuple[str, tuple[Item, ...]]]:
    for n, start in enumerate(range(0, len(items), size)):
        yield new_batch_id(n, run), tuple(items[start : start + size])


def extract(
    paths: Iterable[str | os.PathLike[str]],
    *,
    kind: str = "quantitative",
    out: str | os.PathLike[str],
    executor: Any = None,
    columns: str = "srkit",
    policy: str = "tolerant",
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int = 64,
    storage_options: dict[str, Any] | None = None,
    on_batch: Callable[[Batch, Summary], None] | None = None,
    on_plan: Callable[[Summary, int], None] | None = None,
) -> Summary:
    """Extract the rows of ``kind`` from every input into the dataset folder ``out``.

    Parameters
    ----------
    paths : iterable of str or path
        Files, folders, glob patterns, manifest files (``.txt``, ``.s5cmd``) and URLs.
    kind : str
        ``quantitative``, ``qualitative`` (TID 1500), ``dose`` (TID 10011/10001:
        ``dose_reports`` and ``dose_events``) or ``instances`` (the header index).
    out : path
        The dataset folder.
    executor : optional
        See :func:`srkit.extract.executors.make_executor` (default: a process per CPU).
    columns : str
        ``srkit`` (the contract's columns) or ``idc`` (IDC's BigQuery views).
    resume : bool
        Go on with a dataset: only inputs missing from it or changed are read.
    batch_size : int
        Inputs per task.
    storage_options : dict, optional
        fsspec options for URLs (default: anonymous access).
    on_batch, on_plan : callable, optional
        Told of every committed batch, and of the plan (summary, inputs to read).

    Returns
    -------
    Summary
        Rows are in the dataset; ``summary.failed`` names each input that failed.
    """
    from srkit.extract.executors import make_executor

    start = time.monotonic()
    options = tuple(sorted((storage_options or {}).items()))
    job = Job(kind=kind, columns=columns, policy=policy, storage_options=options)
    dataset = Dataset(
        out, kind=kind, columns=columns, tables=tables_of(job), resume=resume, overwrite=overwrite
    )
    items = list(list_items(paths, options=options))
    todo, kept = dataset.plan(items)
    summary = Summary(listed=len(items), kept=kept, rows=dict.fromkeys(dataset.tables, 0))
    if on_plan is not None:
        on_plan(summary, len(todo))
    run = run_token()
    pool = make_executor(executor) if todo else None
    try:
        if pool is not None:
            fn, tasks = _tasks(pool, job, dataset, _batches(todo, batch_size, run))
            for batch in pool.run(fn, tasks):
                dataset.commit(batch)
                _count(summary, batch)
                summary.seconds = time.monotonic() - start
                if on_batch is not None:
                    on_batch(batch, summary)
    finally:
        if pool is not None and pool is not executor:
            pool.close()
    dataset.finish()
    summary.seconds = time.monotonic() - start
    return summary


def _tasks(
    pool: Any, job: Job, dataset: Dataset, chunks: Iterator[tuple[str, tuple[Item, ...]]]
) -> tuple[Callable[..., Batch], Iterator[tuple[Any, ...]]]:
    """The task function and its arguments: the workers write the parts when they see
    the dataset folder, else their tables come back."""
    root = os.path.abspath(dataset.root)
    if _sees(pool, root):
        return run_batch_into, ((job, root, b, chunk) for b, chunk in chunks)
    return run_batch, ((job, b, chunk) for b, chunk in chunks)


def _sees(pool: Any, root: str) -> bool:
    """Whether the executor's workers write into the dataset folder ``root`` themselves:
    those that tell (:meth:`sees`) when they do; any other executor does not."""
    sees = getattr(pool, "sees", None)
    return bool(sees(root)) if callable(sees) else False


def _count(summary: Summary, batch: Batch) -> None:
    for name, n in batch.row_counts().items():
        summary.rows[name] = summary.rows.get(name, 0) + n
    for outcome in batch.outcomes:
        summary.files += 1
        if outcome.status == "error":
            summary.errors += 1
            summary.failed.append((outcome.item.path, outcome.errors[0][1]))
        elif outcome.status == "skipped":
            summary.skipped += 1
