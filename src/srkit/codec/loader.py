"""Load bytes and files into a pydicom Dataset (PS3.10 Section 7, PS3.5 Section 7).

:func:`load` is the codec's one way in from bytes: little endian files go through
srkit's fast parser (:mod:`srkit.codec.fastparse`, which does not import pydicom),
anything else and anything that parser refuses through pydicom. The result is a
:class:`Loaded` value: the top level and, when the fast parser split the file, its
top-level sequences already parsed into light items. The reader
(:func:`srkit.codec.reader.read_loaded`) takes that value as it is; nothing is
attached to the Dataset.

Failures become srkit errors naming the file: never a pydicom traceback.
"""

from __future__ import annotations

import os
import struct
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any

from srkit.codec import fastparse
from srkit.codec import tags as T
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.light import FastParseError, LightDataset, LightFile
from srkit.codec.values import elements, value_reader
from srkit.errors import NotDicomError, SrkitError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "Loaded",
    "Source",
    "load",
    "load_dataset",
    "prune_children",
    "remembered_sequences",
    "short_error",
    "source_name",
]

Source = str | os.PathLike[str] | IO[bytes]
"""What :func:`load` reads: a path or a binary file object."""

_NO_SEQUENCES: Mapping[int, Sequence[LightDataset]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Loaded:
    """A loaded data set and what the fast parser already parsed of it.

    Parameters
    ----------
    top : LightFile or pydicom.Dataset
        The top level as the reader walks it: the fast parser's
        :class:`~srkit.codec.light.LightFile`, or the Dataset pydicom parsed.
        :attr:`dataset` is it as an ordinary pydicom Dataset.
    sequences : mapping of int to list of LightDataset
        Tag -> items of each top-level sequence the fast parser split (empty when
        pydicom parsed the file). The items are the same elements as the raw
        sequence in ``dataset``, parsed once; the reader walks the content tree
        through them instead of letting pydicom build a Dataset per item.
    name : str or None
        The file the data set came from, for messages.
    fast : bool
        Whether srkit's fast parser split the file (rather than pydicom).
    """

    top: LightFile | Dataset
    sequences: Mapping[int, Sequence[LightDataset]] = field(default_factory=dict)
    name: str | None = None
    fast: bool = False

    @property
    def dataset(self) -> Dataset:
        """The top level as a pydicom Dataset (made once, on first use, for a fast parse)."""
        top = self.top
        if type(top) is LightFile:
            return top.to_pydicom()
        return top  # type: ignore[return-value]


def source_name(source: object) -> str:
    """The name of a path or file object, for messages (``<stream>`` if it has none)."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def short_error(exc: BaseException) -> str:
    """The first line of an exception's text (at most 160 characters), for messages."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def load(source: Source, *, stop_before_pixels: bool = False) -> Loaded:
    """Parse a DICOM file (with or without preamble), mapping failures to srkit errors.

    Parameters
    ----------
    source : path or binary file
        The file. A file object is read from its current position and left there.
    stop_before_pixels : bool
        Passed to pydicom when it parses the file.

    Returns
    -------
    Loaded
        The dataset, and its parsed top-level sequences when the fast parser split it.

    Raises
    ------
    SrkitError
        No such file, a directory, permission denied.
    NotDicomError
        The file is not DICOM, is empty or is truncated in its top-level elements.
    """
    name = source_name(source)
    fast = _fast_load(source, name)
    if fast is not None:
        return fast
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = dcmread(source, stop_before_pixels=stop_before_pixels)
            except InvalidDicomError:
                if not isinstance(source, str | os.PathLike):
                    source.seek(0)
                ds = dcmread(source, force=True, stop_before_pixels=stop_before_pixels)
    except FileNotFoundError:
        raise SrkitError("no such file", source=name) from None
    except IsADirectoryError:
        raise SrkitError("is a directory", source=name) from None
    except PermissionError:
        raise SrkitError("permission denied", source=name) from None
    except Exception as exc:  # pydicom raises many kinds on garbage input
        if isinstance(exc, EOFError) or "No tag to read" in str(exc):
            raise NotDicomError(
                f"truncated or corrupt DICOM file ({short_error(exc)})",
                source=name,
                code=ReadCode.FILE_TRUNCATED,
            ) from None
        raise NotDicomError(
            f"not a readable DICOM file ({short_error(exc)})", source=name
        ) from None
    keys = list(elements(ds))
    if not keys or not any(0x00080000 <= k < 0xFFFE0000 for k in keys):
        if getattr(ds, "preamble", None) is not None or ds.get("file_meta"):
            raise NotDicomError(
                "truncated DICOM file (no data elements after the header)",
                source=name,
                code=ReadCode.FILE_TRUNCATED,
            )
        raise NotDicomError(
            "not a DICOM file (no data elements found)", source=name, code=ReadCode.NOT_DICOM
        )
    if any(k >= 0xFFFE0000 for k in keys) or (
        0x00080016 not in elements(ds)
        and 0x0040A040 not in elements(ds)
        and 0x00100010 not in elements(ds)
    ):
        raise NotDicomError(
            "not a DICOM file (no SOP Class UID, patient or content found)",
            source=name,
            code=ReadCode.NOT_DICOM,
        )
    return Loaded(ds, _NO_SEQUENCES, name)


def load_dataset(source: Source, *, stop_before_pixels: bool = False) -> Dataset:
    """The dataset of :func:`load`, for callers that keep only a Dataset.

    Prefer :func:`load` and :func:`srkit.codec.reader.read_loaded`. For callers that
    pass the bare Dataset on to :func:`srkit.codec.reader.read_dataset` (the
    database's import path today), the loader remembers the fast parser's
    sequences for as long as the dataset lives (:func:`remembered_sequences`), so
    the content is not parsed twice; nothing is attached to the dataset.
    """
    loaded = load(source, stop_before_pixels=stop_before_pixels)
    if loaded.sequences:
        key = id(loaded.dataset)
        _REMEMBERED[key] = loaded.sequences
        weakref.finalize(loaded.dataset, _REMEMBERED.pop, key, None)
    return loaded.dataset


_REMEMBERED: dict[int, Mapping[int, Sequence[LightDataset]]] = {}
"""id(dataset) -> its fast-parsed sequences, for datasets returned by :func:`load_dataset`
that are still alive (each entry leaves with its dataset)."""


def remembered_sequences(ds: object) -> Mapping[int, Sequence[LightDataset]] | None:
    """The fast parser's sequences of a dataset :func:`load_dataset` returned, if any."""
    return _REMEMBERED.get(id(ds))


def _fast_load(source: Source, name: str) -> Loaded | None:
    try:
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as fh:
                data = fh.read()
        else:
            start = source.tell()
            data = source.read()
            source.seek(start)
    except OSError:
        return None  # pydicom's path reports it
    try:
        ds, parsed = fastparse.parse_file(data, name)
    except (FastParseError, struct.error, ValueError, IndexError):
        return None
    if not _looks_like_dicom(ds):
        return None
    return Loaded(ds, parsed, name, fast=True)


def _looks_like_dicom(ds: LightFile) -> bool:
    keys = list(elements(ds))
    return bool(keys) and any(
        k in elements(ds) for k in (0x00080016, 0x0040A040, 0x00100010, T.FINDINGS_SEQUENCE_TRIAL)
    )


def prune_children(loaded: Loaded | Dataset, concepts: frozenset[tuple[str, str]]) -> int:
    """Drop the subtrees of the root's children whose concept name is in ``concepts``.

    For callers that never use them (the image library of a measurement report is
    most of its items); call before reading.

    Parameters
    ----------
    loaded : Loaded or pydicom.Dataset
        What :func:`load` returned (or a dataset pydicom parsed).
    concepts : frozenset of (str, str)
        (code value, coding scheme designator) of the children to cut.

    Returns
    -------
    int
        How many subtrees were cut.
    """
    items: Any = None
    if isinstance(loaded, Loaded):
        ds: Any = loaded.top
        items = loaded.sequences.get(T.CONTENT_SEQUENCE)
    else:
        ds = loaded
        items = (remembered_sequences(ds) or {}).get(T.CONTENT_SEQUENCE)
    if items is None:
        try:
            items = ds[T.CONTENT_SEQUENCE].value if T.CONTENT_SEQUENCE in elements(ds) else ()
        except Exception:
            return 0
    cut = 0
    reader = value_reader("latin_1")
    for item in items:
        names = elements(item).get(T.CONCEPT_NAME_CODE_SEQUENCE)
        try:
            codes = names.value if names is not None else None
            if not codes:
                continue
            value = reader.string(codes[0], T.CODE_VALUE, "SH")
            scheme = reader.string(codes[0], T.CODING_SCHEME_DESIGNATOR, "SH")
        except Exception:
            continue
        if (value, scheme) in concepts and T.CONTENT_SEQUENCE in elements(item):
            del elements(item)[T.CONTENT_SEQUENCE]
            cut += 1
    return cut
