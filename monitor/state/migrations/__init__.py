"""Schema migrations of the state database (Alembic), applied when a store opens.

Opening a store reads the database's revision with one query; only a database behind
`HEAD` loads Alembic and upgrades, inside one transaction that holds a lock (PostgreSQL's
advisory lock, SQLite's write lock), so any number of nodes and commands may start at once
and exactly one of them migrates while the others wait and then find the work done.

A database made before the migrations existed (no `alembic_version` table) is brought up
by revision 0001, which recognises the old tables and only adds what they lack.
"""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

# Every revision this program knows, oldest first (tests/test_migrations.py checks that this
# matches the files in versions/).
REVISIONS = ("0001", "0002")
HEAD = REVISIONS[-1]
# pg_advisory_xact_lock key: "statement-monitor migrations", any constant that is ours.
_LOCK_KEY = 0x5D0_0001


class SchemaTooNew(Exception):
    """The database was migrated by a newer statement-monitor than this one."""


def current_revision(conn: Connection) -> str | None:
    """The database's revision (None: no migration has run on it yet)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Bring the database to `HEAD`, unless it is there already. Raises SchemaTooNew."""
    with engine.connect() as conn:
        revision = current_revision(conn)
        conn.rollback()
    if revision == HEAD:
        return
    _check_known(revision)
    from alembic import command
    from alembic.config import Config

    with engine.connect() as conn:
        conn.execution_options(write=True)  # SQLite: BEGIN IMMEDIATE takes the write lock
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            _check_known(current_revision(conn))  # another node may have migrated meanwhile
            config = Config()
            config.set_main_option("script_location", str(resources.files(__name__)))
            config.attributes["connection"] = conn
            command.upgrade(config, HEAD)


def _check_known(revision: str | None) -> None:
    if revision is not None and revision not in REVISIONS:
        raise SchemaTooNew(
            f"the state database is at schema revision {revision}, which this program does "
            f"not know (its newest is {HEAD}): it was used by a newer statement-monitor; "
            "upgrade this one"
        )
