"""Write rows (plain dicts) as JSON lines, JSON, CSV or Parquet.

A file output is written to a temporary file beside the target and renamed at
the end, so an interrupted run never leaves a half-written table.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from srkit.errors import MissingDependencyError, SrkitError

__all__ = ["FORMATS", "flatten", "to_arrow", "write_rows", "json_default"]

FORMATS = ("jsonl", "json", "csv", "parquet")


def json_default(value: Any) -> Any:
    """JSON for values the json module does not know (tuples are lists already)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode("latin_1")
    return str(value)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings become ``a.b`` keys; lists of scalars become ``;``-joined text,
    lists of mappings become JSON text (a CSV cell holds one value)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if not value:
                out[name] = None
            elif set(value) >= {"value", "scheme"} and set(value) <= {
                "value",
                "scheme",
                "meaning",
                "version",
            }:
                # a code object: one cell each
                out.update(flatten(value, f"{name}."))
            else:
                out.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            if all(not isinstance(v, Mapping | list | tuple) for v in value):
                out[name] = ";".join("" if v is None else str(v) for v in value)
            else:
                out[name] = json.dumps(value, default=json_default, ensure_ascii=False)
        else:
            out[name] = value
    return out


def to_arrow(rows: list[Mapping[str, Any]]) -> Any:
    """An Arrow table of the rows (nested values become structs and lists)."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - depends on the install
        raise MissingDependencyError(
            "Parquet output needs pyarrow: install srkit[tables]"
        ) from None
    if not rows:
        return pa.table({})
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, None)
    data = {name: [row.get(name) for row in rows] for name in columns}
    arrays = {}
    for name, values in data.items():
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[name] = pa.array(
                [None if v is None else json.dumps(v, default=json_default) for v in values]
            )
    return pa.table(arrays)


def _csv(rows: Iterable[Mapping[str, Any]], stream: IO[str]) -> None:
    flat = [flatten(r) for r in rows]
    columns: dict[str, None] = {}
    for row in flat:
        for key in row:
            columns.setdefault(key, None)
    writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _text(rows: Iterable[Mapping[str, Any]], fmt: str, stream: IO[str]) -> None:
    if fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, default=json_default, ensure_ascii=False) + "\n")
    elif fmt == "json":
        json.dump(list(rows), stream, default=json_default, ensure_ascii=False, indent=1)
        stream.write("\n")
    elif fmt == "csv":
        _csv(rows, stream)
    else:
        raise SrkitError(f"unknown format {fmt!r}")


def write_rows(
    rows: Iterable[Mapping[str, Any]],
    fmt: str,
    out: str | os.PathLike[str] | IO[str] | None = None,
) -> int:
    """Write rows in ``fmt`` to ``out`` (a path, a text stream, or stdout); returns the count.

    Parquet needs a path (it is binary).
    """
    materialised = list(rows)
    if fmt == "parquet":
        if out is None or not isinstance(out, str | os.PathLike):
            raise SrkitError("Parquet output needs a file: use -o FILE")
        import pyarrow.parquet as pq

        path = os.fspath(out)
        tmp = f"{path}.{os.getpid()}.part"
        try:
            pq.write_table(to_arrow(materialised), tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return len(materialised)
    if out is None:
        _text(materialised, fmt, sys.stdout)
        return len(materialised)
    if isinstance(out, str | os.PathLike):
        path = os.fspath(out)
        tmp = f"{path}.{os.getpid()}.part"
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as stream:
                _text(materialised, fmt, stream)
            os.replace(tmp, path)
        except OSError as exc:
            raise SrkitError(f"cannot write: {exc.strerror}", source=path) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return len(materialised)
    _text(materialised, fmt, out)
    return len(materialised)


def iter_text(rows: Iterable[Mapping[str, Any]], fmt: str) -> Iterator[str]:
    """The text of the rows (for tests and small outputs)."""
    buf = io.StringIO()
    _text(rows, fmt, buf)
    yield buf.getvalue()
