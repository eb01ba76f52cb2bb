"""The shared option bundles of :mod:`srkit.cli.common`: every command that has
``--db``, ``--policy``, ``--format`` or ``-o/--output`` declares it the one way, with the
same help, and the contract's choices (``contract.md``)."""

from __future__ import annotations

from collections.abc import Iterator

import click

from srkit.cli.main import cli


def _commands(
    group: click.Group, ctx: click.Context, path: str = "srkit"
) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, ctx, f"{path} {name}")


def _options(flag: str) -> dict[str, click.Option]:
    from srkit.cli.dose import tabulate  # srkit dose PATH... (not a listed subcommand)

    ctx = click.Context(cli)
    found = {}
    for path, command in [*_commands(cli, ctx), ("srkit dose", tabulate)]:
        for param in command.params:
            if isinstance(param, click.Option) and flag in param.opts:
                found[path] = param
    return found


def test_db_is_one_option_everywhere() -> None:
    found = _options("--db")
    assert len(found) >= 20
    for path, option in found.items():
        assert option.metavar == "URL", path
        assert (option.help or "").startswith("SQLite path or postgresql:// URL"), path
        assert option.default is None, path
    defaults = {p for p, o in found.items() if "$SRKIT_DB" in (o.help or "")}
    assert {"srkit import", "srkit ls", "srkit query dose", "srkit serve"} <= defaults


def test_policy_is_the_readers_everywhere() -> None:
    found = _options("--policy")
    assert set(found) == {"srkit dump", "srkit measurements", "srkit validate"}
    assert len({o.help for o in found.values()}) == 1
    for option in found.values():
        assert isinstance(option.type, click.Choice)
        assert list(option.type.choices) == ["strict", "tolerant", "permissive"]
        assert option.default == "tolerant"


def test_format_has_one_help_and_the_contracts_choices() -> None:
    found = _options("--format")
    for path, option in found.items():
        assert option.name == "fmt", path
        assert (option.help or "").startswith("Output format"), path
        assert isinstance(option.type, click.Choice)
        if "parquet" in option.type.choices:
            assert "parquet needs -o FILE" in (option.help or ""), path
    choices = {p: list(o.type.choices) for p, o in found.items()}  # type: ignore[attr-defined]
    assert {"jsonl", "csv", "parquet"} <= set(choices["srkit measurements"])
    assert {"json", "jsonl", "csv"} <= set(choices["srkit dose"])
    assert "jsonl" in choices["srkit dump"]
    assert "json" in choices["srkit ls"]
    assert found["srkit measurements"].default == "jsonl"


def test_output_is_one_option_for_the_tables() -> None:
    found = _options("--output")
    tables = ["srkit dose", "srkit measurements", "srkit query dose", "srkit query measurements"]
    assert all("-o" in found[p].opts for p in tables)
    # the file commands also take a folder (a Parquet dataset); one help each way
    assert {found[p].help for p in tables[2:]} == {"File to write (stdout)."}
    datasets = ["srkit dose", "srkit measurements", "srkit instances"]
    assert {found[p].help for p in datasets} == {
        "File to write (stdout), or a folder (existing, or ending in /): a Parquet dataset."
    }
