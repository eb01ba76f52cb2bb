"""Database fixtures shared by the db tests: ``fresh_db`` on SQLite and PostgreSQL.

Each PostgreSQL test gets its own schema (``search_path`` in the URL), dropped
afterwards, so tests never see each other's rows. PostgreSQL missing: a skip
locally, a failure under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

PG_URL = os.environ.get("SRKIT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:55432/srkit_test")
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin() -> object:
    try:
        import psycopg

        return psycopg.connect(PG_URL, connect_timeout=3, autocommit=True)
    except Exception as exc:
        skip_or_fail(
            f"PostgreSQL at {PG_URL} not reachable ({type(exc).__name__}); .ci/postgres-start"
        )


def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty database of ``backend``; cleaned up after the test."""
    if backend == "sqlite":
        yield str(tmp_path / "srkit.sqlite")
        return
    admin = _pg_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[attr-defined]
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, on each backend."""
    yield from db_url(request.param, tmp_path)


@pytest.fixture
def fresh_db(fresh_url: str, tmp_path: Path) -> Iterator[object]:
    """An empty :class:`srkit.db.Database` (storage in the test's folder), on each backend."""
    from srkit.db import Database

    db = Database(fresh_url, storage=tmp_path / "storage")
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(scope="module", params=BACKENDS)
def loaded_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, object]]:
    """A database with all of ``../shared/data`` imported once per module and backend,
    and the import's report: ``(db, report)``. Tests must not change it."""
    from srkit.db import Database
    from tests.conftest import data_path

    tmp = tmp_path_factory.mktemp("loaded")
    for url in db_url(request.param, tmp):
        db = Database(url, storage=tmp / "storage")
        try:
            report = db.import_paths([data_path("")], workers=2)
            yield db, report
        finally:
            db.close()
