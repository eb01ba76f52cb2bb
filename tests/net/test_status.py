"""DIMSE statuses: one table (srkit.net.status), named for people in every message."""

from __future__ import annotations

import ast
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.net import status
from srkit.net.dimse import client
from srkit.net.status import describe
from tests.conftest import data_path
from tests.net.dimse.archive import Archive
from tests.peers import free_port

NET = Path(status.__file__).parent


@pytest.mark.parametrize(
    ("code", "service", "text"),
    [
        (0xA801, None, "move destination unknown (0xA801)"),
        (0xA801, "C-MOVE", "move destination unknown (0xA801)"),
        (0x0000, "C-ECHO", "success (0x0000)"),
        (0x0124, "C-STORE", "not authorized (0x0124)"),
        (0x0111, "C-STORE", "duplicate SOP instance with other content (0x0111)"),
        (0xC000, "C-STORE", "cannot understand (0xC000)"),
        (0xA900, "C-STORE", "data set does not match SOP Class (0xA900)"),
        (0xA900, "C-FIND", "identifier does not match SOP Class (0xA900)"),
        (0xC000, "C-FIND", "unable to process (0xC000)"),
        (0xA702, "C-GET", "out of resources (sub-operations) (0xA702)"),
        (0xB000, "C-MOVE", "sub-operations completed with failures or warnings (0xB000)"),
        (
            0xB000,
            "C-STORE",
            "stored with a warning (elements coerced, or a conflict recorded) (0xB000)",
        ),
        (0xA7FF, None, "failure (0xA7FF)"),
        (0xC123, "C-FIND", "failure (cannot understand) (0xC123)"),
        (0xB123, None, "warning (0xB123)"),
        (0x1234, None, "unknown status (0x1234)"),
    ],
)
def test_describe_names_the_meaning_and_the_code(code, service, text):
    assert describe(code, service) == text


def test_every_status_constant_has_a_meaning():
    names = [n for n in status.__all__ if n.isupper() and isinstance(getattr(status, n), int)]
    assert "MOVE_UNKNOWN_DESTINATION" in names
    missing = [n for n in names if getattr(status, n) not in status.MEANINGS]
    assert missing == []
    assert set(status.SERVICES) == {"C-ECHO", "C-STORE", "C-FIND", "C-MOVE", "C-GET"}


def test_success_warning_and_pending():
    assert status.is_success_or_warning(0x0000)
    assert status.is_success_or_warning(0xB000)
    assert status.is_success_or_warning(0xB007)
    assert not status.is_success_or_warning(0xA801)
    assert not status.is_success_or_warning(0xFF00)
    assert status.is_pending(0xFF00)
    assert status.is_pending(0xFF01)
    assert not status.is_pending(0x0000)


def _status_constants(path: Path) -> list[str]:
    """Module-level names assigned a DIMSE status literal (0x0100-0xFFFF outside the
    command fields and VR limits) in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            value = node.value.value
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if isinstance(value, int) and value in status.MEANINGS and value not in (0, 0x0101):
                found += names
    return found


def test_statuses_are_defined_in_status_py_only():
    """No other module of srkit.net defines a status constant of its own."""
    others = {
        str(path.relative_to(NET)): _status_constants(path)
        for path in sorted(NET.rglob("*.py"))
        if path.name != "status.py"
    }
    assert {name: found for name, found in others.items() if found} == {}


def test_cli_move_and_find_name_the_status(tmp_path):
    """``srkit move`` to an unknown destination prints "move destination unknown
    (0xA801)"; a refused C-FIND names its status too."""
    port = free_port()
    config = f'[peers.SELF]\nhost = "127.0.0.1"\nport = {port}\nallow = ["store", "move"]\n'
    arch = Archive(tmp_path, config_text=config, port=port)
    try:
        file = data_path("ct/pydicom_CT_small.dcm")
        assert client.send(arch.peer, [file], calling_aet="SELF").failed == []
        study = str(pydicom.dcmread(file).StudyInstanceUID)
        runner = CliRunner()
        result = runner.invoke(
            cli,
            ["move", arch.address(), "NOWHERE", "-k", f"StudyInstanceUID={study}", "--aet", "SELF"],
        )
        assert result.exit_code == 1
        assert "C-MOVE: move destination unknown (0xA801)" in result.output
        assert "(status 0x" not in result.output
        result = runner.invoke(cli, ["find", arch.address(), "--aet", "SELF"])
        assert result.exit_code == 1
        assert "C-FIND failed: not authorized (0x0124)" in result.output
    finally:
        arch.close()
