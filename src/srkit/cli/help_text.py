"""``srkit --help`` written without click, laid out as click lays out a group's help.

The page is the usage line, :data:`~srkit.cli.commands.DESCRIPTION`, the two options
and the command table (:data:`~srkit.cli.commands.COMMANDS`), at the width click
would use: the terminal's (``COLUMNS`` first), at most 80 columns, less 2, at least
50. tests/cli/test_shortcut.py checks, width by width, that this page is the one the
click group prints, so a change in either shows.
"""

from __future__ import annotations

import textwrap

from srkit.cli.commands import (
    COMMANDS,
    DESCRIPTION,
    HELP_NAMES,
    VERSION_HELP,
    available_commands,
)

__all__ = ["top_help", "help_width", "short_help", "command_rows"]

_MAX_WIDTH = 80
_MIN_WIDTH = 50
_INDENT = 2
_SPACING = 2  # between a definition list's two columns
_FIRST_COLUMN_MAX = 30
_HELP_HELP = "Show this message and exit."


def help_width() -> int:
    """The width of a help page on this terminal (or in a pipe: 78)."""
    import shutil

    return max(min(shutil.get_terminal_size().columns, _MAX_WIDTH) - 2, _MIN_WIDTH)


def short_help(text: str, limit: int) -> str:
    """The summary shown in a command table: the first paragraph's words up to and
    including the first sentence's end if that fits in ``limit`` characters, else the
    longest run of whole words that fits with ``...`` after it."""
    words = text.split("\n\n", 1)[0].split()
    if words and words[0] == "\b":
        words = words[1:]
    length = -1
    for count, word in enumerate(words, 1):
        length += len(word) + 1
        if length > limit:
            return _clipped(words, count, limit)
        if word.endswith("."):
            return " ".join(words[:count])
        if length == limit and count < len(words):
            return _clipped(words, count, limit)
    return " ".join(words)


def _clipped(words: list[str], stop: int, limit: int) -> str:
    """The first ``stop - 1`` words or fewer, as many as fit in ``limit`` with ``...``."""
    for count in range(stop - 1, 0, -1):
        shown = " ".join(words[:count])
        if len(shown) + 3 <= limit:
            return shown + "..."
    return "..."


def command_rows(width: int) -> list[tuple[str, str]]:
    """The command table of a help page ``width`` columns wide: (name, summary) of each
    available command, the summary cut to what fits beside the longest name."""
    names = available_commands()
    if not names:
        return []
    limit = width - 6 - max(len(name) for name in names)
    return [(name, short_help(COMMANDS[name][1], limit)) for name in names]


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    wrapper = textwrap.TextWrapper(
        width, initial_indent=first, subsequent_indent=rest, replace_whitespace=False
    )
    return wrapper.wrap(text.expandtabs())


def _definitions(rows: list[tuple[str, str]], width: int, indent: int) -> list[str]:
    """Two columns: terms, and their text wrapped beside them."""
    first = min(max(len(term) for term, _ in rows), _FIRST_COLUMN_MAX) + _SPACING
    text_width = max(width - first - 2, 10)
    lines: list[str] = []
    for term, text in rows:
        head = " " * indent + term
        wrapped = _wrap(text, text_width)
        if not wrapped:
            lines.append(head)
            continue
        if len(term) <= first - _SPACING:
            lines.append(head + " " * (first - len(term)) + wrapped[0])
        else:
            lines.append(head)
            lines.append(" " * (first + indent) + wrapped[0])
        lines.extend(" " * (first + indent) + line for line in wrapped[1:])
    return lines


def top_help(width: int | None = None) -> str:
    """The text of ``srkit --help`` (without the final newline), ``width`` (at least
    50) columns wide, :func:`help_width` by default."""
    width = help_width() if width is None else max(width, _MIN_WIDTH)
    prefix = "Usage: srkit "
    lines = _wrap("[OPTIONS] COMMAND [ARGS]...", width, prefix, " " * len(prefix))
    indent = " " * _INDENT
    lines += ["", *_wrap(DESCRIPTION, width, indent, indent)]
    options = [("--version", VERSION_HELP), (", ".join(HELP_NAMES), _HELP_HELP)]
    lines += ["", "Options:", *_definitions(options, width, _INDENT)]
    rows = command_rows(width)
    if rows:
        lines += ["", "Commands:", *_definitions(rows, width, _INDENT)]
    return "\n".join(lines)
