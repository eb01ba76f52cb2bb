"""The index's scan of received images (srkit.db.header): the same record as the whole
parse on every real file it takes, files cut short refused, the rest left to the parser."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest

from srkit.codec.diagnostic_codes import ReadCode
from srkit.db import ingest
from srkit.db.header import ScannedHeader, scan
from srkit.errors import SrkitError
from srkit.model.sopclass import is_sr_sop_class
from tests.bigdata import big_ct
from tests.conftest import DATA, data_path

CT = "ct/pydicom_CT_small.dcm"


def _whole_record(data: bytes, name: str) -> dict:
    """The record of the whole parse (srkit's fast parser or pydicom), as before the scan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ingest._load(data, name)
        return ingest._record(ds, data, name, "a DICOMDIR")


def _real_files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*.dcm") if p.is_file()) if DATA.exists() else []


def test_scan_gives_the_whole_parse_record_on_every_real_file() -> None:
    data_path(CT)
    scanned = set()
    for path in _real_files():
        data = path.read_bytes()
        try:
            expected = _whole_record(data, str(path))
        except SrkitError:
            assert scan(data) is None, path
            continue
        _ds, rec = ingest.parse_received(data, str(path))
        assert rec == expected, path
        header = scan(data)
        if header is not None:
            scanned.add(path.relative_to(DATA).parts[0])
            assert not is_sr_sop_class(rec["instance"]["sop_class_uid"]), path
    # the images of the data are scanned, SR documents never (their content is indexed)
    assert {"ct", "mr", "seg"} <= scanned
    assert not scanned & {"rdsr", "sr-tid1500", "sr-other", "kos"}


def test_scan_reads_only_indexed_attributes() -> None:
    data = data_path(CT).read_bytes()
    header = scan(data)
    assert isinstance(header, ScannedHeader)
    assert 0x7FE00010 not in header  # Pixel Data stepped over, never copied
    assert 0x00100010 in header  # Patient's Name
    ds = pydicom.dcmread(data_path(CT))
    assert header._dict[0x00080018].value.rstrip(b"\0").decode() == ds.SOPInstanceUID


def test_pixel_data_cut_short_is_refused() -> None:
    data = data_path(CT).read_bytes()
    with pytest.raises(SrkitError) as caught:
        scan(data[:-3000])
    assert caught.value.code == ReadCode.FILE_TRUNCATED


def test_an_unparsable_end_is_left_to_the_whole_parse() -> None:
    ds = pydicom.dcmread(data_path(CT))
    ds.add_new(0xFFFC_FFFC, "OB", b"\0" * 16)  # Data Set Trailing Padding after Pixel Data
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    data = out.getvalue()
    assert scan(data) is not None  # whole elements after the Pixel Data: walked over
    assert scan(data[:-4]) is None  # the last element cut: the parser decides
    assert scan(data + b"\x10\x00") is None  # stray bytes after the last element


def test_staged_prefix_gives_the_same_record(tmp_path: Path) -> None:
    """A large staged image is read from the prefix kept in memory and the bytes after
    its Pixel Data, with the record of the whole parse."""
    ct = big_ct(20)
    path = tmp_path / "big.dcm"
    with open(path, "wb") as out:
        for chunk in ct.part10_chunks():
            out.write(chunk)
    data = path.read_bytes()
    expected = _whole_record(data, str(path))
    _ds, rec = ingest.parse_staged(path, prefix=data[: 1 << 20])
    assert rec == expected
    _ds, plain = ingest.parse_staged(path)
    assert plain == expected
