"""Parse DICOM files into plain records for the index (runs in worker processes).

A record is a dict of plain values (picklable): the patient, study, series and
instance attributes of the Patient Root model (PS3.4 C.6.1.1), the file facts
(size, modification time, SHA-256 of the bytes) and, for an SR document, the rows
of its content (TID 1500 measurements, TID 10011/10001 dose). Parsing never raises:
a file that cannot be indexed becomes ``{"path": ..., "error": reason}``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.datadict import keyword_dict
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.gcpause import paused
from srkit.codec.reader import load_dataset
from srkit.db.attributes import ATTRIBUTES, BY_LEVEL, INTEGER_COLUMNS
from srkit.db.header import ScannedHeader, scan
from srkit.db.hierarchy import patient_key
from srkit.db.staging import StagedFile, file_sha256
from srkit.db.storage import PART_SUFFIX, check_uid, storage_path
from srkit.errors import SrkitError
from srkit.model.sopclass import MEDIA_STORAGE_DIRECTORY, is_sr_sop_class

__all__ = [
    "parse_file",
    "parse_staged",
    "parse_bytes",
    "parse_received",
    "record_from_dataset",
    "expand_paths",
    "sr_rows",
]

DICOMDIR_CLASS = MEDIA_STORAGE_DIRECTORY
"""A DICOMDIR's Media Storage SOP Class (PS3.10 8.6): not an instance to index."""

_VR = {a.keyword: a.vr for a in ATTRIBUTES.values()} | {"MediaStorageSOPClassUID": "UI"}
_QUICK_TAGS = sorted(
    {keyword_dict[kw] for kw in _VR if kw not in ("TransferSyntaxUID", "MediaStorageSOPClassUID")}
    | {0x00080005, 0x7FE00010}
)
_INTEGERS = INTEGER_COLUMNS


_ASCII_VRS = frozenset({"UI", "DA", "TM", "DT", "CS", "IS", "DS", "AS", "AE"})
_CODECS = {"": "latin_1", "ISO_IR 6": "latin_1", "ISO_IR 100": "latin_1", "ISO_IR 192": "utf_8"}


def _charset(ds: Dataset) -> str | None:
    """A Python codec for the dataset's text, or None when pydicom must decode it."""
    elems: Any = ds._dict
    raw = elems.get(0x00080005)
    if raw is None:
        return "latin_1"
    value = raw.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return None
    return _CODECS.get(str(value or "").strip())


def _text(ds: Dataset, keyword: str, codec: str | None = "latin_1") -> str | None:
    """An attribute as text (multiple values joined by ``\\``); None when absent or empty."""
    tag = keyword_dict.get(keyword)
    if tag is None:
        return None
    elems: Any = ds._dict
    elem = elems.get(tag)
    if elem is None:
        return None
    return _element_text(ds, elem, tag, _VR.get(keyword, ""), codec)


def _element_text(ds: Dataset, elem: Any, tag: int, vr: str, codec: str | None) -> str | None:
    """:func:`_text` of the element ``elem`` (tag ``tag``, VR ``vr`` by the
    dictionary) of ``ds``.

    Raw values of ASCII VRs and of single-byte or UTF-8 text are decoded directly
    (pydicom's element conversion costs more than the rest of the parse).
    """
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes):
        vr = elem.VR or vr
        if vr in _ASCII_VRS or (codec is not None and vr in ("LO", "SH", "PN", "LT", "ST")):
            text = elem.value.decode("ascii" if vr in _ASCII_VRS else codec or "latin_1", "replace")
            text = text.strip(" \x00")
            return text or None
        if vr == "US" and elem.length == 2:
            return str(int.from_bytes(elem.value, "little" if elem.is_little_endian else "big"))
    try:
        value = ds[tag].value
    except Exception:
        return None
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = "\\".join(str(v) for v in value)
    text = str(value).strip().rstrip("\x00")
    return text or None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(float(text.split("\\")[0]))
    except ValueError:
        return None


_Plan = tuple[tuple[str, int | None, str, bool], ...]
"""A level's columns as (column, tag, VR by the dictionary, whether an integer)."""


def _plan(mapping: dict[str, str]) -> _Plan:
    return tuple(
        (column, keyword_dict.get(keyword), _VR.get(keyword, ""), column in _INTEGERS)
        for column, keyword in mapping.items()
    )


_PLANS = {level: _plan(mapping) for level, mapping in BY_LEVEL.items()}


def _columns(ds: Dataset, plan: _Plan, codec: str | None) -> dict[str, Any]:
    elems: Any = ds._dict
    out: dict[str, Any] = {}
    for column, tag, vr, integer in plan:
        if tag is None or (elem := elems.get(tag)) is None:
            out[column] = None
            continue
        value = _element_text(ds, elem, tag, vr, codec)
        out[column] = _int(value) if integer else value
    return out


def record_from_dataset(ds: Dataset, *, index_sr: bool = True) -> dict[str, Any]:
    """The index record of a parsed dataset (without the file facts).

    Raises
    ------
    SrkitError
        The dataset lacks a UID the information model needs.
    """
    codec = _charset(ds)
    rec: dict[str, Any] = {
        "patient": _columns(ds, _PLANS["PATIENT"], codec),
        "study": _columns(ds, _PLANS["STUDY"], codec),
        "series": _columns(ds, _PLANS["SERIES"], codec),
        "instance": _columns(ds, _PLANS["IMAGE"], codec),
    }
    for level, column, what in (
        ("instance", "sop_instance_uid", "SOP Instance UID"),
        ("instance", "sop_class_uid", "SOP Class UID"),
        ("study", "study_instance_uid", "Study Instance UID"),
        ("series", "series_instance_uid", "Series Instance UID"),
    ):
        value = rec[level][column]
        if not value:
            raise SrkitError(f"no {what}")
        if len(value) > 64:
            raise SrkitError(f"{what} longer than 64 characters")
    tsyntax = None
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        tsyntax = _text(meta, "TransferSyntaxUID")
    rec["instance"]["transfer_syntax_uid"] = tsyntax
    patient = rec["patient"]
    patient["patient_key"] = patient_key(
        patient["patient_id"], patient["issuer_of_patient_id"], rec["study"]["study_instance_uid"]
    )
    rec["sr"] = None
    if index_sr and is_sr_sop_class(rec["instance"]["sop_class_uid"]):
        from srkit.db.srindex import sr_rows as _sr_rows

        rec["sr"] = _sr_rows(ds)
    return rec


def sr_rows(ds: Dataset) -> dict[str, Any] | None:
    """The SR content rows of a dataset (see :mod:`srkit.db.srindex`)."""
    from srkit.db.srindex import sr_rows as _sr_rows

    return _sr_rows(ds)


def _quick(data: bytes) -> Dataset | None:
    """Only the indexed attributes and Pixel Data (a third of a full parse); None when
    the file needs a full parse: an SR, no Pixel Data (its last element is then checked
    for truncation), or anything unusual. An SR is told from its File Meta Information
    first, so that its content tree is not read twice."""
    from srkit.codec.fastparse import FastParseError, split_file_meta

    try:
        meta, _start = split_file_meta(data)
    except FastParseError:
        return None
    if is_sr_sop_class(_text(meta, "MediaStorageSOPClassUID") or ""):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(data), specific_tags=_QUICK_TAGS)
    except Exception:
        return None
    keys = ds._dict
    if 0x7FE00010 not in keys or 0x00080016 not in keys:
        return None
    sop_class = _text(ds, "SOPClassUID")
    if sop_class is None or is_sr_sop_class(sop_class):
        return None
    return ds


def parse_bytes(data: bytes, name: str) -> tuple[Dataset, dict[str, Any]]:
    """Parse file bytes; returns the dataset and its record (hash and size included).

    The dataset is complete for SR documents; for images it holds the indexed
    attributes only.
    """
    with paused():  # see srkit.codec.gcpause: an SR's tree is many small objects
        ds = _quick(data)
        if ds is None:
            ds = _load(data, name)
        return ds, _record(ds, data, name, "a DICOMDIR (import its folder or the DICOMDIR itself)")


def parse_received(data: bytes, name: str = "<received>") -> tuple[Any, dict[str, Any]]:
    """Parse received Part 10 bytes (C-STORE, STOW-RS) for :meth:`Database.store_record`.

    An image (any instance but an SR, in a little endian native transfer syntax) is
    scanned for the indexed attributes only (:func:`srkit.db.header.scan`: element
    headers walked to the end, Pixel Data stepped over). Other data (SR documents,
    whose content is indexed; other transfer syntaxes; anything the scan leaves to
    a parser) go through srkit's fast parser whole, or pydicom. Returns the dataset
    (for a scanned image, a :class:`~srkit.db.header.ScannedHeader` of the indexed
    attributes) and its record (size and SHA-256 of ``data`` included).

    Raises
    ------
    SrkitError
        Not DICOM, truncated, a DICOMDIR, or lacking a UID the index needs.
    """
    with paused():  # see srkit.codec.gcpause: an SR's tree is many small objects
        ds: Any = _scan(data, len(data), name)
        if ds is None:
            ds = _load(data, name)
        return ds, _record(ds, data, name, "a DICOMDIR is not an instance")


def _scan(
    data: bytes, size: int, name: str, tail: Callable[[int], bytes | None] | None = None
) -> ScannedHeader | None:
    """:func:`srkit.db.header.scan`, its error naming the file."""
    try:
        return scan(data, size, tail)
    except SrkitError as exc:
        raise SrkitError(exc.message, source=name, code=exc.code) from None


def _load(data: bytes, name: str) -> Dataset:
    try:
        return load_dataset(io.BytesIO(data))
    except SrkitError as exc:
        raise SrkitError(exc.message, source=name, code=exc.code) from None


def _record(ds: Any, data: bytes, name: str, dicomdir: str) -> dict[str, Any]:
    """The index record of a parsed file: refuses DICOMDIRs and cut files; adds the
    size and SHA-256 of ``data``."""
    rec = _header_record(ds, len(data), name, dicomdir)
    rec["size"] = len(data)
    rec["content_hash"] = hashlib.sha256(data).hexdigest()
    return rec


def _header_record(
    ds: Any, size: int, name: str, dicomdir: str = "a DICOMDIR is not an instance"
) -> dict[str, Any]:
    """The index record of a parsed file of ``size`` bytes (without its size and
    hash): refuses DICOMDIRs and files cut short."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and _text(meta, "MediaStorageSOPClassUID") == DICOMDIR_CLASS:
        raise SrkitError(dicomdir, source=name)
    if not isinstance(ds, ScannedHeader):  # a scan has walked the file to its end
        _check_complete(ds, size, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return record_from_dataset(ds)
    except SrkitError as exc:
        raise SrkitError(exc.message, source=name, code=exc.code) from None


def _check_complete(ds: Dataset, size: int, name: str) -> None:
    """Reject a file cut short: pydicom reads a truncated last value silently."""
    try:
        elem = ds.get_item(0x7FE00010) if 0x7FE00010 in ds else None
    except Exception:
        elem = None
    pixel_length = getattr(elem, "length", None)
    if elem is not None and pixel_length not in (None, 0xFFFFFFFF):
        start = getattr(elem, "value_tell", None)
        if start is not None and start + pixel_length > size:
            raise SrkitError(
                "truncated file (Pixel Data cut short)", source=name, code=ReadCode.FILE_TRUNCATED
            )
    for key in list(ds._dict)[-1:]:
        try:
            last = ds.get_item(key)
            value_tell = getattr(last, "value_tell", None)
            length = getattr(last, "length", None)
        except Exception:
            continue
        if (
            value_tell is not None
            and length not in (None, 0xFFFFFFFF)
            and value_tell + length > size
        ):
            raise SrkitError(
                "truncated file (last element cut short)",
                source=name,
                code=ReadCode.FILE_TRUNCATED,
            )


# -- staged files (C-STORE, STOW-RS) ---------------------------------------------------

WHOLE_PARSE_MAX = 8 << 20
"""Staged files up to this size are parsed whole (srkit's fast parser, as
:func:`srkit.db.ingest.parse_received`); larger ones up to their Pixel Data only."""


def parse_staged(
    path: str | os.PathLike[str],
    *,
    size: int | None = None,
    sha256: str | None = None,
    name: str = "<received>",
    prefix: bytes = b"",
) -> tuple[Any, dict[str, Any]]:
    """The dataset and index record of a Part 10 file (PS3.10 Section 7), reading at
    most :data:`WHOLE_PARSE_MAX` bytes into memory whatever the file's size.

    ``prefix``, the file's first bytes when the caller has them (a C-STORE data set
    staged as it arrived), spares reading them again: an image whose header lies in
    them is read from them (the header parse of :func:`parse_received`; only the
    bytes after its Pixel Data are read from the file). Otherwise a file up to
    :data:`WHOLE_PARSE_MAX` is parsed as :func:`parse_received` does; a larger one is
    read by pydicom up to its Pixel Data (or Float/Double Float Pixel Data), whose
    element header is then checked against the file size: a declared length beyond
    the end of the file is a file cut short. ``size`` and ``sha256`` are the staged
    file's (computed when not given).

    Raises
    ------
    SrkitError
        Not DICOM, cut short, a DICOMDIR, or lacking a UID the index needs.
    """
    size = os.path.getsize(path) if size is None else size
    found: tuple[Any, dict[str, Any]] | None = None
    ds: Any
    if prefix:
        with paused():
            ds = _scan(prefix, size, name, lambda start: _tail(path, start, size))
            if ds is not None:
                found = ds, _header_record(ds, size, name)
    if found is not None:
        ds, rec = found
    elif size <= WHOLE_PARSE_MAX:
        with open(path, "rb") as stream:
            data = stream.read()
        ds, rec = parse_received(data, name)
        if sha256 is None:  # parse_received hashed the bytes read: not hashed again
            sha256 = rec["content_hash"]
    else:
        ds, rec = _parse_header(path, size, name)
    rec["size"] = size
    rec["content_hash"] = sha256 or file_sha256(path)
    return ds, rec


def _tail(path: str | os.PathLike[str], start: int, size: int) -> bytes | None:
    """A file's bytes from ``start`` to its end (None if more than 1 MiB: the whole
    parse then decides)."""
    if size - start > 1 << 20:
        return None
    with open(path, "rb") as stream:
        stream.seek(start)
        return stream.read()


_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset({b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN", b"SQ", b"UT", b"UC"})


def _parse_header(path: str | os.PathLike[str], size: int, name: str) -> tuple[Any, dict[str, Any]]:
    import struct
    import warnings

    from pydicom import dcmread
    from pydicom.uid import UID

    try:
        with open(path, "rb") as stream, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(stream, stop_before_pixels=True, defer_size=1 << 16)
            at = stream.tell()
            head = stream.read(12)
    except Exception as exc:  # pydicom raises many kinds on garbage input
        raise SrkitError(f"not a readable DICOM file ({type(exc).__name__})", source=name) from None
    meta = getattr(ds, "file_meta", None)
    if meta is not None and _text(meta, "MediaStorageSOPClassUID") == DICOMDIR_CLASS:
        raise SrkitError("a DICOMDIR is not an instance", source=name)
    syntax = UID(str(getattr(meta, "TransferSyntaxUID", "") or "1.2.840.10008.1.2"))
    if len(head) >= 8 and not syntax.is_deflated:
        order = "<" if syntax.is_little_endian else ">"
        (group, element) = struct.unpack(order + "HH", head[:4])
        if group == 0x7FE0 and element in (0x0008, 0x0009, 0x0010):
            if syntax.is_implicit_VR:
                (length,) = struct.unpack(order + "I", head[4:8])
                start = at + 8
            elif head[4:6] in _LONG_VRS and len(head) >= 12:
                (length,) = struct.unpack(order + "I", head[8:12])
                start = at + 12
            else:
                (length,) = struct.unpack(order + "H", head[6:8])
                start = at + 8
            if length != _UNDEFINED and start + length > size:
                raise SrkitError(
                    "truncated file (Pixel Data cut short)",
                    source=name,
                    code=ReadCode.FILE_TRUNCATED,
                )
    _check_complete(ds, size, name)  # the last element read, when there is no Pixel Data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = record_from_dataset(ds)
    except SrkitError as exc:
        raise SrkitError(exc.message, source=name, code=exc.code) from None
    return ds, rec


def parse_file(path: str, copy_root: str | None = None) -> dict[str, Any]:
    """Parse one file into a record; a failure becomes ``{"path": ..., "error": ...}``.

    With ``copy_root``, the file is also copied into the storage layout there (created
    only if absent, atomically); ``"copy_state"`` says ``"created"`` or ``"exists"``.
    """
    try:
        st = os.stat(path)
        with open(path, "rb") as stream:
            data = stream.read()
        _ds, rec = parse_bytes(data, path)
    except SrkitError as exc:
        return {"path": path, "error": exc.message}
    except OSError as exc:
        return {"path": path, "error": exc.strerror or str(exc)}
    except Exception as exc:  # a parser bug must not stop an import of thousands of files
        return {"path": path, "error": f"cannot index ({type(exc).__name__}: {exc})"[:300]}
    rec["path"] = path
    rec["source_path"] = path
    rec["mtime_ns"] = st.st_mtime_ns
    rec["copied"] = False
    if copy_root is not None:
        try:
            target = storage_path(
                Path(copy_root),
                rec["study"]["study_instance_uid"],
                rec["series"]["series_instance_uid"],
                rec["instance"]["sop_instance_uid"],
            )
            rec["copy_state"] = create_exclusive(target, data)
        except SrkitError as exc:
            return {"path": path, "error": exc.message}
        rec["path"] = str(target)
        rec["copied"] = True
    return rec


def create_exclusive(target: Path, data: bytes) -> str:
    """Create ``target`` with ``data`` unless it exists (atomic: a staged file in the
    storage folder's ``.staging``, owned by this process, then a hard link)."""

    if target.exists():
        return "exists"
    root = target.parents[2]  # <storage>/<study>/<series>/<sop>.dcm
    try:
        with StagedFile(root) as staged:
            staged.write(data)
            staged.finish()
            for attempt in (1, 2):
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(staged.path, target)
                    return "created"
                except FileExistsError:
                    return "exists"
                except FileNotFoundError:
                    if attempt == 2:  # a failed store removed the new folder meanwhile
                        raise
                except OSError:  # a file system without hard links
                    os.replace(staged.path, target)
                    return "created"
    except OSError as exc:
        raise SrkitError(f"cannot copy into storage: {exc.strerror}") from None
    return "exists"  # pragma: no cover - the loop returns


def _dicomdir_files(path: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files a DICOMDIR references (PS3.10 8.6), only those inside its folder."""
    rejected: list[tuple[str, str]] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(path, force=True)
        records = ds.DirectoryRecordSequence
    except Exception as exc:
        return [], [(str(path), f"unreadable DICOMDIR ({type(exc).__name__})")]
    base = path.parent.resolve()
    files: list[Path] = []
    for rec in records:
        file_id = rec.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else list(file_id)
        target = base.joinpath(*[str(p) for p in parts])
        try:
            target.resolve().relative_to(base)
        except ValueError:
            rejected.append((str(target), "DICOMDIR reference outside its folder"))
            continue
        files.append(target)
    return files, rejected


def expand_paths(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[str], list[tuple[str, str]]]:
    """Files to import: named files, files under named folders (recursively, sorted),
    the files each DICOMDIR references; each file once. Missing paths are rejected."""
    seen: set[str] = set()
    files: list[str] = []
    rejected: list[tuple[str, str]] = []

    def add(p: Path) -> None:
        key = os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            files.append(str(p))

    for found in _walk(paths):
        if not found.exists():
            rejected.append((str(found), "no such file or directory"))
        elif found.name.upper() == "DICOMDIR":
            refs, bad = _dicomdir_files(found)
            rejected.extend(bad)
            for ref in refs:
                add(ref)
        else:
            add(found)
    return files, rejected


def _walk(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != ".staging")  # transfers in progress
                for name in sorted(names):
                    if name.startswith(".") and name.endswith(PART_SUFFIX):
                        continue
                    yield Path(root) / name
        else:
            yield path


def dumps(value: Any) -> str:
    """Compact JSON for the ``row``/``report`` text columns."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


__all__ += ["check_uid", "create_exclusive", "dumps", "DICOMDIR_CLASS"]
