"""A Parquet dataset written batch by batch: one folder per table, one part file per
batch, an ``errors`` table and a ``manifest`` that commits each batch.

Layout of ``OUT/``::

    dataset.json                 what the dataset holds (kind, tables, their columns)
    <table>/part-<batch>.parquet one per batch and table (the same Arrow schema in all)
    errors/part-<batch>.parquet  path, stage, reason, codes
    manifest/part-<batch>.parquet  path, size, mtime, status, rows, batch

A batch is committed when its manifest part exists: every part is written to a
temporary file and renamed (:func:`srkit.atomic.replace_atomically`), the manifest
part last. The data parts may be written by the worker that ran the batch
(:func:`write_parts`, named by the batch, so a task run twice replaces them); the
errors and manifest parts are the driver's (:meth:`Dataset.commit`). Opening a dataset to resume deletes every part whose batch has no manifest
part (a crash between two renames), so each row is in the dataset exactly once. A
file whose size or modification time changed since its batch was committed makes the
whole batch be done again: its manifest part is removed first, then its other parts.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.atomic import replace_atomically
from srkit.errors import SrkitError
from srkit.tables.write import Schema

__all__ = [
    "ERRORS",
    "MANIFEST",
    "Batch",
    "Dataset",
    "FileOutcome",
    "Item",
    "part_name",
    "write_part",
    "write_parts",
]

ERRORS = "errors"
MANIFEST = "manifest"
_PREFIX = "part-"
_SUFFIX = ".parquet"


@dataclass(frozen=True, slots=True)
class Item:
    """One input: a local path or a URL, with the size and modification time seen when
    the inputs were listed (``None`` when unknown), and whether the user named it
    (rather than a folder holding it)."""

    path: str
    size: int | None = None
    mtime: float | None = None
    named: bool = True


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What became of one input: ``status`` ``ok``, ``skipped`` or ``error``, the rows
    written, and the errors (``stage``, ``reason``, ``codes``)."""

    item: Item
    status: str
    rows: int = 0
    errors: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Batch:
    """A finished batch: the Arrow table of each dataset table, and each file's outcome.

    A batch whose worker wrote its data parts itself (:func:`write_parts`, ``written``)
    carries no table, only the count of rows of each (``counts``)."""

    batch_id: str
    tables: Mapping[str, Any]
    outcomes: tuple[FileOutcome, ...] = field(default_factory=tuple)
    counts: Mapping[str, int] | None = None
    written: bool = False

    def row_counts(self) -> dict[str, int]:
        """Rows of each data table."""
        if self.counts is not None:
            return dict(self.counts)
        return {name: table.num_rows for name, table in self.tables.items()}


def part_name(batch: str) -> str:
    """The file name of a batch's part in every table folder (the same for a retried
    task: it replaces the part rather than adding one)."""
    return f"{_PREFIX}{batch}{_SUFFIX}"


def write_part(
    root: str | os.PathLike[str], table_name: str, batch: str, table: Any, schema: Any
) -> None:
    """Write ``table`` (cast to ``schema``) as the batch's part of ``root/table_name``:
    to a temporary name, then renamed, so a reader never sees half a part."""
    import pyarrow.parquet as pq

    target = Path(root) / table_name / part_name(batch)
    if not table.schema.equals(schema):
        table = table.cast(schema)

    def write(tmp: str) -> None:
        pq.write_table(table, tmp)

    replace_atomically(target, write)


def write_parts(root: str | os.PathLike[str], batch: Batch, schemas: Mapping[str, Any]) -> Batch:
    """Write a batch's data parts into the dataset folder ``root`` (what a worker does
    when it sees the folder); the batch as the driver commits it: outcomes and row
    counts, no table. Its manifest part, the commit, is the driver's to write."""
    for name, schema in schemas.items():
        write_part(root, name, batch.batch_id, batch.tables[name], schema)
    return Batch(
        batch_id=batch.batch_id,
        tables={},
        outcomes=batch.outcomes,
        counts=batch.row_counts(),
        written=True,
    )


def _appears(folder: Path, name: str, wait: float = 10.0) -> bool:
    """Whether another machine's file ``folder/name`` is there, listing the folder again
    for up to ``wait`` seconds (a network file system may show a new file late)."""
    import time

    deadline = time.monotonic() + wait
    while True:
        if (folder / name).is_file() or name in os.listdir(folder):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def _arrow_schema(schema: Schema) -> Any:
    from srkit.tables.write import to_arrow

    return to_arrow([], schema).schema


ERRORS_SCHEMA = Schema(columns=("path", "stage", "reason", "codes"), types={"codes": "strings"})
"""The ``errors`` table: the input, the stage that failed (``list``, ``read``,
``content``), the reason in words and the diagnostic codes (PS3-free, srkit's own)."""

MANIFEST_SCHEMA = Schema(
    columns=("path", "size", "mtime", "status", "rows", "batch"),
    types={"size": "int", "mtime": "float", "rows": "int"},
)
"""The ``manifest`` table: one row per input done (``ok``, ``skipped``, ``error``)."""


def outcome_tables(outcomes: Iterable[FileOutcome]) -> tuple[list[Any], list[Any]]:
    """The errors rows and manifest rows (without the batch) of some outcomes."""
    errors: list[dict[str, Any]] = []
    manifest: list[dict[str, Any]] = []
    for o in outcomes:
        for stage, reason, codes in o.errors:
            errors.append(
                {"path": o.item.path, "stage": stage, "reason": reason, "codes": list(codes)}
            )
        manifest.append(
            {
                "path": o.item.path,
                "size": o.item.size,
                "mtime": o.item.mtime,
                "status": o.status,
                "rows": o.rows,
            }
        )
    return errors, manifest


def new_batch_id(sequence: int, run: str) -> str:
    """A batch id unique across runs (``<sequence>-<run token>``), sorting by run order."""
    return f"{sequence:07d}-{run}"


def run_token() -> str:
    """A fresh token for the batches of one run."""
    import time

    return f"{int(time.time()):x}{secrets.token_hex(3)}"


class Dataset:
    """A dataset folder opened for writing.

    Parameters
    ----------
    out : path
        The folder (created).
    kind : str
        What it holds (``quantitative``, ``qualitative``, ``dose``, ``instances``), with
        ``columns`` (``srkit`` or ``idc``); a resumed dataset must hold the same.
    tables : mapping of str to Arrow schema
        The data tables and their schemas (:func:`srkit.extract.kinds.tables_of`).
    resume : bool
        Keep what earlier runs committed; otherwise the folder must hold no dataset.
    overwrite : bool
        Delete an earlier dataset first.
    """

    appear_wait = 10.0
    """Seconds a part a worker wrote may take to appear to the driver (a network file
    system) before its commit is refused."""

    def __init__(
        self,
        out: str | os.PathLike[str],
        *,
        kind: str,
        columns: str,
        tables: Mapping[str, Any],
        resume: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.root = Path(out)
        self.kind = kind
        self.columns = columns
        self.tables = dict(tables)
        self.arrow = dict(self.tables)
        self.arrow[ERRORS] = _arrow_schema(ERRORS_SCHEMA)
        self.arrow[MANIFEST] = _arrow_schema(MANIFEST_SCHEMA)
        if self.root.exists() and not self.root.is_dir():
            raise SrkitError("not a folder", source=str(self.root))
        meta = self.root / "dataset.json"
        if meta.exists() and overwrite:
            self._delete_all()
        elif meta.exists() and not resume:
            raise SrkitError(
                "already holds a dataset: --resume goes on with it, --overwrite replaces it",
                source=str(self.root),
            )
        elif not meta.exists() and self.root.is_dir() and any(self.root.iterdir()):
            raise SrkitError(
                "folder is not empty and holds no srkit dataset", source=str(self.root)
            )
        if meta.exists() and resume:
            old = json.loads(meta.read_text(encoding="utf-8"))
            if (old.get("kind"), old.get("columns")) != (kind, columns):
                raise SrkitError(
                    f"holds a {old.get('kind')} dataset ({old.get('columns')} columns), "
                    f"not {kind} ({columns} columns)",
                    source=str(self.root),
                )
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_meta()  # first: a folder with anything in it has its dataset.json
        for name in [*self.tables, ERRORS, MANIFEST]:
            (self.root / name).mkdir(exist_ok=True)
        self.committed = self._clean()

    # -- reading what is there ------------------------------------------------------

    def _folders(self) -> list[Path]:
        return [self.root / name for name in [*self.tables, ERRORS, MANIFEST]]

    def _delete_all(self) -> None:
        import shutil

        for name in os.listdir(self.root):
            target = self.root / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()

    def _write_meta(self) -> None:
        described = {
            name: [f"{f.name}: {f.type}" for f in schema] for name, schema in self.arrow.items()
        }
        text = json.dumps(
            {
                "format": "srkit-dataset/1",
                "kind": self.kind,
                "columns": self.columns,
                "tables": described,
            },
            indent=1,
        )

        def write(tmp: str) -> None:
            Path(tmp).write_text(text + "\n", encoding="utf-8")

        replace_atomically(self.root / "dataset.json", write)

    @staticmethod
    def _batch_of(name: str) -> str | None:
        if name.startswith(_PREFIX) and name.endswith(_SUFFIX):
            return name[len(_PREFIX) : -len(_SUFFIX)]
        return None

    def _clean(self) -> dict[str, dict[str, Any]]:
        """Delete temporary files and parts of uncommitted batches; the manifest rows of
        the committed ones, by path."""
        import pyarrow.parquet as pq

        manifest_dir = self.root / MANIFEST
        committed = {b for n in os.listdir(manifest_dir) if (b := self._batch_of(n))}
        for folder in self._folders():
            for name in os.listdir(folder):
                batch = self._batch_of(name)
                if batch is None or batch not in committed:
                    (folder / name).unlink()
        by_path: dict[str, dict[str, Any]] = {}
        if committed:
            table = pq.read_table(manifest_dir, schema=self.arrow[MANIFEST])
            for row in table.to_pylist():
                by_path[row["path"]] = row
        return by_path

    def plan(self, items: Iterable[Item]) -> tuple[list[Item], int]:
        """The items to do: those not committed, or changed since (their batches are
        uncommitted and deleted, and their other files done again). Also the count of
        items left as they were."""
        items = list(items)
        stale: set[str] = set()
        for item in items:
            old = self.committed.get(item.path)
            if old is not None and (old["size"], old["mtime"]) != (item.size, item.mtime):
                stale.add(old["batch"])
        if stale:
            for batch in sorted(stale):
                self._drop_batch(batch)
            self.committed = {p: r for p, r in self.committed.items() if r["batch"] not in stale}
        todo = [item for item in items if item.path not in self.committed]
        return todo, len(items) - len(todo)

    def _drop_batch(self, batch: str) -> None:
        name = part_name(batch)
        manifest = self.root / MANIFEST / name
        if manifest.exists():
            manifest.unlink()  # uncommitted first: a crash now leaves orphans, dropped later
        for folder in self._folders():
            if (folder / name).exists():
                (folder / name).unlink()

    # -- writing --------------------------------------------------------------------

    def _write_part(self, table_name: str, batch: str, table: Any) -> None:
        write_part(self.root, table_name, batch, table, self.arrow[table_name])

    def commit(self, batch: Batch) -> None:
        """Write a finished batch: its data parts (unless its worker wrote them) and
        errors, then its manifest part."""
        from srkit.tables.write import to_arrow

        for name in self.tables:
            if not batch.written:
                self._write_part(name, batch.batch_id, batch.tables[name])
            elif not _appears(self.root / name, part_name(batch.batch_id), self.appear_wait):
                raise SrkitError(
                    f"a worker wrote batch {batch.batch_id} elsewhere: its {name} part is "
                    "not in the dataset folder (the workers must share it, at the same path)",
                    source=str(self.root),
                )
        errors, manifest = outcome_tables(batch.outcomes)
        self._write_part(ERRORS, batch.batch_id, to_arrow(errors, ERRORS_SCHEMA))
        for row in manifest:
            row["batch"] = batch.batch_id
        self._write_part(MANIFEST, batch.batch_id, to_arrow(manifest, MANIFEST_SCHEMA))
        for row in manifest:
            self.committed[row["path"]] = row

    def finish(self) -> None:
        """Make every table readable even when no batch ran (an empty part file); remove
        the temporary file a killed worker left half-written, and any part of a batch
        never committed (a worker of a killed run that finished its task after this run
        had cleaned the folder)."""
        committed = {b for n in os.listdir(self.root / MANIFEST) if (b := self._batch_of(n))}
        committed.add("empty")
        for name in [*self.tables, ERRORS, MANIFEST]:
            folder = self.root / name
            for left in os.listdir(folder):
                if self._batch_of(left) not in committed:
                    (folder / left).unlink(missing_ok=True)
            if not any(n.endswith(_SUFFIX) for n in os.listdir(folder)):
                self._write_part_empty(name)

    def _write_part_empty(self, name: str) -> None:
        """``part-empty.parquet``: a batch named ``empty`` holding no row, kept on resume."""
        import pyarrow.parquet as pq

        schema = self.arrow[name]
        target = self.root / name / f"{_PREFIX}empty{_SUFFIX}"

        def write(tmp: str) -> None:
            pq.write_table(schema.empty_table(), tmp)

        replace_atomically(target, write)
