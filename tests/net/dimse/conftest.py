"""Fixtures of the DIMSE tests: ``archive`` (an empty listener over a fresh database)
and ``loaded`` (one filled by DCMTK storescu with :func:`sample_files`, once per
module)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import require_tool
from tests.net.dimse.archive import Archive, sample_files
from tests.peers import peer_env


@pytest.fixture
def archive(tmp_path):
    arch = Archive(tmp_path)
    yield arch
    arch.close()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """An archive filled with :func:`sample_files` by DCMTK storescu."""
    storescu = require_tool("storescu", "/usr/bin/storescu")
    arch = Archive(tmp_path_factory.mktemp("loaded"))
    files = sample_files()
    run = subprocess.run(
        [storescu, "-R", "-aec", arch.aet, "127.0.0.1", str(arch.port), *map(str, files)],
        capture_output=True,
        text=True,
        env=peer_env(),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    yield arch
    arch.close()
