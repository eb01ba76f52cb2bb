"""The forms ``srkit`` answers without click (srkit.cli.shortcut) are the click ones:
the same help page at every width, the same options, the same output and exit code."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from click.utils import make_default_short_help
from hypothesis import given
from hypothesis import strategies as st

from srkit.cli import shortcut
from srkit.cli.commands import COMMANDS
from srkit.cli.group import cli
from srkit.cli.help_text import help_width, short_help, top_help
from tests.conftest import data_path


@pytest.mark.parametrize("columns", [1, 40, 50, 51, 52, 60, 67, 70, 75, 79, 80, 81, 120, 300])
def test_the_help_page_is_the_click_groups_at_every_width(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    with click.Context(cli, info_name="srkit", **cli.context_settings) as ctx:
        expected = cli.get_help(ctx)
    assert help_width() == max(min(columns, 80) - 2, 50)
    assert top_help() == expected


def test_help_through_main_prints_the_page_and_exits_0(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as stop:
        shortcut.answer(["-h"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out == top_help() + "\n"
    assert out.startswith("Usage: srkit [OPTIONS] COMMAND [ARGS]...\n")
    assert "  dump          Print the content tree of each SR FILE.\n" in out
    assert out.count("\n  ") >= len(COMMANDS)


_WORDS = st.lists(
    st.text(alphabet="ab.,-`", min_size=1, max_size=9).filter(lambda w: w.strip() == w), max_size=14
)


@given(words=_WORDS, paragraphs=st.booleans(), limit=st.integers(min_value=1, max_value=70))
def test_short_help_is_clicks(words, paragraphs, limit):
    text = " ".join(words)
    if paragraphs:
        text = text.replace(",", ".\n\nNext", 1)
    assert short_help(text, limit) == make_default_short_help(text, limit)


def test_short_help_of_every_command_at_every_limit():
    for _, summary in COMMANDS.values():
        for limit in range(1, 100):
            assert short_help(summary, limit) == make_default_short_help(summary, limit)


def test_the_dump_tables_are_the_click_commands_options():
    command = cli.get_command(click.Context(cli), "dump")
    assert command is not None
    flags: dict[str, tuple[str, object]] = {}
    choices: dict[str, tuple[str, tuple[str, ...]]] = {}
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        assert param.name is not None
        if param.is_flag:
            for name in param.opts:
                flags[name] = (param.name, True)
            for name in param.secondary_opts:
                flags[name] = (param.name, False)
        else:
            assert isinstance(param.type, click.Choice)
            for name in param.opts:
                choices[name] = (param.name, tuple(param.type.choices))
    assert flags == shortcut.DUMP_FLAGS
    assert choices == shortcut.DUMP_CHOICES


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["a.dcm"], (["a.dcm"], {})),
        (["--format", "jsonl", "a", "b"], (["a", "b"], {"fmt": "jsonl"})),
        (["a", "--format=text", "-v"], (["a"], {"fmt": "text", "verbose": True})),
        (["--ids", "a", "--no-ids", "--no-header"], (["a"], {"ids": False, "no_header": True})),
        (["--policy", "strict", "a"], (["a"], {"policy": "strict"})),
        ([], None),  # no FILE: click says so
        (["--format", "jsonl"], None),
        (["a", "--format"], None),  # no value
        (["a", "--format", "csv"], None),  # not a choice
        (["a", "--format="], None),
        (["a", "--format", "--ids"], None),
        (["a", "--help"], None),
        (["-h", "a"], None),
        (["a", "--"], None),
        (["-"], None),
        (["-1.dcm"], None),
        (["a", "-vv"], None),
        (["a", "--verb"], None),  # click does not take abbreviations either
    ],
)
def test_dump_options(args, expected):
    assert shortcut.dump_options(args) == expected


def test_other_commands_are_left_to_click():
    for args in (["ls"], ["dumpx", "a"], ["--help", "dump"], ["--version", "x"], []):
        assert shortcut.answer(args) is None


def _shortcut_run(args, capsys):
    with pytest.raises(SystemExit) as stop:
        shortcut.answer(args)
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


def _click_run(args):
    result = CliRunner().invoke(cli, args, prog_name="srkit")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_dump_prints_what_the_click_command_prints(capsys, tmp_path):
    sr = str(data_path("sr-tid1500/dcmqi_sr-example_sr.dcm"))
    rdsr = str(data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"))
    image = str(sorted(data_path("ct/pydicom_CT2").glob("*.dcm"))[0])
    text = tmp_path / "notes.txt"
    text.write_text("not DICOM\n")
    whole = data_path("sr-tid1500/dcmqi_sr-example_sr.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole[: len(whole) * 2 // 3])  # a damaged SR: what can be read, exit 1
    cases = [
        [sr],
        ["--format", "jsonl", sr, rdsr],
        ["--ids", "--no-header", rdsr],
        [sr, "-v", "--policy", "strict"],
        [sr, image, str(text)],  # wrong kinds: notes, exit 0
        [image],  # nothing printed: exit 1
        [sr, str(tmp_path / "missing.dcm")],
        [str(cut), sr],
    ]
    codes = []
    for args in cases:
        fast = _shortcut_run(["dump", *args], capsys)
        slow = _click_run(["dump", *args])
        assert fast == slow, args
        codes.append(fast[0])
    assert codes == [0, 0, 0, 0, 0, 1, 1, 1]
    assert "Patient" in _shortcut_run(["dump", sr], capsys)[1]


def test_version_is_the_click_groups(capsys):
    fast = _shortcut_run(["--version"], capsys)
    slow = _click_run(["--version"])
    assert fast == slow
    assert fast[1].startswith("srkit, version ")
