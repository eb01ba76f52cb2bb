"""What ``srkit --help`` and ``srkit dump FILE`` import: nothing heavy (issue 17, item 2).

Each command runs in a fresh interpreter, which prints the modules loaded when the
command is done. ``--help`` imports no command module and no third-party package (not
even click: :mod:`srkit.cli.shortcut` answers it); ``dump`` of a little endian file
imports neither pydicom nor NumPy nor click. Also: the
summaries ``--help`` shows from the command table agree with the commands'
docstrings, and ``--version`` says which reader is active.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from srkit.cli.main import COMMANDS, cli
from srkit.codec import fastparse
from tests.conftest import SR_FILES, data_path

SRC = str(Path(__file__).resolve().parents[2] / "src")
HEAVY = ("pydicom", "numpy", "sqlalchemy", "pyarrow", "fastapi", "jinja2", "pynetdicom", "rich")

# the probe imports json only after the command ran, so that json's absence shows
_PROBE = """
import io, sys
args = sys.argv[1:]
real = sys.stdout
sys.stdout = io.StringIO()
from srkit.cli.main import main
try:
    main(args)
except SystemExit:
    pass
out = sys.stdout.getvalue()
sys.stdout = real
modules = sorted(sys.modules)
import json
print(json.dumps({"modules": modules, "out": out}))
"""


def _run(args: list[str], **env: str) -> tuple[set[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        env={**os.environ, "PYTHONPATH": SRC, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    return set(result["modules"]), result["out"]


def _tops(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_command_and_nothing_heavy():
    modules, out = _run(["--help"])
    assert "dump  " in out
    assert "Print the content tree of each SR FILE." in out
    assert not _tops(modules) & set(HEAVY)
    assert {m for m in modules if m.startswith("srkit.")} == {
        "srkit.cli",
        "srkit.cli.commands",
        "srkit.cli.faces",
        "srkit.cli.help_text",
        "srkit.cli.main",
        "srkit.cli.shortcut",
        "srkit.errors",
    }
    third_party = _tops(modules) - set(sys.stdlib_module_names) - {"srkit", "__main__"}
    # nothing but what the interpreter's site hooks load before any srkit code
    baseline, _ = _site_modules()
    assert third_party - _tops(baseline) == set()


def _site_modules() -> tuple[set[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout)), ""


@pytest.mark.parametrize(
    "name", ["sr-tid1500/dcmqi_sr-example_sr.dcm", "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"]
)
@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_dump_of_a_little_endian_file_does_not_import_pydicom(name, fmt):
    path = data_path(name)
    modules, out = _run(["dump", "--format", fmt, str(path)])
    assert not _tops(modules) & {*HEAVY, "click"}, sorted(_tops(modules) & {*HEAVY, "click"})
    assert "srkit.codec.writer" not in modules
    if fmt == "text":
        assert "Patient" in out
    else:
        first = json.loads(out.splitlines()[0])
        assert first["id"] == "1"


def test_text_dump_with_the_compiled_reader_imports_only_what_it_uses():
    """The text dump imports neither the pure-Python tree builder (nor the Cython shim it
    imports) when the compiled one is active, nor the JSON renderer, nor logging."""
    modules, out = _run(["dump", str(data_path("sr-tid1500/dcmqi_sr-example_sr.dcm"))])
    assert "Patient" in out
    unused = {"json", "logging", "srkit.render.records", "srkit.render.log_format"}
    if fastparse.IMPLEMENTATION == "compiled":  # not under SRKIT_PURE_PYTHON=1
        unused |= {"cython", "srkit.codec._tree"}
        assert "srkit.codec._tree_c" in modules
    assert not modules & unused, sorted(modules & unused)


def test_dump_of_every_real_sr_with_the_fast_parser_does_not_import_pydicom():
    paths = [str(p) for p in SR_FILES]  # the trial SR with text in (0040,A170) too
    modules, out = _run(["dump", "--format", "jsonl", *paths])
    assert "pydicom" not in _tops(modules)
    assert len(out.splitlines()) > 1000


def test_the_help_table_agrees_with_the_commands():
    ctx = click.Context(cli)
    for name, (target, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None, target
        assert command.get_short_help_str(limit=10**6) == summary, (
            f"update the summary of {name!r} in srkit.cli.main.COMMANDS"
        )


def test_version_says_which_reader_is_active():
    _, out = _run(["--version"])
    assert out.startswith("srkit, version ")
    expected = fastparse.IMPLEMENTATION  # "pure-python" under SRKIT_PURE_PYTHON=1
    assert f"reader: {expected}" in out
    _, forced = _run(["--version"], SRKIT_PURE_PYTHON="1")
    assert "reader: pure-python" in forced


def test_version_says_once_when_the_extension_is_not_built():
    code = (
        "import sys; sys.modules['srkit.codec._fastparse_c'] = None\n"
        "from srkit.cli.main import main\n"
        "main(['--version'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": SRC, "SRKIT_PURE_PYTHON": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("pure-Python reader") == 1
    assert "the compiled parser is not built on this machine" in done.stdout
