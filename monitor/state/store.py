"""Snapshot history, events and the alert outbox in SQL (SQLite by default) via SQLAlchemy Core.

The schema (`schema.py`) is plain, portable SQL, and the same code runs on PostgreSQL.
Everything one check writes goes through `Store.save_check`, in one transaction: a crash
never leaves half a version, and an alert row exists only together with the snapshot and
event that caused it. Records in and out are the typed dataclasses of `records.py`.

A statement is one row per canonical URL, shared by every source tracking it (the
`source_statements` links). Whichever source's check records a new version, a removal or a
return first names it in the event; a check that saw the same is told so (`save_checks`
returns what was recorded) and adds nothing. The event alerts the notifiers of every
source tracking the statement, once each.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import uuid
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.clock import utcnow
from monitor.events import Event
from monitor.sources.urls import canonical_url
from monitor.state import migrations
from monitor.state.database import DB_FILENAME, Database, DatabaseUrlError
from monitor.state.records import (
    ArchivedFetch,
    CheckFailed,
    Container,
    Discovered,
    Fetched,
    NewVersion,
    NoiseOnly,
    OutboxAlert,
    Pruned,
    Removed,
    Snapshot,
    SourceRecord,
    SourceUpdate,
    StatementRecord,
    StatementUpdate,
    StatusChange,
    StoredEvent,
    Unchanged,
    _ref,
)
from monitor.state.schema import (
    alerts_table,
    captures_table,
    events_table,
    metadata,
    snapshots_table,
    source_statements_table,
    sources_table,
    statements_table,
)

if TYPE_CHECKING:
    from monitor.archive.model import ArchiveRef

log = logging.getLogger(__name__)

# What a source's listing may say of a statement, over what its page says (records.py).
LISTING_STATUSES = frozenset({"moved", "alias"})
# Values in one SQL `IN (...)`: well below every database's limit on parameters.
_IN_LIMIT = 500
T = TypeVar("T")

__all__ = ["DB_FILENAME", "Store", "StoreError", "StateCorrupt", "error_text"]


class StoreError(Exception):
    """The state database cannot be opened or written; the message says why and where."""


class StateCorrupt(StoreError):
    """The state database file is damaged: the run stops (exit 2) and says how to recover."""


# SQLite's words for a damaged file (sqlite3.DatabaseError), and for a full disk.
_CORRUPT_WORDS = ("malformed", "not a database", "file is encrypted", "corrupt")
_FULL_WORDS = ("database or disk is full", "disk is full")


def corrupt_message(db_path: str, reason: str) -> str:
    """What a user reads about a damaged state file: what, where and how to recover."""
    return (
        f"the state database {db_path} is damaged ({reason}).\n"
        "  To recover, stop the daemon and any `monitor check`, keep a copy of the file, then\n"
        "  either put back your last backup of it, or salvage what is readable:\n"
        f"    sqlite3 {db_path} .recover | sqlite3 {db_path}.recovered\n"
        f"    mv {db_path}.recovered {db_path}   (and remove {db_path}-wal, {db_path}-shm)"
    )


def _translate_sqlite_error(context: Any) -> None:
    """Engine hook: a damaged file or a full disk becomes a plain StoreError.

    Raised here, before SQLAlchemy wraps the driver's error with the SQL and parameters,
    so neither a traceback nor raw SQL ever reaches a user.
    """
    orig = context.original_exception
    text = str(orig).lower()
    database = context.engine.url.database if context.engine is not None else None
    where = database or "(the state database)"
    if any(word in text for word in _FULL_WORDS):
        raise StoreError(
            f"disk full: the state database {where} cannot be written ({orig}); "
            "free space on its disk and run again (nothing was half-written)"
        ) from None
    if any(word in text for word in _CORRUPT_WORDS):
        raise StateCorrupt(corrupt_message(where, str(orig))) from None


def error_text(exc: BaseException) -> str:
    """An exception as users may read it: for a database error, the driver's message only.

    SQLAlchemy's own text carries the SQL and its parameters (scraped text, URLs with
    credentials), which belong neither in logs nor in the UI.
    """
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}"
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it atomic
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # Transactions are begun by _sqlite_begin below, not by the driver.
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    """Begin write transactions IMMEDIATE: they take the write lock up front.

    A deferred transaction that reads and then writes fails at once with "database is
    locked" when another process (the daemon, a `monitor check`, a shard) committed in
    between; an immediate one waits for the lock instead (busy_timeout).
    """
    mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _prepare_state_folder(state: Path) -> None:
    """Create the state folder of the embedded database, or say why it cannot be used."""
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the state folder {state}: {exc.strerror}") from None
    if not os.access(state, os.W_OK):
        raise StoreError(
            f"the state folder {state} is not writable; fix its permissions or pass another --state"
        )


def _engine(url: str) -> Engine:
    """An engine for the URL, with what each database needs to be shared safely."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        sa_event.listen(engine, "connect", _sqlite_pragmas)
        sa_event.listen(engine, "begin", _sqlite_begin)
        sa_event.listen(engine, "handle_error", _translate_sqlite_error)
        return engine
    # A server database: connections are checked before use (a restarted server), and the
    # pool is large enough for the daemon's store threads plus its web requests.
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


# The statements a check's recording runs, built once and executed with parameters: built
# with `.values()` and `==` for each execution, SQLAlchemy spent most of its time building
# them and their cache keys (an INSERT 112 µs of CPU against 25 µs prebuilt, a SELECT of one
# value 51 µs against 19 µs, on SQLite). Rows updated by id: `_row_update`.
_VERSION_OF = sa.select(statements_table.c.version).where(
    statements_table.c.id == sa.bindparam("statement_id")
)
_STATUS_OF = sa.select(statements_table.c.status).where(
    statements_table.c.id == sa.bindparam("statement_id")
)
_TRACKING = sa.select(source_statements_table.c.source_id).where(
    source_statements_table.c.statement_id == sa.bindparam("statement_id")
)
_AUDIENCE = (
    sa.select(sources_table.c.name)
    .join(source_statements_table, source_statements_table.c.source_id == sources_table.c.id)
    .where(source_statements_table.c.statement_id == sa.bindparam("statement_id"))
    .order_by(sources_table.c.name)
)
_CHANGED_AT = (
    sa.update(sources_table)
    .where(sources_table.c.id.in_(sa.bindparam("source_ids", expanding=True)))
    .values(last_change_at=sa.bindparam("at", type_=sources_table.c.last_change_at.type))
)
_ADD_SNAPSHOT = sa.insert(snapshots_table)
# A statement's stored version as compared with (without the raw page: read on its own)
_SNAPSHOT_OF = sa.select(*(c for c in snapshots_table.c if c.name not in {"id", "raw"})).where(
    snapshots_table.c.statement_id == sa.bindparam("statement_id")
)
_LATEST_SNAPSHOT = _SNAPSHOT_OF.order_by(snapshots_table.c.version.desc()).limit(1)
_SNAPSHOT = _SNAPSHOT_OF.where(snapshots_table.c.version == sa.bindparam("version"))
_ADD_CAPTURE = sa.insert(captures_table)
_ADD_EVENT = sa.insert(events_table)
_ADD_ALERT = sa.insert(alerts_table)


class _RowUpdates:
    """UPDATEs of rows by id, collected in a transaction and sent as executemany batches.

    Most checks only record that they happened (times, validators). One UPDATE per table
    and set of columns for a whole group of checks costs a fraction of one per row. A row
    updated again, or about to be written directly, first sends what was collected, so
    the updates of one row keep their order.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._rows: set[tuple[str, int]] = set()

    def add(self, conn: Connection, table: sa.Table, row_id: int, values: dict[str, Any]) -> None:
        self.before_write(conn, table, row_id)
        key = (table.name, tuple(sorted(values)))
        self._groups.setdefault(key, []).append(_row_params(row_id, values))
        self._rows.add((table.name, row_id))

    def before_write(self, conn: Connection, table: sa.Table, row_id: int) -> None:
        """Send what was collected if it touches this row."""
        if (table.name, row_id) in self._rows:
            self.flush(conn)

    def flush(self, conn: Connection) -> None:
        for (table_name, columns), rows in self._groups.items():
            conn.execute(_row_update(table_name, columns), rows)
        self._groups.clear()
        self._rows.clear()


def update_row(conn: Connection, table: sa.Table, row_id: int, values: dict[str, Any]) -> None:
    """UPDATE one row by its id, through a statement built once per table and columns."""
    conn.execute(_row_update(table.name, tuple(sorted(values))), _row_params(row_id, values))


def _row_params(row_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a `_row_update` statement: the row's id and each column's value."""
    return {"row_id": row_id, **{f"v_{k}": v for k, v in values.items()}}


@functools.cache
def _row_update(table_name: str, columns: tuple[str, ...]) -> sa.Update:
    """UPDATE of `columns` of the row whose id is `row_id`; each column's value is the
    parameter `v_<column>`.

    Built once per shape and reused: SQLAlchemy builds no statement and no cache key per
    execution then (a row update built with `.values()` each time cost 68 µs of CPU, a
    reused one 17 µs, on SQLite).
    """
    table = metadata.tables[table_name]
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values({c: sa.bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
    )


class Store:
    """The state database. Open it with `Store.open(state_dir)` or `Store(engine)`."""

    def __init__(self, engine: Engine, database: Database | None = None) -> None:
        self.engine = engine
        # Row ids of sources and statements, which never change once committed: spares a
        # lookup per write on the hot path of large checks.
        self._ids: dict[tuple[Any, ...], int] = {}
        self._ids_loaded: set[str] = set()
        self.database = database
        # the state folder (for what lives beside the database, such as the archive);
        # None for a store opened on an engine alone
        self.state_dir: Path | None = database.state_dir if database else None
        try:
            migrations.upgrade(engine)
        except migrations.SchemaTooNew as exc:
            raise StoreError(str(exc)) from None

    @classmethod
    def open(cls, state_dir: str | Path, url: str | None = None) -> Store:
        """Open (creating if needed) the state folder and its database, migrated to the
        newest schema.

        `url` selects the database as people write it (`postgresql://user:${PGPASSWORD}@host/db`,
        see `monitor.state.database`); by default SQLite at `<state_dir>/monitor.db`.
        """
        state = Path(state_dir)
        database = Database(url or f"sqlite:///{state / DB_FILENAME}", state)
        if database.is_default:
            _prepare_state_folder(state)
        try:
            engine = _engine(database.resolved())
        except DatabaseUrlError as exc:
            raise StoreError(str(exc)) from None
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot use the database URL {database.shown()}: {exc}") from None
        try:
            return cls(engine, database)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot open the state database {database.shown()}: {exc.orig}"
            ) from None

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ------------------------------------------------------------------------------

    @property
    def schema_revision(self) -> str | None:
        """The database's schema revision (`monitor.state.migrations.HEAD` once open)."""
        with self.engine.connect() as conn:
            return migrations.current_revision(conn)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed whole, or (StoreError) not at all."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(write=True)
                with conn.begin():
                    yield conn
        except sa.exc.DBAPIError as exc:
            # the driver's message only: SQLAlchemy's text carries the SQL and parameters
            # (scraped text), which must not reach logs or the UI
            raise StoreError(f"cannot write the state database: {exc.orig}") from None

    # -- reading -----------------------------------------------------------------------------

    def sources(self, names: Collection[str] | None = None) -> list[SourceRecord]:
        """The sources in the state (those named in `names`, when given), by name."""
        query = sa.select(sources_table).order_by(sources_table.c.name)
        with self.engine.connect() as conn:
            if names is None:
                return [SourceRecord(**row._mapping) for row in conn.execute(query)]
            return [
                SourceRecord(**row._mapping)
                for chunk in _chunks(sorted(set(names)))  # in name order, chunk after chunk
                for row in conn.execute(query.where(sources_table.c.name.in_(chunk)))
            ]

    def source(self, name: str) -> SourceRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sources_table).where(sources_table.c.name == name)).first()
        return SourceRecord(**row._mapping) if row else None

    def statements(self, source: str | None = None) -> list[StatementRecord]:
        """Every statement (one per URL), or those one source tracks, as it sees them."""
        if source is not None:
            return self.statements_by_source([source]).get(source, [])
        with self.engine.connect() as conn:
            sources = _linked_sources(conn)
            rows = conn.execute(sa.select(statements_table).order_by(statements_table.c.id))
            return [_statement_record(row, sources) for row in rows]

    def statements_by_source(
        self, names: Collection[str] | None = None
    ) -> dict[str, list[StatementRecord]]:
        """Tracked statements grouped by the name of each source tracking them, as that
        source sees them (two queries); only those of the sources in `names`, when given.

        A statement two sources track is in both lists: the same statement (same id).
        """
        query = _listed_query().order_by(statements_table.c.id)
        grouped: dict[str, list[StatementRecord]] = {}
        with self.engine.connect() as conn:
            if names is None:
                rows = list(conn.execute(query))
            else:
                # Only the rows of these sources, each source's in one chunk (so in id order):
                # each shard process of a large check reads its own share.
                rows = [
                    row
                    for chunk in _chunks(sorted(set(names)))
                    for row in conn.execute(query.where(sources_table.c.name.in_(chunk)))
                ]
            # The other sources of just these statements: one check of one source must not
            # read the links of every statement in the state.
            ids = {row.id for row in rows}
            if not ids:
                return grouped
            sources = (
                _linked_sources(conn, *ids) if len(ids) <= _IN_LIMIT else _linked_sources(conn)
            )
            for row in rows:
                grouped.setdefault(row.source_name, []).append(
                    _statement_record(row, sources, listed=True)
                )
        return grouped

    def statement(self, source: str, url: str) -> StatementRecord | None:
        """The statement at `url` as `source` sees it (None when that source does not
        track it)."""
        query = _listed_query().where(sources_table.c.name == source, statements_table.c.url == url)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            return _statement_record(row, _linked_sources(conn, row.id)) if row else None

    def statements_at(self, urls: Collection[str]) -> dict[str, StatementRecord]:
        """The tracked statements at these (canonical) URLs, whatever sources track them."""
        found: dict[str, StatementRecord] = {}
        wanted = list(dict.fromkeys(urls))
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(
                    sa.select(statements_table).where(statements_table.c.url.in_(chunk))
                ).all()
                sources = _linked_sources(conn, *(row.id for row in rows)) if rows else {}
                found.update((row.url, _statement_record(row, sources)) for row in rows)
        return found

    def find_statement(
        self, url: str, source: str | None = None
    ) -> tuple[StatementRecord, str] | None:
        """The statement tracked at `url` (as given, else canonicalised), and the source to
        show it under: `source` when given (None when that source does not track it), else
        the first of the sources tracking it, by name."""
        found = self.statements_at([url]).get(url)
        if found is None:
            try:
                canonical = canonical_url(url)
            except ValueError:
                return None
            found = self.statements_at([canonical]).get(canonical)
        if found is None:
            return None
        if source:
            return (found, source) if source in found.sources else None
        return found, found.sources[0] if found.sources else ""

    def snapshot(self, statement_id: int, version: int | None = None) -> Snapshot | None:
        """One version of a statement (the latest when `version` is None)."""
        if version is None:
            query, params = _LATEST_SNAPSHOT, {"statement_id": statement_id}
        else:
            query, params = _SNAPSHOT, {"statement_id": statement_id, "version": version}
        with self.engine.connect() as conn:
            row = conn.execute(query, params).first()
        return Snapshot(**row._mapping) if row else None

    def snapshots(self, statement_id: int) -> list[Snapshot]:
        columns = [c for c in snapshots_table.c if c.name not in {"id", "raw"}]
        query = (
            sa.select(*columns)
            .where(snapshots_table.c.statement_id == statement_id)
            .order_by(snapshots_table.c.version)
        )
        with self.engine.connect() as conn:
            return [Snapshot(**row._mapping) for row in conn.execute(query)]

    def raw_page(self, statement_id: int, version: int) -> str | None:
        query = sa.select(snapshots_table.c.raw).where(
            snapshots_table.c.statement_id == statement_id, snapshots_table.c.version == version
        )
        with self.engine.connect() as conn:
            raw = conn.execute(query).scalar_one_or_none()
        return zlib.decompress(raw).decode("utf-8") if raw else None

    def events(
        self,
        *,
        source: str | None = None,
        url: str | None = None,
        kinds: Sequence[str] | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[StoredEvent]:
        """Stored events, newest first."""
        query = sa.select(events_table, sources_table.c.name.label("source")).join(sources_table)
        if source is not None:
            query = query.where(sources_table.c.name == source)
        if url is not None:
            query = query.where(events_table.c.url == url)
        if kinds:
            query = query.where(events_table.c.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(events_table.c.at >= since)
        query = query.order_by(events_table.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [StoredEvent(row.id, _stored_event(row.payload)) for row in conn.execute(query)]

    # -- the archive -------------------------------------------------------------------------

    def archived(
        self,
        *,
        sources: Collection[str] = (),
        urls: Collection[str] = (),
        since: dt.datetime | None = None,
    ) -> list[ArchivedFetch]:
        """Archived fetches (versions, then captures), oldest first; those of the named
        sources or statement URLs (either matching), fetched at or after `since`, if given."""
        found: list[ArchivedFetch] = []
        for table in (snapshots_table, captures_table):
            query = (
                sa.select(
                    table.c.statement_id,
                    table.c.version,
                    table.c.fetched_at,
                    table.c.final_url,
                    table.c.archive_file,
                    table.c.archive_offset,
                    table.c.archive_length,
                    table.c.archive_digest,
                    (table.c.id if table is captures_table else sa.null()).label("capture_id"),
                    statements_table.c.url,
                    statements_table.c.version.label("latest"),
                )
                .join(statements_table, statements_table.c.id == table.c.statement_id)
                .where(table.c.archive_file.is_not(None))
                .order_by(table.c.fetched_at, table.c.id)
            )
            if sources or urls:
                tracked_by_sources = (
                    sa.select(source_statements_table.c.statement_id)
                    .join(sources_table, sources_table.c.id == source_statements_table.c.source_id)
                    .where(sources_table.c.name.in_(list(sources)))
                )
                query = query.where(
                    sa.or_(
                        statements_table.c.id.in_(tracked_by_sources),
                        statements_table.c.url.in_(list(urls)),
                    )
                )
            if since is not None:
                query = query.where(table.c.fetched_at >= since)
            with self.engine.connect() as conn:
                names = _linked_sources(conn)
                for row in conn.execute(query):
                    ref = _ref(
                        row.archive_file,
                        row.archive_offset,
                        row.archive_length,
                        row.archive_digest,
                        row.final_url or row.url,
                    )
                    assert ref is not None  # the query keeps archived rows only
                    found.append(
                        ArchivedFetch(
                            sources=names.get(row.statement_id, ()),
                            url=row.url,
                            statement_id=row.statement_id,
                            version=row.version,
                            fetched_at=row.fetched_at,
                            ref=ref,
                            newest=row.capture_id is None and row.version == row.latest,
                            capture_id=row.capture_id,
                        )
                    )
        return sorted(found, key=lambda f: f.fetched_at)

    def prune(self, *, keep_versions: int | None, older_than: dt.datetime | None) -> Pruned:
        """Delete versions beyond the newest `keep_versions` of each statement, and versions
        and captures fetched before `older_than`; never a statement's newest version."""
        if keep_versions is None and older_than is None:
            return Pruned(0, 0)
        latest = statements_table.c.version
        doomed: list[sa.ColumnElement[bool]] = []
        if keep_versions is not None:
            doomed.append(snapshots_table.c.version <= latest - keep_versions)
        if older_than is not None:
            doomed.append(snapshots_table.c.fetched_at < older_than)
        with self.write() as conn:
            ids = (
                conn.execute(
                    sa.select(snapshots_table.c.id)
                    .join(statements_table, statements_table.c.id == snapshots_table.c.statement_id)
                    .where(sa.or_(*doomed), snapshots_table.c.version < latest)
                )
                .scalars()
                .all()
            )
            if ids:
                conn.execute(sa.delete(snapshots_table).where(snapshots_table.c.id.in_(ids)))
            captures = 0
            if older_than is not None:
                result = conn.execute(
                    sa.delete(captures_table).where(captures_table.c.fetched_at < older_than)
                )
                captures = result.rowcount
        return Pruned(len(ids), captures)

    def archive_files_in_use(self) -> set[str]:
        """The archive files some stored version or capture points into."""
        with self.engine.connect() as conn:
            names = {
                name
                for table in (snapshots_table, captures_table)
                for name in conn.execute(
                    sa.select(table.c.archive_file)
                    .where(table.c.archive_file.is_not(None))
                    .distinct()
                ).scalars()
            }
        return names

    # -- writing one check -------------------------------------------------------------------

    def save_check(self, update: SourceUpdate) -> SourceUpdate:
        """Write everything one check of one source found, in one transaction; returns the
        update as recorded (see `save_checks`)."""
        return self.save_checks([update])[0]

    def save_checks(self, updates: Sequence[SourceUpdate]) -> list[SourceUpdate]:
        """Write several checks in one transaction: all of them or none.

        Returns each update as recorded: a statement's events that another check recorded
        first (the same new version, removal or return, seen by another run or by another
        source tracking the statement) are dropped, so they are reported once.
        """
        inserted: dict[tuple[Any, ...], int] = {}  # known only once the transaction commits
        rows = _RowUpdates()
        with self.write() as conn:
            recorded = [self._write_check(conn, update, inserted, rows) for update in updates]
            rows.flush(conn)
        self._ids.update(inserted)
        return recorded

    def _write_check(
        self,
        conn: Connection,
        update: SourceUpdate,
        inserted: dict[tuple[Any, ...], int],
        rows: _RowUpdates,
    ) -> SourceUpdate:
        source_id = self._upsert_source(conn, update, inserted, rows)
        for event in update.events:
            self._add_event(conn, source_id, None, event, update.notifiers)
        recorded: list[StatementUpdate] = []
        for item in update.statements:
            known_id = self._row_id(conn, ("statement", item.url), inserted)
            # Another source's check may have reported this very removal or return first.
            news = known_id is None or self._still_news(conn, known_id, item, rows)
            statement_id = self._upsert_statement(
                conn, source_id, item, update.checked_at, inserted, rows
            )
            if isinstance(item, Unchanged | NoiseOnly) and item.capture is not None:
                self._add_capture(conn, statement_id, item.capture, update.checked_at)
            if isinstance(item, NewVersion):
                rows.before_write(conn, statements_table, statement_id)
                if not self._add_snapshot(conn, statement_id, item, update.checked_at):
                    # Another run, or another source's check, recorded this version first:
                    # its events stand, and this one's are news only as `_news_of_late`
                    # says.
                    news = self._news_of_late(conn, statement_id, item, update)
                elif any(e.event != "baseline" for e in item.events):
                    self._mark_changed(conn, statement_id, update.checked_at, rows)
            if not news:
                recorded.append(replace(item, events=()))
                continue
            recorded.append(item)
            notifiers = update.notifiers
            if any(event.alerts for event in item.events):
                notifiers = self._audience(conn, statement_id, update)
            for event in item.events:
                self._add_event(conn, source_id, statement_id, event, notifiers)
        return replace(update, statements=recorded)

    def _still_news(
        self, conn: Connection, statement_id: int, item: StatementUpdate, rows: _RowUpdates
    ) -> bool:
        """False when the removal or return `item` reports was recorded already.

        Two sources tracking one statement may both see it answer 404 (or answer again)
        before either check is recorded: the first one written reports it, once.
        """
        reactivated = isinstance(item, Unchanged | NoiseOnly) and item.reactivated
        if not item.events or not (isinstance(item, Removed) or reactivated):
            return True
        rows.before_write(conn, statements_table, statement_id)
        status = conn.execute(_STATUS_OF, {"statement_id": statement_id}).scalar_one()
        return status == "removed" if reactivated else status != "removed"

    def _audience(self, conn: Connection, statement_id: int, update: SourceUpdate) -> list[str]:
        """Who hears of an event of a statement: the notifiers of every configured source
        tracking it, each once (the recording source's first)."""
        names = conn.execute(_AUDIENCE, {"statement_id": statement_id}).scalars()
        audience = dict.fromkeys(update.notifiers)
        for name in names:
            audience.update(dict.fromkeys(update.notifiers_of_sources.get(name, ())))
        return list(audience)

    def _news_of_late(
        self, conn: Connection, statement_id: int, item: NewVersion, update: SourceUpdate
    ) -> bool:
        """Whether the events of a version another check recorded first are still news.

        The other check's events for that version stand, and are queued for this source's
        notifiers they were not queued for (a source that began tracking the statement in
        the same run was not linked yet when they were written): each notifier hears of
        the version once. But when that version was recorded silently, as the baseline of
        another source's first check, while this source announces it (`new`, `moved`), the
        announcement is news: True, and its events are recorded.
        """
        if not any(event.alerts for event in item.events):
            return False
        notifiers = self._audience(conn, statement_id, update)
        recorded = conn.execute(
            sa.select(events_table.c.id, events_table.c.payload).where(
                events_table.c.statement_id == statement_id,
                events_table.c.version == item.base_version + 1,
            )
        ).all()
        alerting = [event_id for event_id, payload in recorded if _stored_event(payload).alerts]
        if not alerting:
            return True
        for event_id in alerting:
            alerted = set(
                conn.execute(
                    sa.select(alerts_table.c.notifier).where(alerts_table.c.event_id == event_id)
                ).scalars()
            )
            missing = [name for name in notifiers if name not in alerted]
            if missing:
                self._queue_alerts(conn, event_id, missing, update.checked_at)
        return False

    def _mark_changed(
        self, conn: Connection, statement_id: int, at: dt.datetime, rows: _RowUpdates
    ) -> None:
        """A statement changed: so did every source tracking it (their `last_change_at`)."""
        tracking = conn.execute(_TRACKING, {"statement_id": statement_id}).scalars().all()
        for source_id in tracking:
            rows.before_write(conn, sources_table, source_id)
        conn.execute(_CHANGED_AT, {"source_ids": tracking, "at": at})

    def _row_id(
        self, conn: Connection, key: tuple[Any, ...], inserted: dict[tuple[Any, ...], int]
    ) -> int | None:
        """A row's id: remembered, inserted earlier in this transaction, or looked up.

        The first miss reads every id of the table at once: one query instead of one per
        row for a large check.
        """
        found = self._ids.get(key) or inserted.get(key)
        if found is None and key[0] not in self._ids_loaded:
            self._ids_loaded.add(key[0])
            if key[0] == "source":
                rows = conn.execute(sa.select(sources_table.c.id, sources_table.c.name))
                self._ids.update((("source", name), id_) for id_, name in rows)
            elif key[0] == "statement":
                rows = conn.execute(sa.select(statements_table.c.id, statements_table.c.url))
                self._ids.update((("statement", url), id_) for id_, url in rows)
            else:  # "link": the value is the statement's id
                links = source_statements_table
                rows = conn.execute(sa.select(links.c.source_id, links.c.statement_id))
                self._ids.update((("link", s, t), t) for s, t in rows)
            found = self._ids.get(key)
        return found

    def _upsert_source(
        self,
        conn: Connection,
        update: SourceUpdate,
        inserted: dict[tuple[Any, ...], int],
        rows: _RowUpdates,
    ) -> int:
        table = sources_table
        key = ("source", update.name)
        source_id = self._row_id(conn, key, inserted)
        values: dict[str, Any] = {
            "url": update.url,
            "kind": update.kind,
            "last_check_at": update.checked_at,
            "last_status": "error" if update.error else "ok",
            "last_error": update.error,
        }
        if update.error is None:
            values.update(last_success_at=update.checked_at, consecutive_failures=0)
            if update.fetched is not None:
                values.update(_fetched_values(update.fetched))
        if source_id is None:
            fresh = dict(values, consecutive_failures=1 if update.error else 0)
            new_id = insert_new(
                conn, table, dict(name=update.name, created_at=update.checked_at, **fresh)
            )
            if new_id is not None:
                inserted[key] = new_id
                return new_id
            # Another process (a `monitor check` beside the daemon) added it first.
            source_id = conn.execute(
                sa.select(table.c.id).where(table.c.name == update.name)
            ).scalar_one()
            inserted[key] = source_id
        if update.error is not None:
            rows.before_write(conn, table, source_id)
            values["consecutive_failures"] = table.c.consecutive_failures + 1
            conn.execute(sa.update(table).where(table.c.id == source_id).values(**values))
        else:
            rows.add(conn, table, source_id, values)
        return source_id

    def _upsert_statement(
        self,
        conn: Connection,
        source_id: int,
        item: StatementUpdate,
        checked_at: dt.datetime,
        inserted: dict[tuple[Any, ...], int],
        rows: _RowUpdates,
    ) -> int:
        """Write what `item` says of the statement at its URL (one row, whichever source
        checked it) and link the statement to the source."""
        table = statements_table
        key = ("statement", item.url)
        statement_id = self._row_id(conn, key, inserted)
        values = {"last_checked_at": checked_at, **_statement_values(item)}
        if statement_id is None:
            row = dict(url=item.url, first_seen_at=checked_at, version=0, status="pending")
            new_id = insert_new(conn, table, {**row, **_listed_title(item), **values})
            if new_id is not None:
                inserted[key] = new_id
                self._link(conn, source_id, new_id, item, inserted)
                return new_id
            # Another process added it first: update the row it wrote.
            statement_id = conn.execute(
                sa.select(table.c.id).where(table.c.url == item.url)
            ).scalar_one()
            inserted[key] = statement_id
        rows.add(conn, table, statement_id, values)
        self._link(conn, source_id, statement_id, item, inserted)
        return statement_id

    def _link(
        self,
        conn: Connection,
        source_id: int,
        statement_id: int,
        item: StatementUpdate,
        inserted: dict[tuple[Any, ...], int],
    ) -> None:
        """Record that the source tracks the statement, with what its listing says of it."""
        links = source_statements_table
        key = ("link", source_id, statement_id)
        values = _link_values(item)
        if self._row_id(conn, key, inserted) is None:
            inserted[key] = statement_id
            fresh = {"status": "tracked", "discovered_as": "baseline", **values}
            row = dict(source_id=source_id, statement_id=statement_id, **fresh)
            if insert_new(conn, links, row, key=links.c.statement_id) is not None:
                return
            # another process linked them first: say what this check found
        if values:
            conn.execute(
                sa.update(links)
                .where(links.c.source_id == source_id, links.c.statement_id == statement_id)
                .values(**values)
            )

    def _add_snapshot(
        self, conn: Connection, statement_id: int, item: NewVersion, fetched_at: dt.datetime
    ) -> bool:
        """Store the item's snapshot as the next version; False when the statement moved on.

        Two runs can check one statement at once (an overlapping cron job, a manual check
        beside the daemon). Each compared the page with the version it read, `base_version`;
        only the first to commit records the change, so one edit gives one event and one
        alert, whoever saw it.
        """
        snap = item.snapshot
        current = conn.execute(_VERSION_OF, {"statement_id": statement_id}).scalar_one()
        if current != item.base_version:
            log.info("version %s of %s was recorded by another run first", current, item.url)
            return False
        version = current + 1
        conn.execute(
            _ADD_SNAPSHOT,
            dict(
                statement_id=statement_id,
                version=version,
                fetched_at=fetched_at,
                title=snap.title,
                text=snap.text,
                normalized=snap.normalized,
                text_hash=snap.text_hash,
                published=snap.published,
                final_url=snap.final_url,
                canonical_url=snap.canonical_url,
                etag=snap.etag,
                last_modified=snap.last_modified,
                content_hash=snap.content_hash,
                raw=zlib.compress(snap.raw, 6) if snap.raw else None,
                archive_file=snap.archive.file if snap.archive else None,
                archive_offset=snap.archive.offset if snap.archive else None,
                archive_length=snap.archive.length if snap.archive else None,
                archive_digest=snap.archive.digest if snap.archive else None,
            ),
        )
        values: dict[str, Any] = {"version": version, "title": snap.title}
        if version > 1:
            values["last_changed_at"] = fetched_at
        update_row(conn, statements_table, statement_id, values)
        return True

    def _add_capture(
        self, conn: Connection, statement_id: int, ref: ArchiveRef, fetched_at: dt.datetime
    ) -> None:
        version = conn.execute(_VERSION_OF, {"statement_id": statement_id}).scalar_one()
        conn.execute(
            _ADD_CAPTURE,
            dict(
                statement_id=statement_id,
                fetched_at=fetched_at,
                version=version,
                final_url=ref.target_uri or None,
                archive_file=ref.file,
                archive_offset=ref.offset,
                archive_length=ref.length,
                archive_digest=ref.digest,
            ),
        )

    def _add_event(
        self,
        conn: Connection,
        source_id: int,
        statement_id: int | None,
        event: Event,
        notifiers: Sequence[str],
    ) -> None:
        payload = event.to_json(detail=True)
        result = conn.execute(
            _ADD_EVENT,
            dict(
                source_id=source_id,
                statement_id=statement_id,
                kind=event.event,
                url=event.url,
                title=event.title,
                version=event.version,
                at=event.at,
                payload=json.dumps(payload, ensure_ascii=False),
            ),
        )
        event_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if event.alerts:
            self._queue_alerts(conn, event_id, notifiers, event.at)

    def _queue_alerts(
        self, conn: Connection, event_id: int, notifiers: Sequence[str], at: dt.datetime
    ) -> None:
        if not notifiers:
            return
        conn.execute(
            _ADD_ALERT,
            [
                dict(
                    event_id=event_id,
                    notifier=notifier,
                    delivery_id=uuid.uuid4().hex,
                    status="pending",
                    created_at=at,
                    attempts=0,
                    next_attempt_at=at,
                )
                for notifier in notifiers
            ],
        )

    def _outbox_query(self) -> sa.Select[Any]:
        return sa.select(alerts_table, events_table.c.payload).join(events_table)

    @staticmethod
    def _outbox_alert(row: Any) -> OutboxAlert:
        return OutboxAlert(
            id=row.id,
            delivery_id=row.delivery_id,
            notifier=row.notifier,
            status=row.status,
            event=_stored_event(row.payload),
            created_at=row.created_at,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            sent_at=row.sent_at,
            claimed_by=row.claimed_by,
            claimed_until=row.claimed_until,
        )

    def outbox(
        self,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[OutboxAlert]:
        """Alerts in the outbox (all, or those with a status), oldest first."""
        query = self._outbox_query().order_by(alerts_table.c.id).limit(limit)
        if status is not None:
            query = query.where(alerts_table.c.status == status)
        with self.engine.connect() as conn:
            return [self._outbox_alert(row) for row in conn.execute(query)]

    def claim_alerts(
        self, alert_ids: Sequence[int], owner: str, until: dt.datetime, now: dt.datetime
    ) -> set[int]:
        """Claim pending alerts for delivery by `owner` until `until`; returns the ids taken.

        An alert someone else holds (a claim not yet expired at `now`), or that is no longer
        pending, is not taken; one `owner` holds already is taken again. Two runs or nodes
        delivering at once each send an alert only if they claimed it, so it goes out once.
        On PostgreSQL the rows are locked with SKIP LOCKED, so a node never waits for
        another's claim; SQLite's write lock orders the claims. A claim ends when the alert
        is marked sent or failed, or expires (its owner died); then another run may take it.
        """
        if not alert_ids:
            return set()
        claimable = (
            sa.select(alerts_table.c.id)
            .where(
                alerts_table.c.id.in_(list(alert_ids)),
                alerts_table.c.status == "pending",
                _claimable(owner, now),
            )
            .with_for_update(skip_locked=True)
        )
        with self.write() as conn:
            rows = conn.execute(
                sa.update(alerts_table)
                .where(alerts_table.c.id.in_(claimable.scalar_subquery()))
                .values(claimed_by=owner, claimed_until=until)
                .returning(alerts_table.c.id)
            )
            return {int(row[0]) for row in rows}

    def release_alerts(self, alert_ids: Sequence[int], owner: str) -> None:
        """Give up `owner`'s claim on alerts it did not finish delivering (it is stopping)."""
        with self.write() as conn:
            conn.execute(
                sa.update(alerts_table)
                .where(alerts_table.c.id.in_(list(alert_ids)), alerts_table.c.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None)
            )

    def mark_sent(self, alert_ids: Sequence[int], at: dt.datetime | None = None) -> None:
        with self.write() as conn:
            conn.execute(
                sa.update(alerts_table)
                .where(alerts_table.c.id.in_(list(alert_ids)))
                .values(
                    status="sent",
                    sent_at=at or utcnow(),
                    attempts=alerts_table.c.attempts + 1,
                    last_error=None,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def mark_failed(
        self,
        alert_ids: Sequence[int],
        error: str,
        next_attempt_at: dt.datetime,
        *,
        dead: bool = False,
    ) -> None:
        with self.write() as conn:
            conn.execute(
                sa.update(alerts_table)
                # never back to pending once sent: another run may have delivered it after
                # this one's claim expired
                .where(alerts_table.c.id.in_(list(alert_ids)), alerts_table.c.status != "sent")
                .values(
                    status="dead" if dead else "pending",
                    attempts=alerts_table.c.attempts + 1,
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def retry_dead(self, alert_ids: Sequence[int] | None = None) -> int:
        """Make dead alerts pending again, due now; returns how many."""
        query = sa.update(alerts_table).where(alerts_table.c.status == "dead")
        if alert_ids is not None:
            query = query.where(alerts_table.c.id.in_(list(alert_ids)))
        with self.write() as conn:
            result = conn.execute(
                query.values(
                    status="pending", next_attempt_at=utcnow(), claimed_by=None, claimed_until=None
                )
            )
        return int(result.rowcount)

    def purge_alerts(self, status: str = "dead") -> int:
        """Delete alerts with a status (dead by default); returns how many."""
        with self.write() as conn:
            result = conn.execute(sa.delete(alerts_table).where(alerts_table.c.status == status))
        return int(result.rowcount)

    def alert_counts(self) -> tuple[dict[str, int], int]:
        """Alerts by status, and how many pending ones have failed at least once."""
        query = sa.select(
            alerts_table.c.status,
            sa.func.count(),
            sa.func.sum(sa.case((alerts_table.c.attempts > 0, 1), else_=0)),
        ).group_by(alerts_table.c.status)
        counts: dict[str, int] = {}
        retrying = 0
        with self.engine.connect() as conn:
            for status, count, attempted in conn.execute(query):
                counts[status] = int(count)
                if status == "pending":
                    retrying = int(attempted or 0)
        return counts, retrying

    def count_events(self, kinds: Sequence[str], since: dt.datetime) -> int:
        """How many events of these kinds happened since a time (counted by the database)."""
        query = (
            sa.select(sa.func.count())
            .select_from(events_table)
            .where(events_table.c.kind.in_(list(kinds)), events_table.c.at >= since)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def pending_count(self) -> int:
        query = sa.select(sa.func.count()).where(alerts_table.c.status == "pending")
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def _claimable(owner: str, now: dt.datetime) -> sa.ColumnElement[bool]:
    """No one but `owner` holds a claim on the alert at `now` (never claimed, released,
    expired, or the owner's own)."""
    return sa.or_(
        alerts_table.c.claimed_until.is_(None),
        alerts_table.c.claimed_until <= now,
        alerts_table.c.claimed_by == owner,
    )


def conflict_insert(dialect: str, table: sa.Table) -> Any:
    """An INSERT into `table` that takes ON CONFLICT clauses, in this database's dialect
    (SQLite's or PostgreSQL's); None for another database."""
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        # imported here: 40-50 ms at every start-up of a command that uses SQLite
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    return None


def insert_new(
    conn: Connection, table: sa.Table, values: dict[str, Any], key: sa.Column[Any] | None = None
) -> int | None:
    """Insert a row unless one with the same unique key exists; its id (the `key` column's
    value, for a table without `id`), or None when it did.

    The store remembers row ids, and another process on the same state (a `monitor check`
    beside the daemon, a second node) may add a source or statement first: INSERT … ON
    CONFLICT DO NOTHING turns that race into a re-read instead of a constraint error.
    """
    column = "id" if key is None else key.name
    row = conn.execute(_insert_new(conn.dialect.name, table.name, column), values).first()
    return None if row is None else int(row[0])


@functools.cache
def _insert_new(dialect: str, table_name: str, column: str) -> Any:
    """`insert_new`'s statement, built once (see `_row_update`): executed with the row as
    parameters, it inserts the columns they name."""
    table = metadata.tables[table_name]
    insert = conflict_insert(dialect, table)
    # other databases: a plain insert (a race is then a StoreError)
    insert = sa.insert(table) if insert is None else insert.on_conflict_do_nothing()
    return insert.returning(table.c[column])


def _fetched_values(fetched: Fetched) -> dict[str, Any]:
    return {
        "etag": fetched.validators.etag,
        "last_modified": fetched.validators.last_modified,
        "content_hash": fetched.content_hash,
    }


def _container_values(container: Container | None) -> dict[str, Any]:
    if container is None:
        return {"container": None, "container_digest": None}
    return {"container": container.path, "container_digest": container.digest}


def _statement_values(item: StatementUpdate) -> dict[str, Any]:
    """The statement row's columns that this kind of update sets: what its page showed.

    What a listing says (discovered, moved, an alias) is the link's (`_link_values`): one
    source's listing never changes the statement another source tracks.
    """
    values: dict[str, Any] = {}
    match item:
        case Unchanged(fetched=fetched, reactivated=reactivated):
            if fetched is not None:
                values.update(_fetched_values(fetched))
            if reactivated:
                values["status"] = "active"
        case NoiseOnly(fetched=fetched, container=container, reactivated=reactivated):
            values.update(_fetched_values(fetched), **_container_values(container))
            if reactivated:
                values["status"] = "active"
        case NewVersion(fetched=fetched, container=container):
            values.update(_fetched_values(fetched), **_container_values(container))
            values["status"] = "active"
        case Removed():
            values["status"] = "removed"
        case StatusChange() | Discovered() | CheckFailed():
            pass
    return values


def _listed_title(item: StatementUpdate) -> dict[str, Any]:
    """A new statement's title as its listing gives it, until its page is fetched."""
    if isinstance(item, Discovered | StatusChange) and item.title is not None:
        return {"title": item.title}
    return {}


def _link_values(item: StatementUpdate) -> dict[str, Any]:
    """The link's columns that this kind of update sets: what the source's listing says."""
    match item:
        case StatusChange(status=status):
            return {"status": status}
        case Discovered():
            return {
                "status": "tracked",
                "discovered_as": item.announce_as,
                "summary": item.summary,
                "listed_published": item.listed_published,
            }
    return {}


def _listed_query() -> sa.Select[Any]:
    """Statements with one source's link (what its listing says) and that source's name."""
    links = source_statements_table
    return (
        sa.select(
            statements_table,
            links.c.status.label("listing"),
            links.c.discovered_as,
            links.c.summary,
            links.c.listed_published,
            sources_table.c.name.label("source_name"),
        )
        .join(links, links.c.statement_id == statements_table.c.id)
        .join(sources_table, sources_table.c.id == links.c.source_id)
    )


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in slices small enough for one SQL `IN (...)`."""
    for start in range(0, len(values), _IN_LIMIT):
        yield values[start : start + _IN_LIMIT]


def _linked_sources(conn: Connection, *statement_ids: int) -> dict[int, tuple[str, ...]]:
    """The names of the sources tracking each statement (of those given; all by default)."""
    links = source_statements_table
    query = sa.select(links.c.statement_id, sources_table.c.name).join(
        sources_table, sources_table.c.id == links.c.source_id
    )
    if statement_ids:
        query = query.where(links.c.statement_id.in_(list(statement_ids)))
    names: dict[int, list[str]] = {}
    for statement_id, name in conn.execute(query):
        names.setdefault(statement_id, []).append(name)
    return {statement_id: tuple(sorted(found)) for statement_id, found in names.items()}


def _statement_record(
    row: Any, sources: dict[int, tuple[str, ...]], *, listed: bool = False
) -> StatementRecord:
    """A statement row as a record; `listed`: the row carries one source's link too."""
    mapping = row._mapping  # a new view at each access: 14 per row were a third of this
    values = {c.name: mapping[c.name] for c in statements_table.c}
    values["sources"] = sources.get(values["id"], ())
    if listed:
        if row.listing in LISTING_STATUSES:
            values["status"] = row.listing
        values.update(
            discovered_as=row.discovered_as,
            summary=row.summary,
            listed_published=row.listed_published,
        )
    return StatementRecord(**values)


def _stored_event(payload: str) -> Event:
    """An event from its stored JSON (written by `_add_event`)."""
    return Event.from_json(json.loads(payload))
