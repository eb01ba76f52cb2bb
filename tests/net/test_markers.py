"""The guard of the ``peers`` marker (tests/net/conftest.py) tells outside programs
from this Python and from what the standard library runs for itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.net.conftest import _outside, _program


@pytest.mark.parametrize(
    ("args", "outside"),
    [
        (["/usr/bin/storescu", "-v", "127.0.0.1", "104"], True),
        (["/usr/sbin/Orthanc", "config.json"], True),
        ("findscu -S 127.0.0.1 104", True),
        ([sys.executable, "-m", "srkit.cli.main", "listen"], False),
        (["python3", "-c", "pass"], False),
        (["/sbin/ldconfig", "-p"], False),
    ],
)
def test_outside_programs(args, outside):
    assert _outside(_program(args)) is outside


def test_unmarked_test_cannot_start_a_peer():
    """This test has no ``peers`` marker: starting DCMTK fails it (before the program
    runs); this Python still runs."""
    with pytest.raises(pytest.fail.Exception, match=r"storescu without @pytest\.mark\.peers"):
        subprocess.run(["/usr/bin/storescu", "--version"], capture_output=True, check=False)
    done = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True)
    assert done.stdout == "42\n"
