"""The ``srkit`` command: a click group whose subcommands load lazily.

Heavy imports (pyarrow, SQLAlchemy, pynetdicom, FastAPI) happen only inside the
command that needs them, so ``srkit dump`` starts fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

__all__ = ["main", "cli"]

# command name -> "module:function" (module under srkit.cli)
COMMANDS: dict[str, str] = {
    "dump": "dump:dump",
    "measurements": "measurements:measurements",
    "instances": "instances:instances",
    "dose": "dose:dose",
    "validate": "validate:validate",
    "render": "render:render",
    "create": "create:create",
    "import": "db:import_cmd",
    "ls": "db:ls",
    "query": "db:query",
    "rm": "db:rm",
    "check": "db:check",
    "demo": "demo:demo",
    "listen": "net:listen",
    "echo": "net:echo",
    "find": "net:find",
    "move": "net:move",
    "get": "net:get",
    "send": "net:send",
    "serve": "web:serve",
    "dicomweb": "web:dicomweb",
    "examine": "load:examine_cmd",
    "load": "load:load_cmd",
    "export": "load:export",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if self._available(n))

    def _available(self, name: str) -> bool:
        module = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(f"srkit.cli.{module}") is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not self._available(cmd_name):
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"srkit.cli.{module_name}")
        command: click.Command = getattr(module, attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="srkit")
def cli() -> None:
    """srkit: read, tabulate, validate, render, archive and serve DICOM SR."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point."""

    return cli.main(args=argv, prog_name="srkit", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
