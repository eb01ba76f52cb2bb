"""The ``srkit`` command: a click group whose subcommands load lazily.

:data:`COMMANDS` is the one table of the commands and the modules that define them;
a command's module is imported only when that command runs (``srkit --help`` imports
none of them). Heavy imports (pydicom, NumPy, pyarrow, SQLAlchemy, FastAPI) happen
only inside the command that needs them, so ``srkit --help`` and ``srkit dump`` start
fast (tests/cli/test_start.py pins what they import). ``srkit --version`` also says
which parser reads files: the compiled one or the pure-Python fallback
(:mod:`srkit.codec.fastparse`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

__all__ = ["main", "cli"]

# command name -> ("module:function" under srkit.cli, the summary ``srkit --help`` shows);
# the summary is the command's own (its docstring's first sentence), written here so that
# --help imports no command module (tests/cli/test_start.py checks that they agree)
COMMANDS: dict[str, tuple[str, str]] = {
    "dump": ("dump:dump", "Print the content tree of each SR FILE."),
    "measurements": (
        "measurements:measurements",
        "Write the measurements of every TID 1500 report under PATHS as a table.",
    ),
    "instances": (
        "instances:instances",
        "One row per DICOM instance under PATHS (files, folders, globs, manifests, URLs): patient, study, series and instance attributes.",
    ),
    "dose": (
        "dose:dose",
        "Radiation dose reports: ``srkit dose PATH...`` tabulates files (see ``srkit dose PATH --help``); ``drl``, ``unmapped`` and ``alerts`` work on the database.",
    ),
    "validate": ("validate:validate", "Check each SR FILE against its IOD and templates."),
    "render": ("render:render", "Render the SR FILE as a report (HTML page or terminal text)."),
    "create": ("create:create", "Create standard SR documents from JSON descriptions."),
    "import": ("db:import_cmd", "Index the DICOM files under PATH..."),
    "ls": (
        "db:ls",
        "List the patients, studies, series or instances of the database, or the conflicts recorded while filing instances (``conflicts``: newest first; --study and --key kind=KIND narrow them).",
    ),
    "query": ("db:query", "Query the SR content of the database (measurements, dose)."),
    "rm": (
        "db:rm",
        "Remove patients (by Patient ID), studies, series or instances (by UID) from the index.",
    ),
    "check": (
        "db:check",
        "Check the database and its storage folder; exit code 1 when problems are found (with --repair: when any remain).",
    ),
    "demo": ("demo:demo", "Make sample reports, import them into the database and summarise them."),
    "listen": (
        "net:listen",
        "Run a DIMSE SCP: verification, storage into the database, query/retrieve.",
    ),
    "echo": ("net:echo", "Send a C-ECHO to PEER."),
    "find": (
        "net:find",
        "C-FIND on PEER; prints one JSON object per match (DICOM keyword -> value).",
    ),
    "move": ("net:move", "C-MOVE from PEER to the AE title DESTINATION."),
    "get": ("net:get", "C-GET from PEER into a folder (--out) or the database (--db)."),
    "send": (
        "net:send",
        "C-STORE files (PATHS, folders recursively) or database studies/series to PEER.",
    ),
    "serve": ("web:serve", "Serve DICOMweb under /dicomweb and the web interface at /."),
    "dicomweb": ("web:dicomweb", "Pull from or push to a DICOMweb server."),
    "examine": ("load:examine_cmd", "List the ways the files of PATH..."),
    "load": ("load:load_cmd", "Load the selected loadable(s) of PATH..."),
    "export": ("load:export", "Export volumes back to DICOM, or the database as Parquet datasets."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if self._available(n))

    def _available(self, name: str) -> bool:
        module = COMMANDS[name][0].split(":")[0]
        return importlib.util.find_spec(f"srkit.cli.{module}") is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not self._available(cmd_name):
            return None
        module_name, attr = entry[0].split(":")
        module = importlib.import_module(f"srkit.cli.{module_name}")
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, without importing a command's module."""
        from click.utils import make_default_short_help

        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, make_default_short_help(COMMANDS[name][1], limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def reader_note() -> str:
    """Which parser reads files here, and why it is the pure-Python one if it is."""
    from srkit.codec import fastparse

    if fastparse.IMPLEMENTATION == "compiled":
        return "reader: compiled (srkit.codec._fastparse_c, srkit.codec._tree_c)"
    if fastparse.COMPILED_AVAILABLE:
        return "reader: pure-python (SRKIT_PURE_PYTHON is set)"
    return (
        "reader: pure-python (the compiled parser is not built on this machine; "
        "srkit runs the pure-Python reader, slower but the same)"
    )


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("srkit")
    except PackageNotFoundError:
        from srkit import __version__ as number
    click.echo(f"srkit, version {number}")
    click.echo(reader_note())
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the version and which reader is active, then exit.",
)
def cli() -> None:
    """srkit: read, tabulate, validate, render, archive and serve DICOM SR."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point."""

    return cli.main(args=argv, prog_name="srkit", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
