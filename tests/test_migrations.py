"""Schema migrations: a new database, an old one, one from the future, many nodes at once."""

from __future__ import annotations

import datetime as dt
import json
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

from monitor.events import Event
from monitor.state import migrations
from monitor.state.database import Database
from monitor.state.schema import metadata
from monitor.state.store import Store, StoreError

ROOT = Path(__file__).resolve().parent.parent

# The statements table before revision 0003: one row per source and URL.
OLD_STATEMENTS = """
CREATE TABLE statements (
    id INTEGER NOT NULL PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    discovered_as VARCHAR(16) NOT NULL,
    summary TEXT,
    listed_published DATE,
    title TEXT,
    first_seen_at DATETIME NOT NULL,
    last_checked_at DATETIME,
    last_changed_at DATETIME,
    version INTEGER NOT NULL,
    etag TEXT,
    last_modified TEXT,
    content_hash VARCHAR(64),
    container TEXT,
    container_digest VARCHAR(64),
    UNIQUE (source_id, url)
)
"""


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
        db.execute("DROP TABLE source_statements")  # statements were one per source then
        db.execute("DROP TABLE statements")
        db.execute(OLD_STATEMENTS)
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
    assert [s.url for s in store.statements("old")] == ["https://example.org/"]
    assert store.archived() == []
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, metadata) == []
    store.close()


def test_a_database_migrated_by_a_newer_program_is_refused_clearly(fresh_database_url, tmp_path):
    database_url = fresh_database_url
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


def test_one_url_tracked_by_two_sources_becomes_one_statement_keeping_every_archived_page(
    fresh_database_url, tmp_path
):
    database_url = fresh_database_url
    state = tmp_path / "state"
    state.mkdir()
    url = database_url or f"sqlite:///{state / 'monitor.db'}"
    engine = sa.create_engine(Database(url, state).resolved())
    migrations.upgrade(engine, "0002")  # as statement-monitor left it before 0003
    statement = "https://example.org/news/partnership"
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO sources (id, name, url, kind, created_at, consecutive_failures) "
                "VALUES (1, 'newsroom', 'https://example.org/news/', 'index', :at, 0), "
                "(2, 'partnership', :url, 'page', :at, 0)"
            ),
            {"at": dt.datetime(2026, 11, 1), "url": statement},
        )
        # The index saw the statement first and an edit since; the page source was added
        # later and holds one version (the edited text), archived.
        for row_id, source, version, seen in ((1, 1, 2, 1), (2, 2, 1, 5)):
            db.execute(
                sa.text(
                    "INSERT INTO statements (id, source_id, url, status, discovered_as, "
                    "first_seen_at, version) VALUES (:id, :source, :url, 'active', 'baseline', "
                    ":seen, :version)"
                ),
                {
                    "id": row_id,
                    "source": source,
                    "url": statement,
                    "seen": dt.datetime(2026, 11, seen),
                    "version": version,
                },
            )
        for row_id, version, text, day, archive in (
            (1, 1, "We will invest.", 1, "monitor-20261101-000.warc.gz"),
            (1, 2, "We may invest.", 3, "monitor-20261103-000.warc.gz"),
            (2, 1, "We may invest.", 5, "monitor-20261105-000.warc.gz"),
        ):
            db.execute(
                sa.text(
                    "INSERT INTO snapshots (statement_id, version, fetched_at, title, text, "
                    "normalized, text_hash, archive_file, archive_offset, archive_length, "
                    "archive_digest) VALUES (:id, :version, :at, 'Partnership', :text, :text, "
                    ":hash, :archive, 0, 100, 'sha256:00')"
                ),
                {
                    "id": row_id,
                    "version": version,
                    "at": dt.datetime(2026, 11, day),
                    "text": text,
                    "hash": text.lower(),
                    "archive": archive,
                },
            )
        for source, row_id, kind, version in ((1, 1, "changed", 2), (2, 2, "baseline", 1)):
            event = Event(kind, ("newsroom", "partnership")[source - 1], statement, version=version)
            db.execute(
                sa.text(
                    "INSERT INTO events (source_id, statement_id, kind, url, version, at, "
                    "payload) VALUES (:source, :id, :kind, :url, :version, :at, :payload)"
                ),
                {
                    "source": source,
                    "id": row_id,
                    "kind": kind,
                    "url": statement,
                    "version": version,
                    "at": dt.datetime(2026, 11, 5),
                    "payload": json.dumps(event.to_json(detail=True)),
                },
            )
    engine.dispose()

    store = Store.open(state, database_url)

    merged = store.statements()
    assert [(s.url, s.version, s.sources) for s in merged] == [
        (statement, 2, ("newsroom", "partnership"))
    ]
    assert [s.url for s in store.statements("partnership")] == [statement]
    # the timeline with the most versions is kept; the other's page stays in the archive
    assert [(s.version, s.text) for s in store.snapshots(merged[0].id)] == [
        (1, "We will invest."),
        (2, "We may invest."),
    ]
    archived = store.archived()
    assert [(a.ref.file, a.version, a.capture_id is not None) for a in archived] == [
        ("monitor-20261101-000.warc.gz", 1, False),
        ("monitor-20261103-000.warc.gz", 2, False),
        ("monitor-20261105-000.warc.gz", 2, True),  # the page source's copy, same text as v2
    ]
    assert store.archived(sources=["partnership"]) == archived
    # both sources' events stay, on the one statement
    assert sorted((e.kind, e.source) for e in store.events(url=statement)) == [
        ("baseline", "partnership"),
        ("changed", "newsroom"),
    ]
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, metadata) == []
    store.close()
