"""The ``srkit`` command's entry point: :func:`main`.

A few plain forms are answered without click (:mod:`srkit.cli.shortcut`: ``srkit
--help``, ``srkit --version``, ``srkit dump [OPTIONS] FILE...`` with options it knows),
because importing click is a good part of a short command's time; everything else goes
to the click group :data:`cli` (:mod:`srkit.cli.group`), whose subcommands load lazily
from :data:`COMMANDS`. Both ways give the same output and exit code (the tests of
tests/cli/test_shortcut.py compare them). ``srkit --version`` also says which parser
reads files: the compiled one or the pure-Python fallback (:mod:`srkit.codec.fastparse`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from srkit.cli.commands import COMMANDS, reader_note

if TYPE_CHECKING:  # at run time, imported on first use by __getattr__
    from srkit.cli.group import cli

__all__ = ["main", "cli", "COMMANDS", "reader_note"]


def main(argv: Sequence[str] | None = None) -> Any:
    """Console entry point: run ``srkit ARGV`` (``sys.argv[1:]`` by default); exits
    with the command's exit code (``SystemExit``)."""
    from srkit.cli.shortcut import answer

    args = list(sys.argv[1:] if argv is None else argv)
    answer(args)  # exits if it answered
    from srkit.cli.group import cli

    return cli.main(args=args, prog_name="srkit", standalone_mode=True)


def __getattr__(name: str) -> Any:
    """``cli``, the click group, imported (with click) on first use."""
    if name == "cli":
        from srkit.cli.group import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
