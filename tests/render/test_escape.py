"""Control characters in values and file names never reach the terminal: ``dump``,
``render --text``, ``validate``, ``ls`` and error lines escape them; JSON stays JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.render.escape import escape_control, text_lines
from tests.conftest import data_path
from tests.db.fixtures import fresh_url  # noqa: F401

HOSTILE = "A mass\x1b]0;pwned\x07\x1b[2J of\rsecond line\r\nthird"
"""OSC (set the window title, ended by BEL), CSI 2J (clear the screen), a bare CR."""
SHOWN = "A mass\\x1b]0;pwned\\x07\\x1b[2J of"
TERMINAL_ACTIVE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
"""What a terminal could act on: every C0 control but LF, DEL, C1, raw undecodable bytes."""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> str:
    """OFFIS's test SR (pydicom's copy) with a hostile TEXT value, person name and unit
    meaning (UTF-8, so that ESC is a character, not an ISO 2022 escape)."""
    ds = pydicom.dcmread(data_path("sr-other/pydicom_test-SR.dcm"))

    def items(seq):
        for item in seq:
            yield item
            yield from items(item.get("ContentSequence", []))

    content = list(items(ds.ContentSequence))
    text = next(i for i in content if i.get("ValueType") == "TEXT")
    assert text.TextValue == "A mass of"  # the item the tests look for
    text.TextValue = HOSTILE
    num = next(i for i in content if i.get("ValueType") == "NUM")
    num.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeMeaning = "Len\x1b[5mgth"
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Evil\x1b[31m^Name\x9b"
    path = tmp_path_factory.mktemp("hostile") / "hostile_sr.dcm"
    ds.save_as(path)
    return str(path)


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_escape_control_shows_every_control():
    assert escape_control("a\x1b[2Jb\x07\r\n\t\x00\x7f\x9b\x9d") == (
        "a\\x1b[2Jb\\x07\\r\\n\\t\\x00\\x7f\\x9b\\x9d"
    )
    assert escape_control("bad\udc9b.dcm") == "bad\\x9b.dcm"  # an undecodable file name byte
    assert escape_control("Müller^Zoë 中 \\ ¡") == "Müller^Zoë 中 \\ ¡"
    once = escape_control(HOSTILE)
    assert escape_control(once) == once
    assert TERMINAL_ACTIVE.search(once) is None
    assert text_lines("a\r\nb\n\rc\rd\ne\n\r") == ["a", "b", "c", "d", "e"]
    assert text_lines("x\x1b[2J\n\ny") == ["x\\x1b[2J", "", "y"]
    assert text_lines("") == [""]


def test_dump_text_escapes_values(hostile):
    result = _run("dump", hostile)
    assert result.exit_code == 0, result.stderr
    assert TERMINAL_ACTIVE.search(result.stdout) is None
    assert "Patient           : Evil\\x1b[31m^Name\\x9b ()" in result.stdout.splitlines()
    line = next(x for x in result.stdout.splitlines() if "pwned" in x)
    assert line.endswith(f'"{SHOWN}\\rsecond line\\r\\nthird">')


def test_dump_jsonl_stays_json(hostile):
    result = _run("dump", "--format", "jsonl", hostile)
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout  # json.dumps writes \u001b
    values = [json.loads(line)["value"] for line in result.stdout.splitlines()]
    assert HOSTILE in values


def test_render_text_keeps_line_breaks_indented(hostile):
    result = _run("render", "--text", "--no-validate", hostile)
    assert result.exit_code == 0, result.stderr
    assert TERMINAL_ACTIVE.search(result.stdout) is None
    lines = result.stdout.splitlines()
    at = lines.index(f"  Text Code: {SHOWN}")
    assert lines[at + 1 : at + 3] == [" " * 13 + "second line", " " * 13 + "third"]
    assert "Patient       Evil\\x1b[31m, Name\\x9b" in lines
    assert any("Len\\x1b[5mgth" in line for line in lines)


def test_validate_lines_escape_values(hostile):
    result = _run("validate", hostile)
    assert TERMINAL_ACTIVE.search(result.stdout) is None
    unit_lines = [x for x in result.stdout.splitlines() if "are not UCUM" in x]
    assert unit_lines
    assert any('"Len\\x1b[5mgth"' in x for x in unit_lines)


def test_error_lines_escape_file_names(tmp_path):
    missing = tmp_path / "no\x1b]0;pwned\x07such\udc9b.dcm"
    result = _run("dump", str(missing))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert TERMINAL_ACTIVE.search(line) is None
    assert line.endswith("no\\x1b]0;pwned\\x07such\\x9b.dcm: no such file")


def test_dump_many_escapes_the_file_name_line(hostile, tmp_path):
    named = tmp_path / "copy\x1b[2J.dcm"
    named.write_bytes(Path(hostile).read_bytes())
    result = _run("dump", "--no-header", str(named), hostile)
    assert result.exit_code == 0
    assert TERMINAL_ACTIVE.search(result.stdout) is None
    assert f"== {tmp_path}/copy\\x1b[2J.dcm" in result.stdout.splitlines()


def test_ls_table_escapes_values(hostile, fresh_url):  # noqa: F811
    assert _run("import", hostile, "--db", fresh_url).exit_code == 0
    result = _run("ls", "patients", "--db", fresh_url)
    assert result.exit_code == 0, result.stderr
    assert TERMINAL_ACTIVE.search(result.stdout) is None
    assert "Evil\\x1b[31m^Name\\x9b" in result.stdout
    as_json = _run("ls", "patients", "--db", fresh_url, "--format", "json")
    assert json.loads(as_json.stdout)[0]["PatientName"] == "Evil\x1b[31m^Name\x9b"


def test_server_log_lines_are_escaped(capsys):
    import logging

    from srkit.cli.web import escape_logs
    from srkit.render.log_format import EscapingFormatter

    logger = logging.getLogger("srkit")
    before = list(logger.handlers)
    try:
        escape_logs()
        escape_logs()  # once is enough: no second handler
        logging.getLogger("srkit.net.dicomweb.stow").warning(
            "STOW-RS: %s refused: %s", "1.2\x1b[2J", "bad\x9b\rvalue"
        )
    finally:
        for handler in logger.handlers[len(before) :]:
            logger.removeHandler(handler)
    # one line: a value cannot forge a log line of its own
    assert capsys.readouterr().err == "srkit: STOW-RS: 1.2\\x1b[2J refused: bad\\x9b\\rvalue\n"
    try:
        raise ValueError("boom\x1b]0;pwned\x07")
    except ValueError:
        record = logging.LogRecord("srkit", logging.ERROR, __file__, 1, "failed", None, None)
        import sys

        record.exc_info = sys.exc_info()
    text = EscapingFormatter().format(record)
    assert text.splitlines()[0] == "failed"
    assert text.splitlines()[1] == "Traceback (most recent call last):"
    assert text.splitlines()[-1] == "ValueError: boom\\x1b]0;pwned\\x07"
