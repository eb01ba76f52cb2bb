"""Write rows (plain dicts) as JSON lines, JSON, CSV or Parquet.

A file output is written to a temporary file beside the target and renamed at
the end, so an interrupted run never leaves a half-written table. Numbers that are
not finite (NaN, infinity: dcmqi writes NaN for measurements that failed) are
written as ``null``, so every JSON output is valid JSON.

A :class:`Schema` fixes the columns of a table whatever the data: their order,
which columns hold code objects (in CSV always the ``.value``, ``.scheme``,
``.meaning`` and ``.version`` cells, empty for a missing code) and, for Parquet,
the Arrow types, so files of different runs share one schema.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from srkit.atomic import replace_atomically
from srkit.errors import MissingDependencyError, SrkitError

__all__ = [
    "FORMATS",
    "Schema",
    "conform",
    "finite",
    "flatten",
    "json_default",
    "replace_atomically",
    "to_arrow",
    "write_rows",
]

FORMATS = ("jsonl", "json", "csv", "parquet")
CODE_PARTS = ("value", "scheme", "meaning", "version")


@dataclass(frozen=True, slots=True)
class Schema:
    """Columns of a table: names in order, their kinds for CSV and Parquet.

    Parameters
    ----------
    columns : sequence of str
        Column names in order; keys a row lacks are empty.
    codes : frozenset of str
        Columns holding code objects.
    types : mapping of str to str
        Arrow type of the other columns: ``"string"``, ``"int"``, ``"float"``,
        ``"bool"``, ``"strings"`` (a list of strings), ``"json"`` (any value, written
        as JSON text in CSV and Parquet).
    rest : str, optional
        A ``"json"`` column that collects, keyed by column name, every value of a row
        that the schema has no column for or whose value does not fit its column's
        kind (a vendor's private item, a number kept in its own unit); without it
        such values are left to the writer.
    """

    columns: Sequence[str]
    codes: frozenset[str] = frozenset()
    types: Mapping[str, str] = field(default_factory=dict)
    rest: str | None = None
    ignore: frozenset[str] = frozenset()

    def kind(self, name: str) -> str:
        """``"code"`` or the Arrow type name of a column (``"string"`` unless given)."""
        return "code" if name in self.codes else self.types.get(name, "string")


def json_default(value: Any) -> Any:
    """JSON for values the json module does not know (tuples are lists already)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode("latin_1")
    return str(value)


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, infinity) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _is_code(value: Any) -> bool:
    return isinstance(value, Mapping) and {"value", "scheme"} <= set(value) <= set(CODE_PARTS)


def flatten(
    row: Mapping[str, Any], prefix: str = "", codes: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Nested mappings become ``a.b`` keys; lists of scalars become ``;``-joined text,
    lists of mappings become JSON text (a CSV cell holds one value). Columns named in
    ``codes`` always give the four code cells, empty when the code is missing."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if name in codes and (value is None or _is_code(value)):
            for part in CODE_PARTS:
                out[f"{name}.{part}"] = (value or {}).get(part)
        elif isinstance(value, Mapping):
            if not value:
                out[name] = None
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


def _arrow_type(pa: Any, kind: str) -> Any:
    code = pa.struct([(part, pa.string()) for part in CODE_PARTS])
    return {
        "code": code,
        "string": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "strings": pa.list_(pa.string()),
        "json": pa.string(),
    }[kind]


def to_arrow(rows: list[Mapping[str, Any]], schema: Schema | None = None) -> Any:
    """An Arrow table of the rows (nested values become structs and lists)."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - depends on the install
        raise MissingDependencyError(
            "Parquet output needs pyarrow: install srkit[tables]"
        ) from None
    if schema is not None:
        arrays, fields = [], []
        for name in schema.columns:
            kind = "code" if name in schema.codes else schema.types.get(name, "string")
            values = [row.get(name) for row in rows]
            if kind == "code":
                values = [None if v is None else {p: v.get(p) for p in CODE_PARTS} for v in values]
            elif kind == "json":
                values = [
                    None if v is None else json.dumps(v, default=json_default) for v in values
                ]
            elif kind == "string":
                values = [None if v is None else str(v) for v in values]
            arrow_type = _arrow_type(pa, kind)
            arrays.append(pa.array(values, type=arrow_type))
            fields.append(pa.field(name, arrow_type))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    if not rows:
        return pa.table({})
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, None)
    data = {name: [row.get(name) for row in rows] for name in columns}
    out = {}
    for name, values in data.items():
        try:
            out[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            out[name] = pa.array(
                [None if v is None else json.dumps(v, default=json_default) for v in values]
            )
    return pa.table(out)


def _json_cells(row: Mapping[str, Any], schema: Schema | None) -> Mapping[str, Any]:
    """``"json"`` columns of ``schema`` as JSON text (one CSV cell each)."""
    if schema is None:
        return row
    names = [n for n in schema.columns if schema.kind(n) == "json" and row.get(n) is not None]
    if not names:
        return row
    out = dict(row)
    for name in names:
        out[name] = json.dumps(out[name], default=json_default, ensure_ascii=False)
    return out


def _csv(rows: Iterable[Mapping[str, Any]], stream: IO[str], schema: Schema | None) -> None:
    codes = schema.codes if schema else frozenset()
    flat = [flatten(_json_cells(r, schema), codes=codes) for r in rows]
    columns: dict[str, None] = {}
    if schema is not None:
        for name in schema.columns:
            if name in codes:
                for part in CODE_PARTS:
                    columns.setdefault(f"{name}.{part}", None)
            else:
                columns.setdefault(name, None)
    for row in flat:
        for key in row:
            columns.setdefault(key, None)
    writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _text(
    rows: Iterable[Mapping[str, Any]], fmt: str, stream: IO[str], schema: Schema | None = None
) -> None:
    if fmt == "jsonl":
        for row in rows:
            stream.write(
                json.dumps(row, default=json_default, ensure_ascii=False, allow_nan=False) + "\n"
            )
    elif fmt == "json":
        json.dump(
            list(rows), stream, default=json_default, ensure_ascii=False, indent=1, allow_nan=False
        )
        stream.write("\n")
    elif fmt == "csv":
        _csv(rows, stream, schema)
    else:
        raise SrkitError(f"unknown format {fmt!r}")


def _fits(value: Any, kind: str) -> bool:
    """Whether a (non-null) value can be written in a column of ``kind``."""
    if kind == "code":
        return _is_code(value)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "strings":
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    if kind == "json":
        return True
    return isinstance(value, str)


def conform(row: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """``row`` with exactly the schema's columns, in order; with ``schema.rest``, what
    the other columns cannot hold goes there (``None`` when nothing does)."""
    out = {name: row.get(name) for name in schema.columns}
    if schema.rest is None:
        return out
    rest: dict[str, Any] = {}
    for name, value in row.items():
        if name not in out:
            if value is not None and name not in schema.ignore:
                rest[name] = value
        elif name != schema.rest and value is not None and not _fits(value, schema.kind(name)):
            rest[name] = value
            out[name] = None
    previous = row.get(schema.rest)
    if isinstance(previous, Mapping):
        rest = {**previous, **rest}
    out[schema.rest] = rest or None
    return out


def _ordered(rows: list[Mapping[str, Any]], schema: Schema | None) -> list[Mapping[str, Any]]:
    if schema is None:
        return rows
    return [conform(row, schema) for row in rows]


def write_rows(
    rows: Iterable[Mapping[str, Any]],
    fmt: str,
    out: str | os.PathLike[str] | IO[str] | None = None,
    *,
    schema: Schema | None = None,
) -> int:
    """Write rows in ``fmt`` to ``out`` (a path, a text stream, or stdout); returns the count.

    Parquet needs a path (it is binary). With a ``schema`` the columns are fixed.
    """
    materialised = _ordered([finite(dict(r)) for r in rows], schema)
    if fmt == "parquet":
        if out is None or not isinstance(out, str | os.PathLike):
            raise SrkitError("Parquet output needs a file: use -o FILE")
        table = to_arrow(materialised, schema)
        import pyarrow as pa
        import pyarrow.parquet as pq

        def parquet(tmp: str) -> None:
            try:
                pq.write_table(table, tmp)
            except (pa.ArrowException, OSError) as exc:  # pyarrow words OS errors its own way
                found = re.search(r"\[errno (\d+)\]", str(exc), re.IGNORECASE)
                number = getattr(exc, "errno", None) or (int(found.group(1)) if found else None)
                if number is None:
                    raise OSError(str(exc).split(". Detail")[0]) from None
                raise OSError(number, os.strerror(number)) from None

        replace_atomically(os.fspath(out), parquet)
        return len(materialised)
    if out is None:
        _text(materialised, fmt, sys.stdout, schema)
        return len(materialised)
    if isinstance(out, str | os.PathLike):

        def text(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8", newline="") as stream:
                _text(materialised, fmt, stream, schema)

        replace_atomically(os.fspath(out), text)
        return len(materialised)
    _text(materialised, fmt, out, schema)
    return len(materialised)
