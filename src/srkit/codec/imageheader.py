"""The header of an image file without pydicom: the attributes a volume is made from.

:func:`read_image_header` splits a native little endian Part 10 file (Implicit or
Explicit VR Little Endian, PS3.10 7.1, PS3.5 7) up to its pixel data with the fast
parser's splitter (:mod:`srkit.codec.fastparse`) and gives an :class:`ImageHeader`:
raw elements by tag, and the values of the image attributes of :data:`IMAGE_ATTRIBUTES`
(Image Plane, Image Pixel, Modality and VOI LUT, the series facts a NIfTI sidecar
names; PS3.3 C.7.6.2, C.7.6.3, C.11.1, C.11.2) decoded here, with the values pydicom
gives: a Decimal or Integer String keeps its text (:class:`DecimalString`,
:class:`IntegerString`), several values are a list.

Whatever this module does not decode itself (another attribute, an unexpected VR, a
value that is not plain ASCII or not a well-formed number, a sequence) comes from the
pydicom ``FileDataset`` of the same bytes, made on first need
(:meth:`ImageHeader.to_pydicom`, what :func:`srkit.codec.fastparse.parse_header`
gives), so no value is lost or read differently; an image that needs none of that is
read without importing pydicom. Files the splitter leaves alone (no ``DICM`` prefix,
another transfer syntax, malformed lengths) give ``None``: the caller reads them with
pydicom.
"""

from __future__ import annotations

import os
import re
import struct
from typing import TYPE_CHECKING, Any, NamedTuple

from srkit.codec import fastparse
from srkit.codec.light import FastParseError

if TYPE_CHECKING:
    from pydicom.dataset import FileDataset

__all__ = [
    "IMAGE_ATTRIBUTES",
    "DecimalString",
    "ImageHeader",
    "IntegerString",
    "PixelElement",
    "parse_image_header",
    "read_image_header",
]

PixelElement = fastparse.PixelElement

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
FIRST_READ = 1 << 16
"""Bytes read first (an image's header is usually a few kilobytes); the read doubles
until the header ends."""


class Attribute(NamedTuple):
    tag: int
    vr: str


IMAGE_ATTRIBUTES: dict[str, Attribute] = {
    name: Attribute(tag, vr)
    for name, tag, vr in (
        ("SpecificCharacterSet", 0x00080005, "CS"),
        ("ImageType", 0x00080008, "CS"),
        ("SOPClassUID", 0x00080016, "UI"),
        ("SOPInstanceUID", 0x00080018, "UI"),
        ("Modality", 0x00080060, "CS"),
        ("Manufacturer", 0x00080070, "LO"),
        ("SeriesDescription", 0x0008103E, "LO"),
        ("ManufacturerModelName", 0x00081090, "LO"),
        ("BodyPartExamined", 0x00180015, "CS"),
        ("SliceThickness", 0x00180050, "DS"),
        ("KVP", 0x00180060, "DS"),
        ("RepetitionTime", 0x00180080, "DS"),
        ("EchoTime", 0x00180081, "DS"),
        ("MagneticFieldStrength", 0x00180087, "DS"),
        ("SpacingBetweenSlices", 0x00180088, "DS"),
        ("SoftwareVersions", 0x00181020, "LO"),
        ("ProtocolName", 0x00181030, "LO"),
        ("GantryDetectorTilt", 0x00181120, "DS"),
        ("ConvolutionKernel", 0x00181210, "SH"),
        ("FlipAngle", 0x00181314, "DS"),
        ("PatientPosition", 0x00185100, "CS"),
        ("DiffusionGradientOrientation", 0x00189089, "FD"),
        ("MRDiffusionSequence", 0x00189117, "SQ"),
        ("StudyInstanceUID", 0x0020000D, "UI"),
        ("SeriesInstanceUID", 0x0020000E, "UI"),
        ("SeriesNumber", 0x00200011, "IS"),
        ("AcquisitionNumber", 0x00200012, "IS"),
        ("InstanceNumber", 0x00200013, "IS"),
        ("ImagePositionPatient", 0x00200032, "DS"),
        ("ImageOrientationPatient", 0x00200037, "DS"),
        ("FrameOfReferenceUID", 0x00200052, "UI"),
        ("SliceLocation", 0x00201041, "DS"),
        ("SamplesPerPixel", 0x00280002, "US"),
        ("PhotometricInterpretation", 0x00280004, "CS"),
        ("NumberOfFrames", 0x00280008, "IS"),
        ("Rows", 0x00280010, "US"),
        ("Columns", 0x00280011, "US"),
        ("PixelSpacing", 0x00280030, "DS"),
        ("BitsAllocated", 0x00280100, "US"),
        ("BitsStored", 0x00280101, "US"),
        ("HighBit", 0x00280102, "US"),
        ("PixelRepresentation", 0x00280103, "US"),
        ("WindowCenter", 0x00281050, "DS"),
        ("WindowWidth", 0x00281051, "DS"),
        ("RescaleIntercept", 0x00281052, "DS"),
        ("RescaleSlope", 0x00281053, "DS"),
        ("RescaleType", 0x00281054, "LO"),
        ("WindowCenterWidthExplanation", 0x00281055, "LO"),
        ("Units", 0x00541001, "CS"),
    )
}
"""Keyword -> (tag, VR of the data dictionary, PS3.6) of the attributes decoded here
(tests/load/test_imageheader.py checks them against pydicom's dictionary)."""


class DecimalString(float):
    """A Decimal String value (PS3.5 6.2 DS): the number, and its text as ``str``
    (pydicom's ``DSfloat``)."""

    original_string: str

    def __new__(cls, text: str) -> DecimalString:
        value = super().__new__(cls, text)
        value.original_string = text
        return value

    def __str__(self) -> str:
        return self.original_string

    def __repr__(self) -> str:
        return f"'{self.original_string}'"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        return float(self) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = float.__hash__


class IntegerString(int):
    """An Integer String value (PS3.5 6.2 IS): the number, and its text as ``str``
    (pydicom's ``IS``)."""

    original_string: str

    def __new__(cls, text: str) -> IntegerString:
        value = super().__new__(cls, text)
        value.original_string = text
        return value

    def __str__(self) -> str:
        return self.original_string

    def __repr__(self) -> str:
        return f"'{self.original_string}'"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        return int(self) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = int.__hash__


_DS = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_IS = re.compile(r"[+-]?[0-9]{1,12}")
_US = struct.Struct("<H")
_FD = struct.Struct("<d")
_DECLINE = object()
"""What a decoder returns for a value it leaves to pydicom."""
_MISSING = object()


def _text(raw: bytes) -> str | None:
    """ASCII bytes as text (read the same under every character set pydicom knows);
    ``None`` for anything else."""
    if not raw.isascii() or b"\x1b" in raw:
        return None
    return raw.decode("ascii")


def _strings(raw: bytes, vr: str) -> Any:
    text = _text(raw)
    if text is None:
        return _DECLINE
    if vr in ("CS", "UI"):  # pydicom strips the padding of the whole value, then splits
        parts = text.rstrip(" \x00").split("\\")
    else:  # LO, SH: each value loses its trailing padding
        parts = [p.rstrip("\x00 ") for p in text.split("\\")]
    return parts[0] if len(parts) == 1 else parts


def _numbers(raw: bytes, vr: str) -> Any:
    text = _text(raw)
    if text is None:
        return _DECLINE
    parts = text.strip(" \x00").split("\\")
    pattern, make = (_DS, DecimalString) if vr == "DS" else (_IS, IntegerString)
    out: list[Any] = []
    for part in parts:
        part = part.strip(" ")
        if len(part) > 16 or not pattern.fullmatch(part):
            return _DECLINE  # empty, malformed or too long: pydicom's reading and warnings
        out.append(make(part))
    return out[0] if len(out) == 1 else out


def _binary(raw: bytes, vr: str) -> Any:
    item = _US if vr == "US" else _FD
    if len(raw) % item.size:
        return _DECLINE
    values = [v for (v,) in item.iter_unpack(raw)]
    return values[0] if len(values) == 1 else values


_EMPTY_IS_NONE = frozenset({"DS", "IS", "US", "FD"})
_DECODERS = {
    "CS": _strings,
    "UI": _strings,
    "LO": _strings,
    "SH": _strings,
    "DS": _numbers,
    "IS": _numbers,
    "US": _binary,
    "FD": _binary,
}


class ImageHeader:
    """The header of one native little endian image file, decoded without pydicom.

    Answers what the load layer asks of a header the way a pydicom ``Dataset`` does:
    ``header.Rows``, ``header.get("WindowCenter")``, ``"Units" in header``;
    ``_dict`` holds the raw elements by tag. Any other keyword, and any value not
    decoded here, is the pydicom dataset's (:meth:`to_pydicom`).
    """

    __slots__ = ("_bytes", "_dict", "_pydicom", "_values", "filename", "meta", "transfer_syntax")

    def __init__(
        self,
        filename: str,
        data: bytes,
        meta: dict[int, Any],
        elements: dict[int, Any],
        transfer_syntax: str,
    ) -> None:
        self.filename = filename
        self._bytes = data
        self.meta = meta
        self._dict = elements
        self.transfer_syntax = transfer_syntax
        self._values: dict[int, Any] = {}
        self._pydicom: FileDataset | None = None

    @property
    def is_implicit_VR(self) -> bool:
        return self.transfer_syntax == IMPLICIT_LE

    @property
    def decoded(self) -> bool:
        """Whether pydicom's dataset has not been needed (yet)."""
        return self._pydicom is None

    def to_pydicom(self) -> FileDataset:
        """The pydicom ``FileDataset`` of the header's bytes (made on the first call):
        what :func:`srkit.codec.fastparse.parse_header` gives for them."""
        if self._pydicom is None:
            parsed = fastparse.parse_header(self._bytes, self.filename)
            if parsed is None:  # pragma: no cover - these bytes parsed once already
                raise FastParseError(f"{self.filename}: the header no longer parses")
            self._pydicom = parsed[0]
        return self._pydicom

    def _value(self, name: str) -> Any:
        """The value of attribute ``name``, ``_MISSING`` when absent."""
        attribute = IMAGE_ATTRIBUTES.get(name)
        if attribute is None:
            dataset: Any = self.to_pydicom()
            return getattr(dataset, name, _MISSING)
        tag = attribute.tag
        known = self._values.get(tag, _MISSING)
        if known is not _MISSING:
            return known
        elem = self._dict.get(tag)
        if elem is None:
            return _MISSING
        value = self._decode(elem, attribute.vr)
        if value is _DECLINE:
            value = getattr(self.to_pydicom(), name, _MISSING)
        self._values[tag] = value
        return value

    @staticmethod
    def _decode(elem: Any, vr: str) -> Any:
        if elem.VR not in (None, vr) or not elem.is_little_endian:
            return _DECLINE
        raw = elem.value
        if not isinstance(raw, bytes):
            return _DECLINE
        if not raw:  # pydicom's empty value of the VR
            return None if vr in _EMPTY_IS_NONE else ""
        decoder = _DECODERS.get(vr)
        return _DECLINE if decoder is None else decoder(raw, vr)

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            value = self._value(name)
            if value is not _MISSING:
                return value
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def get(self, name: str, default: Any = None) -> Any:
        value = self._value(name)
        return default if value is _MISSING else value

    def __contains__(self, name: object) -> bool:
        if isinstance(name, int):
            return name in self._dict
        attribute = IMAGE_ATTRIBUTES.get(str(name))
        if attribute is not None:
            return attribute.tag in self._dict
        dataset: Any = self.to_pydicom()
        return name in dataset

    def __repr__(self) -> str:
        return f"ImageHeader({self.filename!r}, {len(self._dict)} elements)"


def parse_image_header(
    data: bytes, filename: str = "", *, whole: bool = True
) -> tuple[ImageHeader, PixelElement | None] | None:
    """The :class:`ImageHeader` of a file's bytes and where its pixel data element is.

    Parameters
    ----------
    data : bytes
        The file's bytes, or (``whole=False``) only its start.
    filename : str
        The file (the header's ``filename``).
    whole : bool
        Whether ``data`` is the whole file.

    Returns
    -------
    (ImageHeader, PixelElement or None), or None
        ``None`` when ``data`` is only the start of the file and the header runs past
        it (read more and call again).

    Raises
    ------
    FastParseError
        For what :func:`srkit.codec.fastparse.parse_header` leaves to pydicom (the same
        checks): no ``DICM`` prefix, no or another transfer syntax than the two native
        little endian ones, a first element in the other VR encoding, bad lengths.
    """
    core = fastparse._core
    if len(data) < 132 or data[128:132] != b"DICM":
        raise FastParseError("no DICM prefix")
    try:
        meta, pos = core.meta_elements(data, 132)
    except FastParseError:
        if whole:
            raise
        return None
    ts_elem = meta.get(0x00020010)
    if ts_elem is None:
        raise FastParseError("no transfer syntax")
    ts = bytes(ts_elem.value or b"").decode("ascii", "replace").strip("\x00 ")
    if ts not in (IMPLICIT_LE, EXPLICIT_LE):
        raise FastParseError(f"transfer syntax {ts}")
    implicit = ts == IMPLICIT_LE
    if pos + 6 <= len(data):
        a, b = data[pos + 4], data[pos + 5]
        if (not (0x40 < a < 0x5B and 0x40 < b < 0x5B)) != implicit:
            raise FastParseError("the first element's VR encoding is not the transfer syntax's")
    elif not whole:
        return None
    try:
        elements, found = core.parse_header_body(data, pos, implicit)
    except FastParseError:
        if whole:
            raise
        return None
    if found is None and not whole:
        return None
    where = None if found is None else PixelElement(*found)
    end = len(data) if where is None else where.offset
    header = ImageHeader(filename, data[:end], meta, elements, ts)
    return header, where


def read_image_header(path: str) -> tuple[ImageHeader, PixelElement | None] | None:
    """The :class:`ImageHeader` of a file, read up to its pixel data, and where that
    element is; ``None`` for a file to read with pydicom (see
    :func:`parse_image_header`), or one that cannot be opened (pydicom then names the
    problem)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(FIRST_READ)
            while True:
                try:
                    parsed = parse_image_header(data, path, whole=len(data) >= size)
                except FastParseError:
                    return None
                if parsed is not None:
                    return parsed
                more = fh.read(max(len(data), FIRST_READ))
                if not more:
                    return None
                data += more
    except OSError:
        return None
