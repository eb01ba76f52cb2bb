"""Compressed transfer syntaxes through pydicom's pixel handlers, and the error without a
decoder (``srkit[codecs]``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, RLELossless

from srkit.load import examine, load
from tests.conftest import require_module
from tests.load.fixtures import axial_positions, ct_slices, make_series

BLOCK = textwrap.dedent(
    """
    import sys

    class Block:
        # pretend that no pylibjpeg / GDCM / Pillow decoder is installed
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("openjpeg", "pylibjpeg", "libjpeg", "gdcm", "PIL"):
                raise ImportError(name)
            return None

    sys.meta_path.insert(0, Block())
    """
)


def _compressed(tmp_path, syntax):
    files = make_series(tmp_path, f"c-{syntax}", axial_positions([0, 2, 4]))
    for f in files:
        ds = pydicom.dcmread(f)
        ds.compress(syntax)
        ds.save_as(f)
    return files


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless])
def test_compressed_series_loads_the_same_values(tmp_path, syntax):
    if syntax == JPEG2000Lossless:
        require_module("openjpeg", "srkit[codecs] not installed")
    files = _compressed(tmp_path, syntax)
    assert pydicom.dcmread(files[0]).file_meta.TransferSyntaxUID == syntax
    vol = load(examine(files)[0])
    raw = ct_slices()
    for i in range(3):
        assert np.array_equal(vol.array[i], raw[i].astype(np.int16) - 1024)


def test_compressed_without_codec_names_the_extra_and_file(tmp_path):
    require_module("openjpeg", "needs the encoder to make the file")
    files = _compressed(tmp_path, JPEG2000Lossless)
    code = BLOCK + textwrap.dedent(
        f"""
        from srkit.load import examine, load
        from srkit.errors import MissingDependencyError
        try:
            load(examine({[str(f) for f in files]!r})[0])
        except MissingDependencyError as exc:
            print("ERR", exc)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("ERR "), proc.stdout + proc.stderr
    assert "srkit[codecs]" in proc.stdout
    assert str(files[0]) in proc.stdout
    assert "JPEG 2000" in proc.stdout
    assert "Traceback" not in proc.stderr
