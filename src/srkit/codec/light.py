"""The values the fast parser makes: raw elements, light items and a light file (PS3.5 7.1).

:class:`RawElement` has the fields of pydicom's ``RawDataElement`` (tag, VR, length,
value bytes, value offset, implicit VR, little endian), so code that reads a raw
element of either kind needs no case for each; :class:`LightDataset` is a sequence
item or the top level, raw elements by tag; :class:`LightSequence` a parsed
sequence. None of this imports pydicom: ``srkit dump`` reads a little endian file
without it. pydicom is imported on the first request for a pydicom object
(``ds[tag]`` converts an element, :meth:`LightDataset.to_pydicom`,
:meth:`LightFile.to_pydicom`), and :class:`PydicomHeader` is what a document keeps
as its header: the pydicom ``FileDataset`` of the file, made when first used.

These classes are shared by both implementations of the parser (the compiled one
and the pure-Python one, :mod:`srkit.codec.fastparse`), so a document read by
either holds values of the same types.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset, FileDataset

__all__ = [
    "FastParseError",
    "LightDataset",
    "LightFile",
    "LightSequence",
    "PixelDataCutShort",
    "PydicomHeader",
    "RawElement",
    "is_raw",
]


class FastParseError(Exception):
    """The bytes are not what the fast parser handles; use pydicom's parser instead."""


class PixelDataCutShort(FastParseError):
    """The Pixel Data's declared length runs past the end of the file (the index's
    header scan, :func:`srkit.codec.fastparse.skim`, reports it as a truncated file)."""


class RawElement(NamedTuple):
    """One element as the fast parser split it: the value is still bytes.

    The fields are those of pydicom's ``RawDataElement``; ``VR`` is ``None`` for
    implicit VR data (the reader knows the VR it asks for).
    """

    tag: int
    VR: str | None
    length: int
    value: bytes | None
    value_tell: int
    is_implicit_VR: bool
    is_little_endian: bool


def is_raw(elem: object) -> bool:
    """Whether ``elem`` is a raw element (srkit's or pydicom's): still bytes, unconverted."""
    return isinstance(elem, tuple)


def _pydicom_raw(elem: Any) -> Any:
    """pydicom's ``RawDataElement`` for a raw element (of either kind)."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import BaseTag

    if type(elem) is RawDataElement:
        return elem
    return RawDataElement(BaseTag(elem.tag), *elem[1:])


class LightSequence:
    """A parsed sequence: its items and the element's place."""

    __slots__ = ("items", "tag", "undefined")

    def __init__(self, tag: int, items: list[LightDataset], undefined: bool) -> None:
        self.tag = tag
        self.items = items
        self.undefined = undefined

    VR = "SQ"

    @property
    def value(self) -> list[LightDataset]:
        return self.items


class LightDataset:
    """A sequence item: raw elements by tag, decoded on request.

    Supports the parts of the ``Dataset`` interface srkit's codec uses: ``_dict``,
    ``ds[tag]`` (a converted pydicom ``DataElement``), ``tag in ds``, iteration and
    :meth:`to_pydicom` for writing.
    """

    __slots__ = ("_dict", "encoding")

    def __init__(self, elements: dict[int, Any], encoding: Any = None) -> None:
        self._dict = elements
        self.encoding = encoding

    def __contains__(self, tag: object) -> bool:
        return tag in self._dict

    def __len__(self) -> int:
        return len(self._dict)

    def keys(self) -> Any:
        return self._dict.keys()

    def __getitem__(self, tag: int) -> DataElement:
        from pydicom.dataelem import DataElement, convert_raw_data_element
        from pydicom.sequence import Sequence
        from pydicom.tag import Tag

        elem = self._dict[int(tag)]
        if type(elem) is LightSequence:
            return DataElement(Tag(tag), "SQ", Sequence([item.to_pydicom() for item in elem.items]))
        return convert_raw_data_element(_pydicom_raw(elem), encoding=self._python_encodings())

    def _python_encodings(self) -> Any:
        """The character set as pydicom's converters take it (Python codec names)."""
        if self.encoding is None:
            return None
        from pydicom.charset import convert_encodings

        return convert_encodings(self.encoding)

    def __iter__(self) -> Iterator[DataElement]:
        for tag in sorted(self._dict):
            yield self[tag]

    def to_pydicom(self) -> Dataset:
        """An ordinary pydicom Dataset with the same elements."""
        from pydicom.dataset import Dataset

        ds = Dataset()
        if self.encoding is not None:
            ds._parent_encoding = self._python_encodings()
        self._fill(ds)
        return ds

    def _fill(self, ds: Dataset) -> None:
        from pydicom.tag import BaseTag

        for tag, elem in self._dict.items():
            if type(elem) is LightSequence:
                ds.add(self[tag])
            else:
                raw = _pydicom_raw(elem)
                ds._dict[raw.tag if type(raw.tag) is BaseTag else BaseTag(tag)] = raw


class LightFile(LightDataset):
    """The top level of a file the fast parser split, with its File Meta Information.

    Top-level sequences stay raw (their bytes), as pydicom keeps them; their parsed
    items are handed to the reader beside the file. :meth:`to_pydicom` makes the
    pydicom ``FileDataset`` once.
    """

    __slots__ = ("_pydicom", "filename", "is_implicit_VR", "meta", "preamble")

    def __init__(
        self,
        elements: dict[int, Any],
        encoding: Any,
        meta: dict[int, Any],
        preamble: bytes | None,
        is_implicit_VR: bool,
        filename: str,
    ) -> None:
        super().__init__(elements, encoding)
        self.meta = meta
        self.preamble = preamble
        self.is_implicit_VR = is_implicit_VR
        self.filename = filename
        self._pydicom: FileDataset | None = None

    def __getitem__(self, tag: int) -> DataElement:
        # converted by the FileDataset, which knows the private creators and charset
        element: DataElement = self.to_pydicom()[tag]
        return element

    def to_pydicom(self) -> FileDataset:
        """The pydicom ``FileDataset`` of these elements (made on the first call)."""
        if self._pydicom is None:
            from pydicom.dataset import FileDataset, FileMetaDataset

            meta = FileMetaDataset()
            for elem in self.meta.values():
                raw = _pydicom_raw(elem)
                meta._dict[raw.tag] = raw
            ds = FileDataset(
                self.filename,
                {},
                preamble=self.preamble,
                file_meta=meta,
                is_implicit_VR=self.is_implicit_VR,
                is_little_endian=True,
            )
            self._fill(ds)
            self._pydicom = ds
        return self._pydicom


class PydicomHeader:
    """A document's header: stands for the pydicom ``FileDataset`` of a light file.

    Every attribute, item and test is the dataset's, which is made on first use
    (``isinstance(header, pydicom.Dataset)`` is true, too); a document that is only
    printed never imports pydicom.
    """

    __slots__ = ("_light",)

    def __init__(self, light: LightFile) -> None:
        self._light = light

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._light.to_pydicom())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._light.to_pydicom(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_light":
            object.__setattr__(self, name, value)
        else:
            setattr(self._light.to_pydicom(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._light.to_pydicom(), name)

    def __getitem__(self, key: Any) -> Any:
        return self._light.to_pydicom()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._light.to_pydicom()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._light.to_pydicom()[key]

    def __contains__(self, key: object) -> bool:
        dataset: Any = self._light.to_pydicom()
        return key in dataset

    def __iter__(self) -> Iterator[Any]:
        return iter(self._light.to_pydicom())

    def __len__(self) -> int:
        return len(self._light.to_pydicom())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PydicomHeader):
            other = other._light.to_pydicom()
        return bool(self._light.to_pydicom() == other)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return repr(self._light.to_pydicom())

    def __str__(self) -> str:
        return str(self._light.to_pydicom())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_identity, (self._light.to_pydicom(),))


def _identity(value: Any) -> Any:
    return value
