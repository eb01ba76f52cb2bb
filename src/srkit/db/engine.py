"""Database URLs, engines and schema migrations.

SQLite runs in WAL mode (readers query while an import writes), with foreign keys
on, a busy timeout, case-sensitive LIKE (DICOM matching is case-sensitive except
for PN, PS3.4 C.2.2.2) and ``BEGIN IMMEDIATE`` for writes. PostgreSQL URLs use
psycopg 3. The schema is brought to the newest migration when a database opens.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from srkit.errors import MissingDependencyError, SrkitError

__all__ = ["resolve_url", "sqlite_file", "default_storage", "make_engines", "upgrade", "HEAD"]

HEAD = "0003"
"""The newest migration; a database at this revision needs no alembic run."""


def _data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("srkit"))


def _given(url: str | os.PathLike[str] | None) -> str:
    """``url``, else ``$SRKIT_DB``, else ``srkit.sqlite`` in the user's data folder."""
    if url is None:
        url = os.environ.get("SRKIT_DB") or str(_data_dir() / "srkit.sqlite")
    return os.fspath(url)


def sqlite_file(url: str | os.PathLike[str] | None) -> Path | None:
    """The SQLite file a path (or None, see :func:`resolve_url`) names; None for a URL.
    A folder means ``srkit.sqlite`` inside it."""
    text = _given(url)
    if "://" in text or text.startswith("sqlite:"):
        return None
    path = Path(text).expanduser()
    return path / "srkit.sqlite" if path.is_dir() else path


def resolve_url(url: str | os.PathLike[str] | None) -> str:
    """An SQLAlchemy URL for a path, an SQLite URL or a PostgreSQL URL.

    None means ``$SRKIT_DB``, else ``srkit.sqlite`` in the user's data folder.
    """
    text = _given(url)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith(("postgresql+", "sqlite:")):
        return text
    path = sqlite_file(text)
    if path is None:
        raise SrkitError(f"unsupported database URL {text!r} (an SQLite path or postgresql://)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SrkitError(
            f"cannot create the database folder: {exc.strerror}", source=str(path.parent)
        ) from None
    return f"sqlite:///{path.resolve()}"


def default_storage(url: str) -> Path:
    """Where copies go: beside an SQLite file, else in the user's data folder."""
    if env := os.environ.get("SRKIT_STORAGE"):
        return Path(env)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        return path.with_name(f"{path.stem}-storage")
    return _data_dir() / "storage"


def _sqlite_events(engine: Any) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA case_sensitive_like = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engines(url: str) -> tuple[Any, Any]:
    """A reader engine and a writer engine (sharing one pool) for ``url``."""
    try:
        from sqlalchemy import create_engine
    except ImportError:  # pragma: no cover - depends on the install
        raise MissingDependencyError("the database needs SQLAlchemy: install srkit[db]") from None
    if url.startswith("postgresql+psycopg"):
        try:
            import psycopg  # noqa: F401
        except ImportError:  # pragma: no cover
            raise MissingDependencyError(
                "PostgreSQL needs psycopg: install srkit[postgres]"
            ) from None
        engine = create_engine(url, pool_pre_ping=True)
        return engine, engine
    engine = create_engine(url)
    if url.startswith("sqlite"):
        _sqlite_events(engine)
        return engine, engine.execution_options(sqlite_immediate=True)
    return engine, engine


def _current(conn: Any) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def upgrade(writer: Any) -> None:
    """Bring the schema to the newest migration (alembic, run in-process)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with writer.connect() as conn:
            if _current(conn) == HEAD:
                return
    except SQLAlchemyError as exc:
        raise SrkitError(f"cannot open the database: {_short(exc)}") from None
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    sqlite = writer.dialect.name == "sqlite"
    try:
        with writer.connect() as conn:
            # SQLite migrations rebuild tables (alembic's batch mode); with foreign keys
            # on, dropping the old table would cascade into its children. The pragma
            # only takes effect outside a transaction; the keys are checked before the
            # commit instead.
            if sqlite:  # on the DBAPI connection: SQLAlchemy would begin a transaction
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    if sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise SrkitError(
                                f"cannot migrate the database: {len(broken)} rows would "
                                "lose their parent (nothing was changed)"
                            )
            finally:
                if sqlite:
                    conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")
    except SQLAlchemyError as exc:
        raise SrkitError(f"cannot migrate the database: {_short(exc)}") from None


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
