"""Stable codes on errors (:class:`srkit.errors.SrkitError.code`): the sites that raise
an error about a file cut short set ``file-truncated`` (the reader's
:class:`~srkit.codec.diagnostic_codes.ReadCode`), wrappers keep it, and programs
decide on it, not on the wording."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest

from srkit.codec import load
from srkit.codec.diagnostic_codes import ReadCode
from srkit.errors import NotDicomError, SrkitError
from tests.conftest import data_path

CT = "ct/pydicom_CT_small.dcm"


def _part10(name: str) -> bytes:
    out = io.BytesIO()
    pydicom.dcmread(data_path(name)).save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_a_code_is_optional_and_kept_apart_from_the_message() -> None:
    plain = SrkitError("no such file", source="x.dcm")
    assert plain.code is None
    coded = SrkitError("cut", source="x.dcm", code=ReadCode.FILE_TRUNCATED)
    assert (str(coded), coded.code) == ("x.dcm: cut", "file-truncated")


def test_received_bytes_cut_short_say_file_truncated() -> None:
    from srkit.db.ingest import parse_received

    data = _part10(CT)
    with pytest.raises(SrkitError) as caught:
        parse_received(data[:-3000], "cut.dcm")  # Pixel Data cut short
    assert caught.value.code == ReadCode.FILE_TRUNCATED
    assert caught.value.source == "cut.dcm"


def test_a_staged_file_cut_short_says_file_truncated(tmp_path: Path) -> None:
    from srkit.db.ingest import parse_staged

    cut = tmp_path / "cut.dcm"
    cut.write_bytes(_part10(CT)[:-3000])
    with pytest.raises(SrkitError) as caught:
        parse_staged(cut)
    assert caught.value.code == ReadCode.FILE_TRUNCATED


def test_the_reader_says_file_truncated_for_a_file_cut_in_its_header(tmp_path: Path) -> None:
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(_part10(CT)[:300])
    with pytest.raises(NotDicomError) as caught:
        load(cut)
    assert caught.value.code == ReadCode.FILE_TRUNCATED


def test_c_store_answers_cut_short_by_the_code(tmp_path: Path, monkeypatch) -> None:
    """The C-STORE handler tells "data set cut short" from "cannot decode" by the
    error's code: rewording the message changes nothing."""
    from types import SimpleNamespace

    import srkit.db.ingest as ingest
    from srkit.codec.fastparse import split_file_meta
    from srkit.net.dimse.peers import PeersConfig
    from srkit.net.dimse.storage import Storage
    from srkit.net.status import CANNOT_UNDERSTAND

    ds = pydicom.dcmread(data_path(CT))
    part10 = _part10(CT)
    meta, start = split_file_meta(part10)
    data = part10[start:-3000]  # the data set alone, Pixel Data cut short
    syntax = pydicom.uid.UID(str(meta.TransferSyntaxUID))
    context = SimpleNamespace(abstract_syntax=str(ds.SOPClassUID), transfer_syntax=[syntax])
    assoc = SimpleNamespace(calling_ae="TEST", contexts={1: context})
    msg = SimpleNamespace(
        context_id=1,
        command={0x0002: str(ds.SOPClassUID), 0x1000: str(ds.SOPInstanceUID)},
        refusal=None,
        staged=None,
        fragments=[data],
    )
    storage = Storage(db=None, config=PeersConfig())
    assert storage._store(assoc, msg, []) == (CANNOT_UNDERSTAND, "data set cut short")  # type: ignore[arg-type]

    real = ingest.parse_received

    def reworded(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        except SrkitError as exc:
            raise SrkitError("the bytes stop early", code=exc.code) from None

    monkeypatch.setattr(ingest, "parse_received", reworded)
    assert storage._store(assoc, msg, []) == (CANNOT_UNDERSTAND, "data set cut short")  # type: ignore[arg-type]

    def uncoded(*args, **kwargs):
        raise SrkitError("truncated, says the message, but no code")

    monkeypatch.setattr(ingest, "parse_received", uncoded)
    assert storage._store(assoc, msg, []) == (CANNOT_UNDERSTAND, "cannot decode")  # type: ignore[arg-type]
