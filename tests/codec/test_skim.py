"""The index's header skim (:func:`srkit.codec.fastparse.skim`) on real files, on
sequences it must step over, on cut and mutated bytes, and the compiled and
pure-Python walks against each other."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from srkit.codec import _fastparse, fastparse
from srkit.codec.fastparse import FastParseError, PixelDataCutShort
from tests.conftest import data_path, skip_or_fail

CT = "ct/pydicom_CT_small.dcm"
NAME, UID, ROWS, SERIES = 0x00100010, 0x00080018, 0x00280010, 0x0020000E
WANTED = frozenset({NAME, UID, ROWS, SERIES})


def _make(tag: int, vr: str | None, length: int, value: bytes, offset: int) -> tuple[Any, ...]:
    return (tag, vr, length, value, offset)


def _skim(
    data: bytes,
    size: int | None = None,
    tail: Callable[[int], bytes | None] | None = None,
    wanted: frozenset[int] = WANTED,
) -> dict[int, Any]:
    meta, pos = fastparse._core.meta_elements(data, 132)
    implicit = meta[0x00020010].value.rstrip(b"\0 ") == ImplicitVRLittleEndian.encode()
    return fastparse.skim(
        data, pos, len(data) if size is None else size, implicit, tail, wanted, _make
    )


def _part10(ds: Dataset, syntax: str) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(
        out,
        enforce_file_format=True,
        implicit_vr=syntax == ImplicitVRLittleEndian,
        little_endian=True,
    )
    return out.getvalue()


def test_a_real_ct_gives_the_wanted_values_at_their_offsets() -> None:
    path = data_path(CT)
    data = path.read_bytes()
    elements = _skim(data)
    ds = pydicom.dcmread(path)
    assert set(elements) == WANTED
    _tag, vr, length, value, offset = elements[NAME]
    assert (vr, value.rstrip(b" ").decode()) == ("PN", str(ds.PatientName))
    assert data[offset : offset + length] == value
    assert elements[UID][3].rstrip(b"\0").decode() == ds.SOPInstanceUID
    assert int.from_bytes(elements[ROWS][3], "little") == ds.Rows == 128


def _with_sequences(depth: int, syntax: str) -> bytes:
    """A small image with an undefined-length sequence nested ``depth`` deep (each
    item of undefined length too) between the wanted Series Instance UID and Rows."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName = "Doe^Jane"
    ds.SeriesInstanceUID = "1.2.3.5"
    inner = Dataset()
    inner.CodeValue = "T-D0050"
    holder = ds
    for level in range(depth):
        item = Dataset() if level < depth - 1 else inner
        item.is_undefined_length_sequence_item = True
        keyword = "ReferencedImageSequence" if level == 0 else "ReferencedSOPSequence"
        setattr(holder, keyword, Sequence([item]))
        holder[keyword].is_undefined_length = True
        holder = item
    ds.Rows, ds.Columns, ds.BitsAllocated = 2, 2, 8
    ds.PixelData = b"\x01\x02\x03\x04"
    return _part10(ds, syntax)


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_undefined_length_sequences_are_stepped_over(syntax: str) -> None:
    data = _with_sequences(5, syntax)
    assert data.count(b"\xfe\xff\xdd\xe0") == 5  # sequence delimiters written
    assert data.count(b"\xfe\xff\x0d\xe0") == 5  # item delimiters
    elements = _skim(data)
    assert set(elements) == WANTED
    assert int.from_bytes(elements[ROWS][3], "little") == 2  # after the sequence
    assert elements[SERIES][3].rstrip(b"\0") == b"1.2.3.5"


def test_nesting_beyond_the_limit_is_left_to_the_whole_parse() -> None:
    deepest = _fastparse.SKIM_MAX_DEPTH
    assert set(_skim(_with_sequences(deepest, ExplicitVRLittleEndian))) == WANTED
    with pytest.raises(FastParseError):
        _skim(_with_sequences(deepest + 1, ExplicitVRLittleEndian))


def test_cut_bytes() -> None:
    data = data_path(CT).read_bytes()
    pixel_at = data.index(b"\xe0\x7f\x10\x00OW")
    with pytest.raises(PixelDataCutShort):
        _skim(data[: pixel_at + 12 + 100])
    for cut in (
        len(data) - 1,  # inside the trailing padding (FFFC,FFFC) after the Pixel Data
        _skim(data)[ROWS][4] + 1,  # inside a wanted value
        pixel_at + 6,  # inside an element header
    ):
        with pytest.raises(FastParseError) as caught:
            _skim(data[:cut])
        assert not isinstance(caught.value, PixelDataCutShort), cut
    with pytest.raises(FastParseError):  # stray bytes after the last element
        _skim(data + b"\x10\x00")


def test_the_rest_of_a_file_from_tail_gives_the_same_elements() -> None:
    data = data_path(CT).read_bytes()
    whole = _skim(data)
    pixel_at = data.index(b"\xe0\x7f\x10\x00")
    asked: list[int] = []

    def tail(offset: int) -> bytes:
        asked.append(offset)
        return data[offset:]

    assert _skim(data[:pixel_at], size=len(data), tail=tail) == whole
    assert asked == [pixel_at]  # read once, from the first element not in hand
    with pytest.raises(FastParseError):  # the rest not given
        _skim(data[:pixel_at], size=len(data), tail=lambda offset: None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["ct", "implicit", "explicit"]),
    st.integers(min_value=0, max_value=1 << 20),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(0, 255)), max_size=4
    ),
)
def test_the_compiled_and_pure_walks_agree_on_cut_and_mutated_bytes(
    kind: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    compiled = fastparse._compiled
    if compiled is None:
        skip_or_fail("the compiled parser is not built (python3 setup.py build_ext --inplace)")
    data = _samples()[kind]
    meta, pos = _fastparse.meta_elements(data, 132)
    implicit = meta[0x00020010].value.rstrip(b"\0 ") == ImplicitVRLittleEndian.encode()
    body = bytearray(data)
    for at, byte in flips:
        body[pos + at % (len(data) - pos)] = byte
    mutated = bytes(body[: pos + cut % (len(data) - pos + 1)])
    assert _run(compiled, mutated, pos, implicit) == _run(_fastparse, mutated, pos, implicit)


def _run(core: Any, data: bytes, pos: int, implicit: bool) -> Any:
    try:
        return core.skim(data, pos, len(data), implicit, None, WANTED, _make)
    except PixelDataCutShort:
        return "cut short"
    except FastParseError:
        return "unusual"


@functools.cache
def _samples() -> dict[str, bytes]:
    path = Path(data_path(CT))
    return {
        "ct": path.read_bytes(),
        "implicit": _with_sequences(3, ImplicitVRLittleEndian),
        "explicit": _with_sequences(3, ExplicitVRLittleEndian),
    }
