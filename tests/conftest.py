"""Shared fixtures: test data found by name, peers required under CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, NoReturn

import pytest

DATA = Path(
    os.environ.get(
        "SRKIT_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(message: str) -> NoReturn:
    """Skip a test whose peer or data is missing here; under ``CI=true`` fail instead
    (``.ci/run`` installs every peer, and the data sit beside the checkout)."""
    if IN_CI:
        pytest.fail(f"{message} (under CI)")
    pytest.skip(message)


def require_module(name: str, why: str = "") -> Any:
    """Import an optional test dependency; a skip locally, a failure under ``CI=true``
    (``.ci/run`` installs ``.[test]``, which holds every one)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        skip_or_fail(f"{name} is not installed{f' ({why})' if why else ''}")


def data_path(name: str) -> Path:
    """A file (or folder) of ``../shared/data`` by its path inside it; skips without data."""
    path = DATA / name
    if not path.exists():
        skip_or_fail(f"test data {path} not found (set SRKIT_TEST_DATA)")
    return path


def data_files(pattern: str) -> list[Path]:
    """Files of ``../shared/data`` matching a glob (sorted); empty without data."""
    return sorted(DATA.glob(pattern)) if DATA.exists() else []


def require_tool(name: str, path: str | None = None) -> str:
    """The path of an external tool; a skip locally, a failure under ``CI=true``."""
    found = path if path and Path(path).exists() else shutil.which(name)
    if not found:
        skip_or_fail(f"{name} is not installed (.ci/run installs it)")
    return found


SR_FILES = data_files("sr-*/*.dcm") + data_files("rdsr/*.dcm") + data_files("kos/*.dcm")
"""Every SR file of the shared data."""


@pytest.fixture
def data():
    return data_path


def sr_ids() -> list[str]:
    return [p.relative_to(DATA).as_posix() for p in SR_FILES]
