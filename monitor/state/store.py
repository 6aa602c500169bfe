"""Snapshot history, events and the alert outbox in SQL (SQLite by default) via SQLAlchemy Core.

The schema is plain, portable SQL so the same code runs on PostgreSQL. Everything one check
writes goes through `Store.save_check`, in one transaction: a crash never leaves half a
version, and an alert row exists only together with the snapshot and event that caused it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import uuid
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.clock import utcnow
from monitor.events import Event
from monitor.fetch import Page, Validators
from monitor.sources.urls import canonical_url

if TYPE_CHECKING:
    from monitor.archive.model import ArchiveRef

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DB_FILENAME = "monitor.db"


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


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None else None


metadata = sa.MetaData()

meta_table = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

sources_table = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_check_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_change_at", UTCDateTime),
    sa.Column("last_status", sa.String(16)),  # "ok" or "error"
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
    # the source's own page (an index or feed) for conditional GETs
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("content_hash", sa.String(64)),
)

statements_table = sa.Table(
    "statements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    # pending (listed, not fetched yet) | active | removed (404/410) | moved | alias
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    # how a statement found on a listing is announced when first fetched: baseline | new
    sa.Column("discovered_as", sa.String(16), nullable=False, default="baseline"),
    sa.Column("summary", sa.Text),  # a feed item's own text, used when its page yields none
    sa.Column("listed_published", sa.Date),  # the date the listing gave
    sa.Column("title", sa.Text),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_checked_at", UTCDateTime),
    sa.Column("last_changed_at", UTCDateTime),
    sa.Column("version", sa.Integer, nullable=False, default=0),  # latest snapshot version
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("content_hash", sa.String(64)),  # sha256 of the last fetched raw bytes
    # where the statement sits in its page, and the digest of that element's text when the
    # last snapshot was taken (see monitor/container.py)
    sa.Column("container", sa.Text),
    sa.Column("container_digest", sa.String(64)),
    sa.UniqueConstraint("source_id", "url"),
)

snapshots_table = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("statement_id", sa.ForeignKey("statements.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # as extracted, for display
    sa.Column("normalized", sa.Text, nullable=False),  # what comparisons use
    sa.Column("text_hash", sa.String(64), nullable=False),  # sha256 of `normalized`
    sa.Column("published", sa.Date),
    sa.Column("final_url", sa.Text),
    sa.Column("canonical_url", sa.Text),  # the URL the page names as its own
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("raw", sa.LargeBinary),  # zlib-compressed page, so it can be re-extracted
    # where the page as fetched is archived (monitor.archive): the WARC file, the span of
    # the version's records in it, and the response's payload digest (schema version 2)
    sa.Column("archive_file", sa.String(64)),
    sa.Column("archive_offset", sa.BigInteger),
    sa.Column("archive_length", sa.BigInteger),
    sa.Column("archive_digest", sa.String(80)),
    sa.UniqueConstraint("statement_id", "version"),
)

# With `archive = "all"`: fetches whose bytes changed but gave no new version
captures_table = sa.Table(
    "captures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("statement_id", sa.ForeignKey("statements.id", ondelete="CASCADE"), nullable=False),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),  # the version the page still showed
    sa.Column("final_url", sa.Text),
    sa.Column("archive_file", sa.String(64), nullable=False),
    sa.Column("archive_offset", sa.BigInteger, nullable=False),
    sa.Column("archive_length", sa.BigInteger, nullable=False),
    sa.Column("archive_digest", sa.String(80), nullable=False),
)

events_table = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    sa.Column("statement_id", sa.ForeignKey("statements.id", ondelete="SET NULL")),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("version", sa.Integer),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the JSON event
)

alerts_table = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("notifier", sa.String(100), nullable=False),
    sa.Column("delivery_id", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),  # pending|sent|dead
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
)

sa.Index("ix_snapshots_statement", snapshots_table.c.statement_id, snapshots_table.c.version)
sa.Index("ix_events_at", events_table.c.at)
sa.Index("ix_alerts_due", alerts_table.c.status, alerts_table.c.next_attempt_at)


# ---------------------------------------------------------------------------------------------
# Plain records passed in and out
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRecord:
    """What the state knows of a source."""

    id: int
    name: str
    url: str
    kind: str
    created_at: dt.datetime
    last_check_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_change_at: dt.datetime | None
    last_status: str | None
    last_error: str | None
    consecutive_failures: int
    etag: str | None
    last_modified: str | None
    content_hash: str | None

    @property
    def validators(self) -> Validators:
        """For a conditional GET of the source's own page (an index or feed)."""
        return Validators(self.etag, self.last_modified)


@dataclass(frozen=True)
class StatementRecord:
    """A tracked statement and the validators of its last fetch."""

    id: int
    source_id: int
    url: str
    status: str
    discovered_as: str
    summary: str | None
    listed_published: dt.date | None
    title: str | None
    first_seen_at: dt.datetime
    last_checked_at: dt.datetime | None
    last_changed_at: dt.datetime | None
    version: int
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    container: str | None = None
    container_digest: str | None = None

    @property
    def validators(self) -> Validators:
        """For a conditional GET of the statement's page."""
        return Validators(self.etag, self.last_modified)

    @property
    def learned_container(self) -> Container | None:
        """Where the statement sat in its page at the last snapshot, if learned."""
        if self.container and self.container_digest:
            return Container(self.container, self.container_digest)
        return None


@dataclass(frozen=True)
class Snapshot:
    """One stored version of a statement."""

    statement_id: int
    version: int
    fetched_at: dt.datetime
    title: str
    text: str
    normalized: str
    text_hash: str
    published: dt.date | None = None
    final_url: str | None = None
    canonical_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    archive_file: str | None = None
    archive_offset: int | None = None
    archive_length: int | None = None
    archive_digest: str | None = None

    @property
    def archived(self) -> ArchiveRef | None:
        """Where the page as fetched is archived (None when it was not)."""
        return _ref(
            self.archive_file,
            self.archive_offset,
            self.archive_length,
            self.archive_digest,
            self.final_url,
        )


def _ref(
    file: str | None, offset: int | None, length: int | None, digest: str | None, uri: str | None
) -> ArchiveRef | None:
    if file is None or offset is None or length is None or digest is None:
        return None
    from monitor.archive.model import ArchiveRef  # the archive loads warcio; most runs need not

    return ArchiveRef(file, offset, length, digest, uri or "")


@dataclass(frozen=True)
class ArchivedFetch:
    """An archived fetch of a statement: a version's, or (archive = "all") a capture's."""

    source: str
    url: str  # the statement's canonical URL
    statement_id: int
    version: int
    fetched_at: dt.datetime
    ref: ArchiveRef
    newest: bool  # the statement's latest version (never pruned)
    capture_id: int | None = None  # set for a capture rather than a version


@dataclass(frozen=True)
class Pruned:
    """How many versions and captures `Store.prune` deleted."""

    versions: int
    captures: int


@dataclass(frozen=True)
class NewSnapshot:
    """A version to store: the extracted statement plus what the fetch returned."""

    title: str
    text: str
    normalized: str
    published: dt.date | None
    final_url: str | None
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    raw: bytes | None
    canonical_url: str | None = None
    archive: ArchiveRef | None = None  # written before the check is recorded

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.normalized.encode("utf-8")).hexdigest()


# --- what one check writes about one statement: one variant per situation ---------------------

StatementStatus = Literal["pending", "active", "removed", "moved", "alias"]


@dataclass(frozen=True)
class Fetched:
    """What a fetch of a page returned that the next conditional GET needs."""

    validators: Validators
    content_hash: str | None

    @classmethod
    def of(cls, page: Page) -> Fetched:
        return cls(Validators(page.etag, page.last_modified), page.content_hash or None)


@dataclass(frozen=True)
class Container:
    """Where the statement sits in its page, and the digest of that element's text."""

    path: str
    digest: str


@dataclass(frozen=True)
class Unchanged:
    """The page (or the statement's container in it) is as at the last check.

    `fetched` is None when the server said 304: the stored validators still hold.
    """

    url: str
    fetched: Fetched | None = None
    reactivated: bool = False  # a removed statement answers again
    events: Sequence[Event] = ()
    capture: ArchiveRef | None = None  # archive = "all": the fetch, archived


@dataclass(frozen=True)
class NoiseOnly:
    """The page changed around an unchanged statement; the container was learned anew
    (None: it could not be, and the stored one is forgotten)."""

    url: str
    fetched: Fetched
    container: Container | None
    reactivated: bool = False
    events: Sequence[Event] = ()
    capture: ArchiveRef | None = None  # archive = "all": the fetch, archived


@dataclass(frozen=True)
class NewVersion:
    """A new snapshot (the first is the baseline), compared with version `base_version`.

    A different stored version at write time means another run got there first: the
    snapshot and its events are dropped (one edit, one alert).
    """

    url: str
    snapshot: NewSnapshot
    base_version: int
    fetched: Fetched
    container: Container | None = None
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class Removed:
    """The statement's page answers 404 or 410."""

    url: str
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class StatusChange:
    """The statement is known under another URL now (`moved`) or is another's alias."""

    url: str
    status: Literal["moved", "alias"]
    title: str | None = None
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class Discovered:
    """A listing names a statement not fetched yet (announced as `baseline` or `new`)."""

    url: str
    announce_as: Literal["baseline", "new"]
    title: str | None = None
    summary: str | None = None  # the listing's own text, used when the page yields none
    listed_published: dt.date | None = None
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class CheckFailed:
    """The statement could not be checked; only its events (the error) are recorded."""

    url: str
    events: Sequence[Event] = ()


StatementUpdate = (
    Unchanged | NoiseOnly | NewVersion | Removed | StatusChange | Discovered | CheckFailed
)


@dataclass(frozen=True)
class SourceUpdate:
    """Everything one check of one source writes, in one transaction."""

    name: str
    url: str
    kind: str
    checked_at: dt.datetime
    error: str | None = None
    statements: Sequence[StatementUpdate] = ()
    events: Sequence[Event] = ()  # source-level events (errors of the listing itself)
    fetched: Fetched | None = None  # the source's own page (an index or feed)
    notifiers: Sequence[str] = ()  # who gets an alert for each alerting event


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored, with its id."""

    id: int
    event: Event

    @property
    def source(self) -> str:
        return self.event.source

    @property
    def kind(self) -> str:
        return self.event.event

    @property
    def url(self) -> str:
        return self.event.url

    @property
    def title(self) -> str | None:
        return self.event.title

    @property
    def version(self) -> int | None:
        return self.event.version

    @property
    def at(self) -> dt.datetime:
        return self.event.at


@dataclass(frozen=True)
class OutboxAlert:
    """One alert for one notifier, pending, sent or dead."""

    id: int
    delivery_id: str
    notifier: str
    status: str
    event: Event
    created_at: dt.datetime
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    sent_at: dt.datetime | None


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


class _RowUpdates:
    """UPDATEs of rows by id, collected in a transaction and sent as executemany batches.

    Most checks only record that they happened (times, validators). One UPDATE per table
    and set of columns for a whole group of checks costs a fraction of one per row. A row
    updated again, or about to be written directly, first sends what was collected, so
    the updates of one row keep their order.
    """

    _statements: dict[tuple[str, tuple[str, ...]], sa.Update] = {}

    def __init__(self) -> None:
        self._groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._rows: set[tuple[str, int]] = set()

    def add(self, conn: Connection, table: sa.Table, row_id: int, values: dict[str, Any]) -> None:
        self.before_write(conn, table, row_id)
        key = (table.name, tuple(sorted(values)))
        params = {"row_id": row_id, **{f"v_{k}": v for k, v in values.items()}}
        self._groups.setdefault(key, []).append(params)
        self._rows.add((table.name, row_id))

    def before_write(self, conn: Connection, table: sa.Table, row_id: int) -> None:
        """Send what was collected if it touches this row."""
        if (table.name, row_id) in self._rows:
            self.flush(conn)

    def flush(self, conn: Connection) -> None:
        for key, rows in self._groups.items():
            conn.execute(self._statement(*key), rows)
        self._groups.clear()
        self._rows.clear()

    @classmethod
    def _statement(cls, table_name: str, columns: tuple[str, ...]) -> sa.Update:
        # Built once per shape and reused: SQLAlchemy then finds it in its compiled cache.
        key = (table_name, columns)
        if key not in cls._statements:
            table = metadata.tables[table_name]
            cls._statements[key] = (
                sa.update(table)
                .where(table.c.id == sa.bindparam("row_id"))
                .values({c: sa.bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
            )
        return cls._statements[key]


class Store:
    """The state database. Open it with `Store.open(state_dir)` or `Store(engine)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Row ids of sources and statements, which never change once committed: spares a
        # lookup per write on the hot path of large checks.
        self._ids: dict[tuple[Any, ...], int] = {}
        self._ids_loaded: set[str] = set()
        # the state folder (for what lives beside the database, such as the archive);
        # None for a store opened on an engine alone
        self.state_dir: Path | None = None
        self._migrate()

    @classmethod
    def open(cls, state_dir: str | Path, url: str | None = None) -> Store:
        """Open (creating if needed) the state folder and its database.

        `url` selects another database (e.g. postgresql+psycopg://…); by default SQLite
        at `<state_dir>/monitor.db`.
        """
        state = Path(state_dir)
        if url is None:
            try:
                state.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the state folder {state}: {exc.strerror}"
                ) from None
            if not os.access(state, os.W_OK):
                raise StoreError(
                    f"the state folder {state} is not writable; "
                    "fix its permissions or pass another --state"
                )
            url = f"sqlite:///{state / DB_FILENAME}"
        engine = sa.create_engine(url)
        if engine.dialect.name == "sqlite":
            sa_event.listen(engine, "connect", _sqlite_pragmas)
            sa_event.listen(engine, "begin", _sqlite_begin)
            sa_event.listen(engine, "handle_error", _translate_sqlite_error)
        try:
            store = cls(engine)
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open the state database {url}: {exc.orig}") from None
        store.state_dir = state
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ------------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._begin() as conn:
            metadata.create_all(conn)
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).first()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the state database has schema version {current}, newer than this "
                    f"program's {SCHEMA_VERSION}; upgrade statement-monitor"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS.get(version, lambda _c: None)(conn)
            if current != SCHEMA_VERSION:
                conn.execute(sa.delete(meta_table).where(meta_table.c.key == "schema_version"))
                conn.execute(
                    sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION))
                )

    @property
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one()
        return int(value)

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
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
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sources_table).order_by(sources_table.c.name))
            return [
                SourceRecord(**row._mapping) for row in rows if names is None or row.name in names
            ]

    def source(self, name: str) -> SourceRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sources_table).where(sources_table.c.name == name)).first()
        return SourceRecord(**row._mapping) if row else None

    def statements(self, source: str | None = None) -> list[StatementRecord]:
        query = sa.select(statements_table).order_by(statements_table.c.id)
        if source is not None:
            query = query.join(sources_table).where(sources_table.c.name == source)
        with self.engine.connect() as conn:
            return [StatementRecord(**row._mapping) for row in conn.execute(query)]

    def statements_by_source(
        self, names: Collection[str] | None = None
    ) -> dict[str, list[StatementRecord]]:
        """Tracked statements grouped by the name of their source (one query); only those of
        the sources in `names`, when given."""
        query = (
            sa.select(statements_table, sources_table.c.name.label("source_name"))
            .join(sources_table)
            .order_by(statements_table.c.id)
        )
        grouped: dict[str, list[StatementRecord]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                if names is not None and row.source_name not in names:
                    continue
                values = dict(row._mapping)
                grouped.setdefault(values.pop("source_name"), []).append(StatementRecord(**values))
        return grouped

    def statement(self, source: str, url: str) -> StatementRecord | None:
        query = (
            sa.select(statements_table)
            .join(sources_table)
            .where(sources_table.c.name == source, statements_table.c.url == url)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return StatementRecord(**row._mapping) if row else None

    def statements_at(self, url: str) -> list[StatementRecord]:
        """Every tracked statement at this (canonical) URL, whatever its source."""
        query = sa.select(statements_table).where(statements_table.c.url == url)
        with self.engine.connect() as conn:
            return [StatementRecord(**row._mapping) for row in conn.execute(query)]

    def find_statement(
        self, url: str, source: str | None = None
    ) -> tuple[StatementRecord, str] | None:
        """The statement tracked at `url` (as given, else canonicalised) and its source's name.

        The same URL may be tracked by two sources: `source` picks one, else the one people
        mean (active first, then the most versions, then the newest).
        """
        candidates = self.statements_at(url)
        if not candidates:
            try:
                candidates = self.statements_at(canonical_url(url))
            except ValueError:
                candidates = []
        names = {record.id: record.name for record in self.sources()}
        if source:
            candidates = [c for c in candidates if names.get(c.source_id) == source]
        if not candidates:
            return None
        chosen = max(candidates, key=lambda c: (c.status == "active", c.version, c.id))
        return chosen, names.get(chosen.source_id, "")

    def snapshot(self, statement_id: int, version: int | None = None) -> Snapshot | None:
        """One version of a statement (the latest when `version` is None)."""
        columns = [c for c in snapshots_table.c if c.name not in {"id", "raw"}]
        query = sa.select(*columns).where(snapshots_table.c.statement_id == statement_id)
        if version is None:
            query = query.order_by(snapshots_table.c.version.desc()).limit(1)
        else:
            query = query.where(snapshots_table.c.version == version)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
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
                    sources_table.c.name.label("source"),
                )
                .join(statements_table, statements_table.c.id == table.c.statement_id)
                .join(sources_table, sources_table.c.id == statements_table.c.source_id)
                .where(table.c.archive_file.is_not(None))
                .order_by(table.c.fetched_at, table.c.id)
            )
            if sources or urls:
                query = query.where(
                    sa.or_(
                        sources_table.c.name.in_(list(sources)),
                        statements_table.c.url.in_(list(urls)),
                    )
                )
            if since is not None:
                query = query.where(table.c.fetched_at >= since)
            with self.engine.connect() as conn:
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
                            source=row.source,
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
        with self._begin() as conn:
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

    def save_check(self, update: SourceUpdate) -> None:
        """Write everything one check of one source found, in one transaction."""
        self.save_checks([update])

    def save_checks(self, updates: Sequence[SourceUpdate]) -> None:
        """Write several checks in one transaction: all of them or none."""
        inserted: dict[tuple[Any, ...], int] = {}  # known only once the transaction commits
        rows = _RowUpdates()
        with self._begin() as conn:
            for update in updates:
                self._write_check(conn, update, inserted, rows)
            rows.flush(conn)
        self._ids.update(inserted)

    def _write_check(
        self,
        conn: Connection,
        update: SourceUpdate,
        inserted: dict[tuple[Any, ...], int],
        rows: _RowUpdates,
    ) -> None:
        source_id = self._upsert_source(conn, update, inserted, rows)
        for event in update.events:
            self._add_event(conn, source_id, None, event, update.notifiers)
        changed = False
        for item in update.statements:
            statement_id = self._upsert_statement(
                conn, source_id, item, update.checked_at, inserted, rows
            )
            if isinstance(item, Unchanged | NoiseOnly) and item.capture is not None:
                self._add_capture(conn, statement_id, item.capture, update.checked_at)
            if isinstance(item, NewVersion):
                rows.before_write(conn, statements_table, statement_id)
                if not self._add_snapshot(conn, statement_id, item, update.checked_at):
                    continue  # another run recorded this version first: no second alert
                changed = changed or any(e.event != "baseline" for e in item.events)
            for event in item.events:
                self._add_event(conn, source_id, statement_id, event, update.notifiers)
        if changed:
            rows.before_write(conn, sources_table, source_id)
            conn.execute(
                sa.update(sources_table)
                .where(sources_table.c.id == source_id)
                .values(last_change_at=update.checked_at)
            )

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
            else:
                table = statements_table
                rows = conn.execute(sa.select(table.c.id, table.c.source_id, table.c.url))
                self._ids.update((("statement", r.source_id, r.url), r.id) for r in rows)
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
            new_id = _insert_new(
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
        table = statements_table
        key = ("statement", source_id, item.url)
        statement_id = self._row_id(conn, key, inserted)
        values = {"last_checked_at": checked_at, **_statement_values(item)}
        if statement_id is None:
            row = dict(source_id=source_id, url=item.url, first_seen_at=checked_at, version=0)
            new_id = _insert_new(conn, table, {**row, "status": "active", **values})
            if new_id is not None:
                inserted[key] = new_id
                return new_id
            # Another process added it first: update the row it wrote.
            statement_id = conn.execute(
                sa.select(table.c.id).where(table.c.source_id == source_id, table.c.url == item.url)
            ).scalar_one()
            inserted[key] = statement_id
        rows.add(conn, table, statement_id, values)
        return statement_id

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
        current = conn.execute(
            sa.select(statements_table.c.version).where(statements_table.c.id == statement_id)
        ).scalar_one()
        if current != item.base_version:
            log.info("version %s of %s was recorded by another run first", current, item.url)
            return False
        version = current + 1
        conn.execute(
            sa.insert(snapshots_table).values(
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
            )
        )
        values: dict[str, Any] = {"version": version, "title": snap.title}
        if version > 1:
            values["last_changed_at"] = fetched_at
        conn.execute(
            sa.update(statements_table)
            .where(statements_table.c.id == statement_id)
            .values(**values)
        )
        return True

    def _add_capture(
        self, conn: Connection, statement_id: int, ref: ArchiveRef, fetched_at: dt.datetime
    ) -> None:
        version = conn.execute(
            sa.select(statements_table.c.version).where(statements_table.c.id == statement_id)
        ).scalar_one()
        conn.execute(
            sa.insert(captures_table).values(
                statement_id=statement_id,
                fetched_at=fetched_at,
                version=version,
                final_url=ref.target_uri or None,
                archive_file=ref.file,
                archive_offset=ref.offset,
                archive_length=ref.length,
                archive_digest=ref.digest,
            )
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
            sa.insert(events_table).values(
                source_id=source_id,
                statement_id=statement_id,
                kind=event.event,
                url=event.url,
                title=event.title,
                version=event.version,
                at=event.at,
                payload=json.dumps(payload, ensure_ascii=False),
            )
        )
        event_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if event.alerts:
            self._queue_alerts(conn, event_id, notifiers, event.at)

    def _queue_alerts(
        self, conn: Connection, event_id: int, notifiers: Sequence[str], at: dt.datetime
    ) -> None:
        for notifier in notifiers:
            conn.execute(
                sa.insert(alerts_table).values(
                    event_id=event_id,
                    notifier=notifier,
                    delivery_id=uuid.uuid4().hex,
                    status="pending",
                    created_at=at,
                    attempts=0,
                    next_attempt_at=at,
                )
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
        )

    def outbox(self, status: str | None = None, limit: int = 1000) -> list[OutboxAlert]:
        """Alerts in the outbox (all, or those with a status), oldest first."""
        query = self._outbox_query().order_by(alerts_table.c.id).limit(limit)
        if status is not None:
            query = query.where(alerts_table.c.status == status)
        with self.engine.connect() as conn:
            return [self._outbox_alert(row) for row in conn.execute(query)]

    def mark_sent(self, alert_ids: Sequence[int], at: dt.datetime | None = None) -> None:
        with self._begin() as conn:
            conn.execute(
                sa.update(alerts_table)
                .where(alerts_table.c.id.in_(list(alert_ids)))
                .values(
                    status="sent",
                    sent_at=at or utcnow(),
                    attempts=alerts_table.c.attempts + 1,
                    last_error=None,
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
        with self._begin() as conn:
            conn.execute(
                sa.update(alerts_table)
                .where(alerts_table.c.id.in_(list(alert_ids)))
                .values(
                    status="dead" if dead else "pending",
                    attempts=alerts_table.c.attempts + 1,
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                )
            )

    def retry_dead(self, alert_ids: Sequence[int] | None = None) -> int:
        """Make dead alerts pending again, due now; returns how many."""
        query = sa.update(alerts_table).where(alerts_table.c.status == "dead")
        if alert_ids is not None:
            query = query.where(alerts_table.c.id.in_(list(alert_ids)))
        with self._begin() as conn:
            result = conn.execute(query.values(status="pending", next_attempt_at=utcnow()))
        return int(result.rowcount)

    def purge_alerts(self, status: str = "dead") -> int:
        """Delete alerts with a status (dead by default); returns how many."""
        with self._begin() as conn:
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


def _insert_new(conn: Connection, table: sa.Table, values: dict[str, Any]) -> int | None:
    """Insert a row unless one with the same unique key exists; its id, or None when it did.

    The store remembers row ids, and another process on the same state (a `monitor check`
    beside the daemon, a second node) may add a source or statement first: INSERT … ON
    CONFLICT DO NOTHING turns that race into a re-read instead of a constraint error.
    """
    dialect = conn.dialect.name
    insert: Any
    if dialect == "sqlite":
        insert = sqlite.insert(table).on_conflict_do_nothing()
    elif dialect == "postgresql":
        # imported here: 40-50 ms at every start-up of a command that uses SQLite
        from sqlalchemy.dialects import postgresql

        insert = postgresql.insert(table).on_conflict_do_nothing()
    else:  # other databases: a plain insert (a race is then a StoreError)
        insert = sa.insert(table)
    row = conn.execute(insert.values(**values).returning(table.c.id)).first()
    return None if row is None else int(row[0])


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
    """The statement row's columns that this kind of update sets."""
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
        case StatusChange(status=status, title=title):
            values["status"] = status
            if title is not None:
                values["title"] = title
        case Discovered():
            values.update(
                status="pending",
                discovered_as=item.announce_as,
                title=item.title,
                summary=item.summary,
                listed_published=item.listed_published,
            )
        case CheckFailed():
            pass
    return values


def _stored_event(payload: str) -> Event:
    """An event from its stored JSON (written by `_add_event`)."""
    return Event.from_json(json.loads(payload))


def _add_archive_columns(conn: Connection) -> None:
    """Version 2: snapshots say where their page is archived (the captures table is new,
    so create_all made it)."""
    have = {c["name"] for c in sa.inspect(conn).get_columns("snapshots")}
    for column in ("archive_file", "archive_offset", "archive_length", "archive_digest"):
        if column not in have:  # a database created at version 2 has them already
            kind = snapshots_table.c[column].type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE snapshots ADD COLUMN {column} {kind}")


_MIGRATIONS: dict[int, Any] = {
    # version -> function(conn) bringing the schema from version-1 to version.
    # Version 1 is the initial schema, created by metadata.create_all.
    2: _add_archive_columns,
}
