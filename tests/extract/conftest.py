"""Fixtures of the extraction tests: a small generated corpus (session-wide)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.extract.corpus import make_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 SRs with fresh UIDs and three broken files, in one folder."""
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(folder, 120)
    return folder
