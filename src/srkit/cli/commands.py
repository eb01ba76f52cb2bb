"""The table of srkit's commands, and what ``srkit --help`` and ``--version`` say.

Nothing here imports click: ``srkit --help`` is written from this table by
:mod:`srkit.cli.help_text` and the click group (:mod:`srkit.cli.group`) reads the
same table, so a command's module is imported only when that command runs.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = [
    "COMMANDS",
    "DESCRIPTION",
    "VERSION_HELP",
    "HELP_NAMES",
    "available",
    "available_commands",
    "reader_note",
    "print_version",
]

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

DESCRIPTION = "srkit: read, tabulate, validate, render, archive and serve DICOM SR."
"""The first paragraph of ``srkit --help`` (the click group's docstring)."""

VERSION_HELP = "Show the version and which reader is active, then exit."
"""The help of ``--version``."""

HELP_NAMES = ("-h", "--help")
"""The options that print a command's help."""


def available(name: str) -> bool:
    """Whether the module of the command ``name`` is there (``srkit --help`` lists only
    those)."""
    module = COMMANDS[name][0].split(":")[0]
    return importlib.util.find_spec(f"srkit.cli.{module}") is not None


def available_commands() -> list[str]:
    """The names of the commands whose modules are there, sorted (the help's order)."""
    return sorted(name for name in COMMANDS if available(name))


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


def print_version() -> None:
    """``srkit, version X`` and which reader is active (:func:`reader_note`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("srkit")
    except PackageNotFoundError:
        from srkit import __version__ as number
    sys.stdout.write(f"srkit, version {number}\n{reader_note()}\n")
    sys.stdout.flush()
