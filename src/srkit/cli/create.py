"""``srkit create measurement-report|dose-report``: build standard SR documents."""

from __future__ import annotations

import importlib
import importlib.util

import click

__all__ = ["create"]

_SUBCOMMANDS = {
    "measurement-report": "srkit.cli.create_measurement:measurement_report",
    "dose-report": "srkit.cli.create_dose:dose_report",
    "seg": "srkit.cli.create_seg:create_seg",
}


class _LazyCreate(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in _SUBCOMMANDS if self._found(n))

    def _found(self, name: str) -> bool:
        return importlib.util.find_spec(_SUBCOMMANDS[name].split(":")[0]) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _SUBCOMMANDS or not self._found(cmd_name):
            return None
        module, attr = _SUBCOMMANDS[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=_LazyCreate)
def create() -> None:
    """Create standard SR documents from JSON descriptions."""
