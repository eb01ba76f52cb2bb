"""Alembic environment: runs on the connection :func:`srkit.db.engine.upgrade` passes."""

from __future__ import annotations

from alembic import context

from srkit.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - srkit always passes a connection
    raise RuntimeError("srkit migrations run through srkit.db (Database opens and upgrades)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
