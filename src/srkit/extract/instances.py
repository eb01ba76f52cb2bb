"""The header index of files (``srkit instances``): one row per DICOM instance with
its patient, study, series and instance attributes (PS3.4 C.6.1.1, Patient Root), the
attributes ``srkit ls`` lists and the database indexes, read from the header alone
(pixel data is never read)."""

from __future__ import annotations

from typing import Any

from srkit.model.attributes import ATTRIBUTES
from srkit.tables.write import Schema

__all__ = ["INSTANCE_ATTRIBUTES", "INSTANCES", "instance_row", "read_header"]

INSTANCE_ATTRIBUTES: tuple[tuple[str, str, str], ...] = tuple(
    (a.keyword, a.column, a.vr) for a in ATTRIBUTES.values()
)
"""Keyword, column, VR: the attributes of the database's index
(:data:`srkit.model.attributes.ATTRIBUTES`), in their order."""

INSTANCES = Schema(
    columns=tuple(col for _, col, _ in INSTANCE_ATTRIBUTES),
    types={col: "int" for _, col, vr in INSTANCE_ATTRIBUTES if vr in ("IS", "US")},
)
"""One row per instance: texts as stored (trimmed; values of a multi-valued attribute
joined by ``\\``), IS and US as integers."""


def read_header(source: Any) -> Any:
    """The header of a Part 10 file (a path or binary file): every element up to the
    pixel data, parsed by pydicom (which stops reading there)."""
    import warnings

    from pydicom import dcmread

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(source, stop_before_pixels=True)


def _value(ds: Any, keyword: str, vr: str) -> Any:
    try:
        elem = ds[keyword]
    except KeyError:
        return None
    value = elem.value
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    text = text.strip().rstrip("\x00")
    if not text:
        return None
    if vr in ("IS", "US"):
        try:
            return int(float(text.split("\\")[0]))
        except ValueError:
            return None
    return text


def instance_row(ds: Any) -> dict[str, Any]:
    """The row of a dataset's header."""
    meta = getattr(ds, "file_meta", None)
    row = {
        col: _value(ds, kw, vr) for kw, col, vr in INSTANCE_ATTRIBUTES if kw != "TransferSyntaxUID"
    }
    row["transfer_syntax_uid"] = (
        _value(meta, "TransferSyntaxUID", "UI") if meta is not None else None
    )
    return row
