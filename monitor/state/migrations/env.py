"""Alembic's entry point: run the migrations on the connection `upgrade()` passes in.

The connection is already inside the transaction that holds the migration lock, so
Alembic runs every revision in it: all of them apply, or none.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
