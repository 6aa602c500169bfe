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
REVISIONS = ("0001", "0002", "0003")
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


def upgrade(engine: Engine, target: str = HEAD) -> None:
    """Bring the database to `HEAD` (or an older `target`, for tests of a migration),
    unless it is there already. Raises SchemaTooNew."""
    with engine.connect() as conn:
        revision = current_revision(conn)
        conn.rollback()
    if revision == target:
        return
    _check_known(revision)
    from alembic import command
    from alembic.config import Config

    with engine.connect() as conn:
        conn.execution_options(write=True)  # SQLite: BEGIN IMMEDIATE takes the write lock
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to change its constraints, and dropping the old table
            # would run its ON DELETE actions (deleting every snapshot of the statements
            # table): foreign keys are off while migrating, as SQLite's own procedure says,
            # and checked before the commit. The pragma only works outside a transaction.
            _foreign_keys(conn, on=False)
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                _check_known(current_revision(conn))  # another node may have migrated meanwhile
                config = Config()
                config.set_main_option("script_location", str(resources.files(__name__)))
                config.attributes["connection"] = conn
                command.upgrade(config, target)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:  # never commit rows pointing nowhere
                        raise RuntimeError(f"the migration broke references: {broken[:5]}")
        finally:
            if sqlite:
                _foreign_keys(conn, on=True)


def _foreign_keys(conn: Connection, *, on: bool) -> None:
    """Turn SQLite's foreign keys on or off for this connection (outside a transaction)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_known(revision: str | None) -> None:
    if revision is not None and revision not in REVISIONS:
        raise SchemaTooNew(
            f"the state database is at schema revision {revision}, which this program does "
            f"not know (its newest is {HEAD}): it was used by a newer statement-monitor; "
            "upgrade this one"
        )
