"""The click group of ``srkit``: its subcommands load lazily from the command table.

:data:`srkit.cli.commands.COMMANDS` names each command's module; a command's module is
imported only when that command runs (``srkit --help`` imports none of them, and is
answered without click at all by :mod:`srkit.cli.shortcut`). Heavy imports (pydicom,
NumPy, pyarrow, SQLAlchemy, FastAPI) happen only inside the command that needs them
(tests/cli/test_start.py pins what ``--help`` and ``dump`` import).
"""

from __future__ import annotations

import importlib

import click

from srkit.cli.commands import (
    COMMANDS,
    DESCRIPTION,
    HELP_NAMES,
    VERSION_HELP,
    available,
    available_commands,
    print_version,
)

__all__ = ["LazyGroup", "cli"]


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return available_commands()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not available(cmd_name):
            return None
        module_name, attr = entry[0].split(":")
        module = importlib.import_module(f"srkit.cli.{module_name}")
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, without importing a command's module
        (the rows of :func:`srkit.cli.help_text.command_rows`)."""
        from srkit.cli.help_text import command_rows

        rows = command_rows(formatter.width)
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    print_version()
    ctx.exit()


@click.group(
    cls=LazyGroup, help=DESCRIPTION, context_settings={"help_option_names": list(HELP_NAMES)}
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help=VERSION_HELP,
)
def cli() -> None:
    """The ``srkit`` group (its help is :data:`srkit.cli.commands.DESCRIPTION`)."""
