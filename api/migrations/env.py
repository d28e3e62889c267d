"""Alembic environment: migrations run on a connection handed over by simplismart.api.core.db."""

from alembic import context

from simplismart.api.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `python -m simplismart.api migrate`")

# Batch mode lets later revisions alter tables on SQLite, which has no ALTER COLUMN.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
