"""What the store reads and writes, as plain typed records.

Read: `SourceRecord`, `StatementRecord`, `Snapshot`, `StoredEvent`, `OutboxAlert`, ...
Written: one `SourceUpdate` per check, holding one variant per statement and situation
(`Unchanged`, `NoiseOnly`, `NewVersion`, `Removed`, `StatusChange`, `Discovered`,
`CheckFailed`), so the store writes each with one `match` and no sentinel values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from monitor.events import Event
from monitor.fetch import Page, Validators

if TYPE_CHECKING:
    from monitor.archive.model import ArchiveRef

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
    """A tracked statement (one per canonical URL) and the validators of its last fetch.

    Several sources may track one statement; `sources` names them all. Read for one source
    (`Store.statements(source)`), the record also carries what that source's listing says of
    it: `status` is then `moved` or `alias` when that listing says so (the statement's own
    status is pending, active or removed), and `discovered_as`, `summary` and
    `listed_published` are that listing's.
    """

    id: int
    url: str
    status: str
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
    sources: tuple[str, ...] = ()  # the names of the sources tracking it, sorted
    discovered_as: str = "baseline"
    summary: str | None = None
    listed_published: dt.date | None = None

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


@dataclass(frozen=True, kw_only=True)
class VersionContent:
    """What every version of a statement holds: its text as extracted and as compared, and
    what the fetch that found it returned. `Snapshot` (stored) and `NewSnapshot` (to store)
    are its two forms."""

    title: str
    text: str  # as extracted, for display
    normalized: str  # what comparisons use
    published: dt.date | None = None
    final_url: str | None = None
    canonical_url: str | None = None  # the URL the page names as its own
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None


@dataclass(frozen=True, kw_only=True)
class Snapshot(VersionContent):
    """One stored version of a statement."""

    statement_id: int
    version: int
    fetched_at: dt.datetime
    text_hash: str
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

    sources: tuple[str, ...]  # the sources tracking the statement
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


@dataclass(frozen=True, kw_only=True)
class NewSnapshot(VersionContent):
    """A version to store: the extracted statement plus what the fetch returned."""

    raw: bytes | None = None  # the page as fetched, kept compressed to re-extract it
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
    """The source's listing now links the statement's text under another URL (`moved`), or
    its link leads to a statement it tracks under another URL (`alias`).

    Said of the source's link only: another source tracking the statement goes on with it.
    """

    url: str
    status: Literal["moved", "alias"]
    title: str | None = None
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class Discovered:
    """A listing names a statement the source does not track yet (announced as `baseline`
    or `new` when first fetched; one another source tracks already is only linked)."""

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
    notifiers: Sequence[str] = ()  # who gets an alert for each alerting event of the source
    # The notifiers of every configured source: an alerting event of a statement goes to
    # those of all the sources tracking it, once each (see `Store.save_check`).
    notifiers_of_sources: Mapping[str, Sequence[str]] = field(default_factory=dict)


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
    claimed_by: str | None = None  # a run or node delivering it now (see Store.claim_alerts)
    claimed_until: dt.datetime | None = None

    def held_by_another(self, owner: str, now: dt.datetime) -> bool:
        """Someone other than `owner` holds an unexpired claim on it (it is theirs to send
        until `claimed_until`)."""
        return (
            self.claimed_by not in (None, owner)
            and self.claimed_until is not None
            and self.claimed_until > now
        )
