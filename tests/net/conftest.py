"""The ``peers`` marker, enforced for the network tests: a test without
``@pytest.mark.peers`` that starts an outside program (DCMTK, Orthanc, anything but
this Python) or connects to PostgreSQL fails, naming what it started.

Fixtures count too: a module-scoped fixture that starts a peer is set up inside the
first test that uses it, so that test must carry the marker.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_PYTHON = Path(sys.executable).resolve()
_SYSTEM = frozenset({"ldconfig", "gcc", "cc", "ld", "objdump", "uname"})
"""Programs the standard library runs for itself (``ctypes.util.find_library``)."""


def _program(args: Any) -> str:
    first = args if isinstance(args, str | bytes | Path) else next(iter(args), "")
    text = first.decode() if isinstance(first, bytes) else str(first)
    return text.split()[0] if isinstance(args, str) and text else text


def _outside(program: str) -> bool:
    if not program:
        return False
    path = Path(program)
    try:
        resolved = path.resolve() if path.is_absolute() else None
    except OSError:
        resolved = None
    name = path.name
    return resolved != _PYTHON and not name.startswith("python") and name not in _SYSTEM


class _Guard:
    """Patches :class:`subprocess.Popen` and ``psycopg.connect`` while a test without
    the marker runs."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.popen_init = subprocess.Popen.__init__
        self.connect: Any = None

    def __enter__(self) -> _Guard:
        guard = self
        original = self.popen_init

        def init(popen: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
            program = _program(args)
            if _outside(program):
                pytest.fail(f"{guard.test} starts {program} without @pytest.mark.peers")
            original(popen, args, *rest, **kwargs)

        subprocess.Popen.__init__ = init  # type: ignore[method-assign]
        try:
            import psycopg
        except ImportError:
            return self
        self.connect = psycopg.connect

        def connect(*args: Any, **kwargs: Any) -> Any:
            pytest.fail(f"{guard.test} connects to PostgreSQL without @pytest.mark.peers")

        psycopg.connect = connect  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.Popen.__init__ = self.popen_init  # type: ignore[method-assign]
        if self.connect is not None:
            import psycopg

            psycopg.connect = self.connect


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The PostgreSQL cases of tests parametrized over the database backends
    (``tests.db.fixtures.BACKENDS``) need PostgreSQL: they carry the marker."""
    here = Path(__file__).parent
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgresql" in params.values() and here in item.path.parents:
            item.add_marker(pytest.mark.peers)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    if item.get_closest_marker("peers") is None:
        item.stash[_GUARD] = guard = _Guard(item.nodeid)
        guard.__enter__()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield
    guard = item.stash.get(_GUARD, None)
    if guard is not None:
        guard.__exit__()


_GUARD = pytest.StashKey[_Guard]()
