"""The forms of ``srkit`` answered without click, for a fast start (issue 17).

Importing click (and what it imports) is about a third of a short command's time, so
:func:`answer` runs these itself:

- ``srkit --help`` (or ``-h``): the page of :mod:`srkit.cli.help_text`;
- ``srkit --version``;
- ``srkit dump [OPTIONS] FILE...`` when every option is one of :data:`DUMP_FLAGS` or
  :data:`DUMP_CHOICES` with a valid value (``--format jsonl`` or ``--format=jsonl``),
  options and files in any order.

Anything else (another command, ``--help`` after ``dump``, an unknown option, a bad
value, ``--``, a lone ``-``, no FILE) is left to click, which parses it and reports
usage errors as it always does. tests/cli/test_shortcut.py checks that these tables
agree with the click command's options and that both ways print the same.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from srkit.cli.commands import HELP_NAMES, print_version

__all__ = ["answer", "dump_options", "DUMP_FLAGS", "DUMP_CHOICES"]

DUMP_FLAGS: dict[str, tuple[str, bool]] = {
    "--ids": ("ids", True),
    "--no-ids": ("ids", False),
    "--no-header": ("no_header", True),
    "-v": ("verbose", True),
    "--verbose": ("verbose", True),
}
"""``srkit dump``'s flags: option -> (parameter, value it sets)."""

DUMP_CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "--format": ("fmt", ("text", "jsonl")),
    "--policy": ("policy", ("strict", "tolerant", "permissive")),
}
"""``srkit dump``'s options with a value: option -> (parameter, the values it takes)."""


def answer(args: Sequence[str]) -> None:
    """Run ``srkit ARGS`` if it is one of the forms above, then exit with its exit code
    (``SystemExit``); return without doing anything otherwise."""
    if len(args) == 1 and args[0] in HELP_NAMES:
        _finish(_print_help)
    if list(args) == ["--version"]:
        _finish(print_version)
    if args and args[0] == "dump":
        parsed = dump_options(args[1:])
        if parsed is not None:
            from srkit.cli.dump_files import dump_files

            files, options = parsed
            _finish(lambda: dump_files(files, **options))


def _finish(work: Callable[[], None]) -> None:
    """Do ``work`` as a command: user errors are one line on stderr, exit 0 after."""
    from srkit.cli.faces import user_errors

    @user_errors
    def run() -> None:
        work()
        sys.stdout.flush()  # here, so that a closed pipe is seen by user_errors

    run()
    raise SystemExit(0)


def _print_help() -> None:
    from srkit.cli.help_text import top_help

    sys.stdout.write(top_help() + "\n")


def dump_options(args: Sequence[str]) -> tuple[list[str], dict[str, Any]] | None:
    """The files and the keyword arguments of
    :func:`srkit.cli.dump_files.dump_files` that ``srkit dump ARGS`` means, or None
    when click should parse ``args`` (see the module's docstring)."""
    files: list[str] = []
    options: dict[str, Any] = {}
    position = 0
    while position < len(args):
        token = args[position]
        position += 1
        if not token.startswith("-"):
            files.append(token)
        elif token in DUMP_FLAGS:
            name, flag = DUMP_FLAGS[token]
            options[name] = flag
        else:
            option, equals, value = token.partition("=")
            if option not in DUMP_CHOICES:
                return None  # unknown (or -h, --help, --, -): click's to parse
            if not equals:
                if position == len(args):
                    return None  # no value: click names the error
                value = args[position]
                position += 1
            name, choices = DUMP_CHOICES[option]
            if value not in choices:
                return None
            options[name] = value
    return (files, options) if files else None
