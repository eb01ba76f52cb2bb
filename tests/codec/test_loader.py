"""The loader hands the fast parser's result to the reader as a value (`Loaded`)."""

from __future__ import annotations

import dataclasses
import gc
import io
import warnings

import pytest
from pydicom.dataset import Dataset

from srkit.codec import Loaded, load, load_dataset, prune_children, read, read_dataset, read_loaded
from srkit.codec import tags as T
from srkit.codec.fastparse import LightDataset
from srkit.codec.loader import remembered_sequences
from srkit.validate.attributes import check_attributes
from tests.conftest import data_path

DCMQI = "sr-tid1500/dcmqi_sr-example_sr.dcm"


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def test_load_returns_the_parse_as_a_value():
    loaded = load(data_path(DCMQI))
    assert isinstance(loaded, Loaded)
    assert loaded.fast
    assert loaded.name == str(data_path(DCMQI))
    items = loaded.sequences[T.CONTENT_SEQUENCE]
    assert len(items) == 6  # the root's children, 1.1 to 1.6
    assert all(type(item) is LightDataset for item in items)
    assert not hasattr(loaded.dataset, "_srkit_parsed")  # nothing stuck on the Dataset
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.fast = False  # type: ignore[misc]


def test_read_loaded_walks_the_parsed_items_and_keeps_them():
    loaded = load(data_path(DCMQI))
    doc = _quiet(read_loaded, loaded)
    assert doc == _quiet(read, data_path(DCMQI))
    assert len(doc) == 256
    # the header stands for the one FileDataset of the file, made on first use
    assert isinstance(doc.header, Dataset)
    assert doc.header._dict is loaded.dataset._dict
    assert doc.header_sequences is loaded.sequences
    # validation walks the same items instead of parsing the header again
    bare = dataclasses.replace(doc, header_sequences=None)
    assert check_attributes(doc) == check_attributes(bare)


def test_a_stream_is_loaded_from_where_it_stands():
    raw = data_path(DCMQI).read_bytes()
    stream = io.BytesIO(raw)
    loaded = load(stream)
    assert loaded.fast
    assert loaded.name == "<stream>"
    assert stream.tell() == 0


def test_a_bare_dataset_from_load_dataset_is_not_parsed_twice():
    ds = load_dataset(data_path(DCMQI))
    sequences = remembered_sequences(ds)
    assert sequences is not None
    assert prune_children(ds, frozenset({("111028", "DCM")})) == 1
    doc = _quiet(read_dataset, ds)
    assert doc.header_sequences is sequences
    assert len(doc) == 256 - 204  # the cut made in the remembered items is what was read
    key = id(ds)
    del ds, doc, sequences
    gc.collect()
    from srkit.codec import loader

    assert key not in loader._REMEMBERED  # the entry leaves with its dataset


def test_pydicom_parsed_files_have_no_sequences(tmp_path):
    import pydicom
    from pydicom.uid import ExplicitVRBigEndian

    ds = pydicom.dcmread(data_path("sr-other/pydicom_test-SR.dcm"))
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    path = tmp_path / "big.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    loaded = load(path)
    assert not loaded.fast
    assert loaded.sequences == {}
    assert remembered_sequences(load_dataset(path)) is None
    doc = _quiet(read_loaded, loaded)
    assert doc.header_sequences is None
    assert len(doc) == len(_quiet(read, data_path("sr-other/pydicom_test-SR.dcm")))
