"""Schema migrations: a new database, an old one, one from the future, many nodes at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from monitor.state import migrations
from monitor.state.schema import metadata
from monitor.state.store import Store, StoreError

ROOT = Path(__file__).resolve().parent.parent


def test_the_known_revisions_are_the_revision_files_in_order():
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    script = ScriptDirectory.from_config(config)
    walked = [rev.revision for rev in script.walk_revisions()]
    assert tuple(reversed(walked)) == migrations.REVISIONS
    assert script.get_current_head() == migrations.HEAD


def test_a_migrated_database_has_exactly_the_tables_the_code_uses(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []
    assert store.schema_revision == migrations.HEAD


def test_a_database_from_before_the_migrations_is_brought_up_to_date(tmp_path: Path) -> None:
    state = tmp_path / "state"
    Store.open(state).close()
    with sqlite3.connect(state / "monitor.db") as db:  # as hand-written schema version 1 left it
        for table in ("alembic_version", "nodes", "check_leases", "host_slots", "captures"):
            db.execute(f"DROP TABLE {table}")
        db.execute("DROP INDEX ix_statements_url")
        for column in ("claimed_by", "claimed_until"):
            db.execute(f"ALTER TABLE alerts DROP COLUMN {column}")
        for column in ("archive_file", "archive_offset", "archive_length", "archive_digest"):
            db.execute(f"ALTER TABLE snapshots DROP COLUMN {column}")
        db.execute("CREATE TABLE meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute(
            "INSERT INTO sources (id, name, url, kind, created_at, consecutive_failures) "
            "VALUES (1, 'old', 'https://example.org/', 'page', '2026-01-01', 0)"
        )
        db.execute(
            "INSERT INTO statements (id, source_id, url, status, discovered_as, first_seen_at, "
            "version) VALUES (1, 1, 'https://example.org/', 'active', 'baseline', "
            "'2026-01-01', 1)"
        )
        db.execute(
            "INSERT INTO snapshots (statement_id, version, fetched_at, title, text, normalized, "
            "text_hash) VALUES (1, 1, '2026-01-01', 'Old', 'Old text', 'old text', 'x')"
        )

    store = Store.open(state)

    assert store.schema_revision == migrations.HEAD
    old = store.snapshot(1, 1)
    assert old is not None and old.text == "Old text" and old.archived is None
    assert store.archived() == []
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, metadata) == []
    store.close()


def test_a_database_migrated_by_a_newer_program_is_refused_clearly(database_url, tmp_path):
    Store.open(tmp_path / "state", database_url).close()
    engine = sa.create_engine(
        (database_url or f"sqlite:///{tmp_path / 'state' / 'monitor.db'}").replace(
            "postgresql://", "postgresql+psycopg://"
        )
    )
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"revision 0099.*newer statement-monitor"):
        Store.open(tmp_path / "state", database_url)


@pytest.mark.slow
def test_nodes_starting_at_once_migrate_a_new_database_once(postgres, tmp_path):
    url = postgres.create_database()
    opener = (
        "import sys; from monitor.state.store import Store; "
        "s = Store.open(sys.argv[1], sys.argv[2]); print(s.schema_revision)"
    )
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", opener, str(tmp_path / f"s{n}"), url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in starts]
    assert [(code, out.strip()) for code, out, _err in results] == [(0, migrations.HEAD)] * 6, [
        err for _c, _o, err in results
    ]
    postgres.drop_database(url)
