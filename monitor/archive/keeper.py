"""The archive as the rest of the monitor uses it: where it is, what a fetch becomes, retention.

`archiver_for(config, store)` gives the run's archiver (None with `archive = "off"`); the
pipeline calls `keep` for each version before the check's transaction, so the database row
only ever points at records already on disk. `stored_page` reads a version back (from the
archive, or from the raw copy older databases kept in SQLite) for `monitor extract` and the
UI's "as fetched" page; `apply_retention` is what the daemon runs periodically.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from monitor.archive.model import ArchiveError, ArchiveRef, HttpExchange, VersionInfo
from monitor.archive.reader import archive_files, read_response
from monitor.archive.writer import ArchiveWriter
from monitor.fetch.client import Page, decode_stored
from monitor.sources.config import Config
from monitor.state.records import Pruned, Snapshot
from monitor.state.store import Store

log = logging.getLogger(__name__)

ARCHIVE_FOLDER = "archive"
# An archive file is deleted by retention only once no row points into it and it is at
# least this old: a record written by a check whose transaction has not committed yet
# must never lose its file.
UNUSED_FILE_AGE = dt.timedelta(days=1)

_writers: dict[tuple[Path, int], ArchiveWriter] = {}
_writers_lock = threading.Lock()


def archive_folder(config: Config, store: Store) -> Path | None:
    """`[defaults] archive_dir`, else `<state>/archive`; None when neither is known."""
    if config.defaults.archive_dir is not None:
        return config.defaults.archive_dir
    state = store.state_dir
    return state / ARCHIVE_FOLDER if state is not None else None


@dataclass(frozen=True)
class Archiver:
    """Writes the fetches the configuration says to keep (`archive = "versions"` or "all")."""

    mode: str
    folder: Path
    writer: ArchiveWriter

    @property
    def every_change(self) -> bool:
        """True with `archive = "all"`: fetches whose bytes changed are kept too."""
        return self.mode == "all"

    async def keep(self, page: Page, info: VersionInfo) -> ArchiveRef | None:
        """Append the page's exchange (in a thread: fsync can take a while); None, logged,
        when the archive cannot be written: the caller then keeps the raw page instead."""
        exchange = exchange_of(page, dt.datetime.now(dt.UTC))
        try:
            written = await asyncio.to_thread(self.writer.write, exchange, info)
        except ArchiveError as error:
            log.error("could not archive %s: %s", page.final_url, error)
            return None
        return written.ref


def archiver_for(config: Config, store: Store) -> Archiver | None:
    """The archiver of this configuration and state (one writer per folder per process)."""
    defaults = config.defaults
    folder = archive_folder(config, store)
    if defaults.archive == "off" or folder is None:
        return None
    key = (folder.resolve(), defaults.archive_file_size)
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = ArchiveWriter(folder, max_file_size=key[1])
    return Archiver(defaults.archive, folder, writer)


def exchange_of(page: Page, fetched_at: dt.datetime) -> HttpExchange:
    """What the fetch sent and received, as the archive records it."""
    encoded = any(k.lower() == "content-encoding" for k, _ in page.headers)
    return HttpExchange(
        url=page.final_url,
        status=page.status,
        reason=page.reason,
        http_version=page.http_version,
        response_headers=page.headers,
        request_headers=page.request_headers,
        body=page.raw_body if page.raw_body is not None else page.body,
        # without the bytes as received, the decoded body is kept and the headers say so
        body_decoded=encoded and page.raw_body is None,
        requested_url=page.url,
        fetched_at=fetched_at,
    )


@dataclass(frozen=True)
class StoredPage:
    """A version's page as fetched: the body (decoded for display) and where it came from."""

    url: str
    html: str
    content_type: str
    fetched_at: dt.datetime | None
    archived: bool  # from the WARC archive (else from the database's raw copy)


def stored_page(config: Config, store: Store, snapshot: Snapshot) -> StoredPage | None:
    """The page a version was extracted from; None when neither archive nor raw copy has it.

    Raises ArchiveError when the archived record is damaged or does not match its digest.
    """
    ref = snapshot.archived
    folder = archive_folder(config, store)
    if ref is not None and folder is not None:
        record = read_response(folder, ref)
        content_type = record.http_header("Content-Type") or "text/html"
        encoding = record.http_header("Content-Encoding") or ""
        html = decode_stored(record.payload, content_type, encoding)
        return StoredPage(record.target_uri, html, content_type, record.fetched_at, True)
    raw = store.raw_page(snapshot.statement_id, snapshot.version)
    if raw is None:
        return None
    url = snapshot.final_url or ""
    return StoredPage(url, raw, "text/html; charset=utf-8", snapshot.fetched_at, False)


@dataclass(frozen=True)
class Retention:
    """What one retention pass deleted."""

    versions: int
    captures: int
    files: tuple[str, ...]


def apply_retention(config: Config, store: Store, now: dt.datetime | None = None) -> Retention:
    """Apply `keep_versions` and `archive_keep`: delete old versions (never a statement's
    newest), then the archive files no remaining row points into."""
    defaults = config.defaults
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(seconds=defaults.archive_keep) if defaults.archive_keep else None
    pruned = store.prune(keep_versions=defaults.keep_versions, older_than=cutoff)
    removed: list[str] = []
    folder = archive_folder(config, store)
    if folder is not None and (defaults.keep_versions or cutoff):
        removed = _remove_unused_files(folder, store.archive_files_in_use(), now)
    if pruned.versions or pruned.captures or removed:
        log.info(
            "retention: deleted %d version(s), %d capture(s), %d archive file(s)",
            pruned.versions,
            pruned.captures,
            len(removed),
        )
    return _result(pruned, removed)


def _result(pruned: Pruned, removed: list[str]) -> Retention:
    return Retention(pruned.versions, pruned.captures, tuple(removed))


def _remove_unused_files(folder: Path, in_use: set[str], now: dt.datetime) -> list[str]:
    removed: list[str] = []
    for path in archive_files(folder):
        if path.name in in_use:
            continue
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        if now - modified < UNUSED_FILE_AGE:
            continue
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed
