"""The check of one source: fetch, extract, compare, store, alert, each a call into its module.

A `page` source is one statement. An `index` or `feed` source is a listing: each check reads
the listing, records the statements it names, fetches the ones not seen before (a few per
check), and re-checks every statement already tracked, each exactly like a page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import logging
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from rapidfuzz import fuzz

from monitor import diff, meaning
from monitor.clock import utcnow
from monitor.events import Event
from monitor.extract.base import Article, ExtractionError, load_extractor, read_statement
from monitor.extract.container import container_digest
from monitor.fetch.base import (
    Accept,
    Fetcher,
    FetchError,
    FetchRequest,
    HTTPStatusError,
    Page,
    RenderOptions,
    Validators,
)
from monitor.fetch.client import FetchSettings
from monitor.fetch.router import open_fetcher
from monitor.sources.config import Config, Source, format_duration
from monitor.sources.urls import canonical_url, connect_port, redact_url
from monitor.state.recorder import Recorder
from monitor.state.records import (
    CheckFailed,
    Container,
    Discovered,
    Fetched,
    NewSnapshot,
    NewVersion,
    NoiseOnly,
    Removed,
    Snapshot,
    SourceRecord,
    SourceUpdate,
    StatementRecord,
    StatementUpdate,
    StatusChange,
    Unchanged,
)
from monitor.state.store import StateCorrupt, Store, StoreError

# Loaded where they are used, not here: a check whose pages answer 304 or keep their
# statement's text (the learned container) needs no extractor, listing reader or archive
# writer, and `monitor check` reaches its first request without their import time and
# memory. A process about to start several checkers loads them first (`load_for_changes`), or
# leaves the extractor to an extraction process (`CheckContext.extraction`).
if TYPE_CHECKING:
    from monitor.archive.keeper import Archiver
    from monitor.archive.model import ArchiveRef
    from monitor.extract.discover import Link

log = logging.getLogger(__name__)
T = TypeVar("T")
AnnounceAs = Literal["baseline", "new"]

GONE_STATUSES = frozenset({404, 410})
SUMMARY_CHARS = 280
# A "new" statement whose text is at least this similar to one that left the listing is the
# same statement at a new URL (reported as `moved`). Re-publishing under a new slug keeps the
# text nearly identical; two distinct statements of one newsroom stay far below this.
MOVED_SIMILARITY = 0.9
# A page whose text shrinks below both limits stands in for the statement (see
# _refuse_stand_in): fewer than this many words, and less than this share of the old count.
STAND_IN_WORDS = 30
STAND_IN_SHARE = 0.2


@dataclass(frozen=True)
class CheckResult:
    """What one check of one source found and how it went."""

    source: str
    events: list[Event] = field(default_factory=list)
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not any(e.event == "error" for e in self.events)


class StatementError(Exception):
    """One statement (or listing) could not be checked: fetch or extraction failed."""


@dataclass(frozen=True)
class KnownState:
    """The stored records of the sources a one-shot run checks, read in two queries first.

    A run checks each source once, so what was stored before it began is what each check
    needs to compare with; reading it up front spares two queries per source.
    """

    sources: dict[str, SourceRecord]
    statements: dict[str, list[StatementRecord]]  # as each source sees them
    # The statements a check may find tracked by other sources, whichever sources they are
    by_url: dict[str, StatementRecord]

    @classmethod
    def read(cls, store: Store, sources: Collection[Source]) -> KnownState:
        """What the store holds of these sources, and of the statements they may start
        tracking that other sources track already."""
        names = {s.name for s in sources}
        statements = store.statements_by_source(names)
        if all(s.kind == "page" for s in sources):
            # A page source asks only for its own URL, and only while it does not track
            # it: reading every statement instead took 0.2 s per shard process (and 10 MB)
            # with 10,000 sources.
            urls = set()
            for source in sources:
                tracked = {s.url for s in statements.get(source.name, ())}
                # (a URL as written is most often canonical already: then no need to parse it)
                if source.url in tracked:
                    continue
                url = canonical_url(source.url)
                if url not in tracked:
                    urls.add(url)
            by_url = store.statements_at(urls) if urls else {}
        else:  # a listing may name any statement
            by_url = {s.url: s for s in store.statements()}
        return cls({r.name: r for r in store.sources(names)}, statements, by_url)


@dataclass
class DigestTally:
    """How many pages of a run were compared by their container's digest, and how many of
    those it could not pass (their container's text changed, or it was gone): what decides
    where their extraction runs (`CheckContext.extract`)."""

    compared: int = 0
    changed: int = 0

    def add(self, same: bool) -> None:
        """Count one compared page; `same` when its digest passed it."""
        self.compared += 1
        self.changed += not same

    @property
    def mostly_changed(self) -> bool:
        """True once a run has compared enough pages and most of them changed."""
        return self.compared >= MOSTLY_CHANGED_AFTER and 2 * self.changed > self.compared


# Pages compared before `DigestTally.mostly_changed` may say so: a run's first few pages are
# too few to tell a template change from a few edits that came first.
MOSTLY_CHANGED_AFTER = 32


@dataclass(frozen=True)
class CheckContext:
    """What every check of a run shares: settings, state, the HTTP client, CPU workers."""

    config: Config
    store: Store
    fetcher: Fetcher
    # Extraction is CPU-bound; with an executor (a process pool) it runs off the event loop
    # and on every core. Without one it runs inline, which is quicker for a few pages.
    executor: Executor | None = None
    # Where the changed pages of known statements are extracted instead, when the run has a
    # process for it (a large `monitor check`: one for every shard, monitor.cli.extraction).
    extraction: Executor | None = None
    # Groups the writes of checks that finish together; without one, each check commits alone.
    recorder: Recorder | None = None
    # What was stored before a one-shot run; without it, each check reads the store.
    known: KnownState | None = None
    # The daemon calls the store in threads, so its event loop (other checks, the web
    # endpoint) never waits for the database; a one-shot run calls it in line (quicker).
    store_in_thread: bool = False
    digests: DigestTally = field(default_factory=DigestTally)

    async def _use_store(self, func: Callable[..., T], /, *args: Any) -> T:
        if self.store_in_thread:
            return await asyncio.to_thread(func, *args)
        return func(*args)

    async def source_record(self, name: str) -> SourceRecord | None:
        if self.known is not None:
            return self.known.sources.get(name)
        return await self._use_store(self.store.source, name)

    async def statement_records(self, source: str) -> list[StatementRecord]:
        if self.known is not None:
            return self.known.statements.get(source, [])
        return await self._use_store(self.store.statements, source)

    async def tracked_elsewhere(self, urls: Collection[str]) -> dict[str, StatementRecord]:
        """The statements at these URLs that are tracked already (by other sources)."""
        if self.known is not None:
            by_url = self.known.by_url
            return {url: by_url[url] for url in urls if url in by_url}
        return await self._use_store(self.store.statements_at, urls) if urls else {}

    async def snapshot(self, statement_id: int) -> Snapshot | None:
        """A statement's latest stored version."""
        return await self._use_store(self.store.snapshot, statement_id)

    async def record(self, update: SourceUpdate) -> SourceUpdate:
        """Store one check (snapshots, events, alerts) in one transaction; returns it as
        recorded, without the events another check recorded first. Raises StoreError."""
        if self.recorder is not None:
            return await self.recorder.record(update)
        return await self._use_store(self.store.save_check, update)

    def archiver(self) -> Archiver | None:
        """The run's evidence archive (None with `archive = "off"`)."""
        from monitor.archive.keeper import archiver_for

        return archiver_for(self.config, self.store)

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run CPU-bound work in the executor when there is one, else here."""
        return await self._run_in(self.executor, partial(func, *args, **kwargs))

    async def extract(
        self, source: Source, page: Page, *, known: bool
    ) -> tuple[Article, Container | None]:
        """The page's statement, and its container where one is learned: for a `known`
        statement, in the run's extraction process when it has one, else as `run` does.

        A new statement is extracted where it is found: new ones come in bulk (a source's
        first check), which one process for every shard would queue, while the changed
        pages of known ones are few. When they are not (most compared pages changed: a
        template change, or the first run after the digest's form changed), they are
        extracted where they are found too: the extraction process then costs more than it
        saves (monitor.cli.extraction).
        """
        job = partial(read_statement, page.text, page.final_url, source.selector, source.ignore)
        executor = self.executor
        if known and self.extraction is not None and not self.digests.mostly_changed:
            executor = self.extraction
        article, learned = await self._run_in(executor, job)
        return article, Container(*learned) if learned else None

    async def _run_in(self, executor: Executor | None, job: Callable[[], T]) -> T:
        if executor is None:
            return job()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, job)
        except BrokenProcessPool:
            # A worker died (killed, out of memory) and took the pool with it; a pool that
            # can be renewed (monitor.daemon.pool, monitor.cli.extraction) starts new workers or
            # works here: try once more there.
            renew = getattr(executor, "renew", None)
            if renew is None:
                raise
            renew()
            return await loop.run_in_executor(executor, job)


def load_for_changes(*, extractor: bool = True) -> None:
    """Import now what a changed page needs (the extractor, the archive writer: about 0.15 s
    of CPU since BeautifulSoup loads only for selectors), which the checks otherwise import at
    the first changed page; without the `extractor` when another process extracts (see
    monitor.cli.extraction).

    For a process about to fork shard processes, once instead of once in each shard that
    meets a changed page (in the cycle benchmark every shard does: its cycle 2 took 0.4 s
    less CPU and 0.1-0.2 s less wall time this way, at load 3-4); for the daemon, at its
    start instead of in the middle of its event loop's work.
    """
    if extractor:
        load_extractor()
    importlib.import_module("monitor.archive.keeper")


def fetch_settings(config: Config) -> FetchSettings:
    """Fetch settings from the configuration's `[defaults]`."""
    d = config.defaults
    agent = f"{d.user_agent} contact: {d.contact}" if d.contact else d.user_agent
    return FetchSettings(
        user_agent=agent,
        timeout=d.timeout,
        total_timeout=max(d.timeout * 4, d.timeout + 30),
        fetch_deadline=d.fetch_deadline,
        max_bytes=d.max_bytes,
        max_redirects=d.max_redirects,
        retries=d.retries,
        max_connections=d.concurrency,
        per_host=d.per_host,
        allow_networks=d.allow_networks,
        browser=d.browser,
        browser_pages=d.browser_pages,
    )


def fetch_request(
    source: Source,
    config: Config,
    url: str,
    validators: Validators | None = None,
    *,
    accept: Accept = "html",
) -> FetchRequest:
    """How to fetch `url` for `source`: its request settings over the `[defaults]` ones.

    Every page of a source (its listing, its statements, an advertised feed) is fetched
    with the same settings, rendered too when the source says `render = true`.
    """
    d = config.defaults
    render = source.render if source.render is not None else d.render
    proxy = source.proxy if source.proxy is not None else d.proxy
    headers = {**d.headers, **(source.headers or {})}
    cookies = {**d.cookies, **(source.cookies or {})}
    options = None
    if render:
        options = RenderOptions(
            wait_for=source.wait_for,
            wait=source.wait if source.wait is not None else d.wait,
            timeout=source.render_timeout or d.render_timeout,
        )
    return FetchRequest(
        url=url,
        validators=validators or Validators(),
        accept=accept,
        headers=headers,
        cookies=cookies,
        user_agent=source.user_agent,
        proxy=proxy,
        verify=config.verify_of(source),
        render=options,
        origin=source.url,
        secrets=_request_secrets(headers, cookies, proxy),
        deadline=source.fetch_deadline or d.fetch_deadline,
    )


def _request_secrets(
    headers: dict[str, str], cookies: dict[str, str], proxy: str | None
) -> tuple[str, ...]:
    """The values of a request that must never be shown: header and cookie values, the
    proxy's credentials."""
    found = [v for v in headers.values() if len(v) >= 8] + list(cookies.values())
    if proxy is not None and "@" in proxy:
        userinfo = proxy.split("://", 1)[-1].rsplit("@", 1)[0]
        found += [part for part in userinfo.split(":", 1) if part]
    return tuple(found)


def request_secrets(config: Config) -> list[str]:
    """Every request secret of a configuration, for log redaction."""
    found: list[str] = []
    for source in config.sources:
        found += fetch_request(source, config, source.url).secrets
    return sorted(set(found))


async def check_sources(
    config: Config,
    store: Store,
    sources: Sequence[Source],
    *,
    executor: Executor | None = None,
    extraction: Executor | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    timeout: float | None = None,
) -> list[CheckResult]:
    """Check several sources concurrently with one shared, rate-limited HTTP client.

    `timeout` (seconds) bounds the whole run: a source still being checked then is
    abandoned and reported as that source's `error`. `executor` and `extraction`: see
    `CheckContext`.
    """
    async with open_fetcher(fetch_settings(config)) as fetcher:
        ctx = CheckContext(
            config,
            store,
            fetcher,
            executor,
            extraction,
            Recorder(store),
            KnownState.read(store, sources),
        )

        admission = _Admission(config.defaults.per_host, config.defaults.concurrency)

        async def run(source: Source) -> CheckResult:
            started = time.monotonic()
            async with admission.host_of(source), admission.total:
                update = await inspect_source(source, ctx)
            # Recording waits to be grouped with other checks' (the recorder): done outside
            # the admission, which would otherwise cap the groups at its size.
            result = await _recorded(source, update, ctx, started)
            if on_result is not None:
                on_result(result)
            return result

        if not sources:
            return []
        # One timer for the whole run, not one per source: with thousands of sources the
        # timers alone cost a twentieth of the run.
        checks = [asyncio.ensure_future(run(s)) for s in sources]
        try:
            _, late = await asyncio.wait(checks, timeout=timeout)
        finally:  # the time limit, or this run cancelled: no check outlives it
            for check in checks:
                check.cancel()
        await asyncio.wait(checks)  # the abandoned ones end (their connections close)
        results = []
        for source, check in zip(sources, checks, strict=True):
            if check in late:
                result = unfinished(source, timeout or 0.0)
                if on_result is not None:
                    on_result(result)
                results.append(result)
            else:
                results.append(check.result())
        return results


class _Admission:
    """How many checks of a one-shot run fetch and compare at once: per host, and in all,
    twice what the fetcher lets fetch at once (so that the connections never wait for a
    check to get ready). Recording is not counted: the recorder groups many checks' writes.

    Started all at once, every check built its request before it waited for a connection:
    with 10,000 sources that held 40 MiB per shard process and put the first request a
    second late. A slow host holds back only its own checks, as in the fetcher: it never
    holds more places in the run than twice its connections.
    """

    def __init__(self, per_host: int, concurrency: int) -> None:
        self._per_host = 2 * per_host
        self.total = asyncio.Semaphore(2 * concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    def host_of(self, source: Source) -> asyncio.Semaphore:
        """The places of the checks of sources on `source`'s host.

        Keyed like the fetcher's connection slots, by host and port with the scheme's
        default filled in: `https://Example.org/a`, `https://example.org:443/b` and
        `https://user@example.org/c` share one host's places.
        """
        parts = urlsplit(source.url)
        host = f"{parts.hostname or parts.netloc.lower()}:{connect_port(parts)}"
        found = self._hosts.get(host)
        if found is None:
            found = self._hosts[host] = asyncio.Semaphore(self._per_host)
        return found


async def check_source(source: Source, ctx: CheckContext) -> CheckResult:
    """Check one source, then store everything it found (snapshots, events, alerts) at once.

    No exception from one source's check escapes it: an unexpected one (a bug, a library
    failing on a hostile answer) becomes that source's `error` event, recorded like a failed
    fetch, with its statements untouched, so one bad server never stops a run.
    """
    started = time.monotonic()
    return await _recorded(source, await inspect_source(source, ctx), ctx, started)


async def inspect_source(source: Source, ctx: CheckContext) -> SourceUpdate:
    """What a check of `source` finds (fetched and compared), not yet recorded: the first
    half of `check_source`."""
    record = await ctx.source_record(source.name)
    try:
        if source.kind == "page":
            update = await _check_page_source(source, ctx)
        else:
            update = await _check_listing_source(source, ctx, record)
    except StateCorrupt:
        raise  # the whole run's state, not this source's trouble: the run stops
    except Exception as exc:
        # A bug, or an input nobody foresaw: this source's error, never the end of the run
        # (the other sources' checks go on and are recorded). Nothing it found is kept.
        log.exception("the check of %s failed unexpectedly", source.name)
        message = f"the check failed unexpectedly: {type(exc).__name__}: {exc}"
        error = Event("error", source.name, canonical_url(source.url), error=message)
        update = source_update(source, ctx.config, error.at, error=message, events=[error])
    return failure_streak_alerts(
        update, record.consecutive_failures if record else 0, ctx.config.defaults.error_alert_after
    )


async def _recorded(
    source: Source, update: SourceUpdate, ctx: CheckContext, started: float
) -> CheckResult:
    """The check's result once `update` is stored (the second half of `check_source`)."""
    try:
        update = await ctx.record(update)
    except StateCorrupt:
        raise
    except StoreError as exc:
        message = f"could not record the check: {exc}"
        log.error("%s: %s", source.name, message)
        error = Event("error", source.name, source.url, error=message, at=update.checked_at)
        return CheckResult(source.name, [error], message, time.monotonic() - started)
    events = [*update.events, *(e for s in update.statements for e in s.events)]
    return CheckResult(source.name, events, update.error, time.monotonic() - started)


def unfinished(source: Source, timeout: float) -> CheckResult:
    """A check abandoned at the run's time limit (`monitor check --timeout`)."""
    message = (
        f"not finished within the run's time limit ({format_duration(timeout)}; "
        "`monitor check --timeout` sets it): abandoned"
    )
    url = canonical_url(source.url)
    return CheckResult(source.name, [Event("error", source.name, url, error=message)], message)


def source_update(
    source: Source, config: Config, checked_at: dt.datetime, **found: Any
) -> SourceUpdate:
    """What a check of `source` at `checked_at` writes: `found` holds what it learned."""
    return SourceUpdate(
        name=source.name,
        url=source.url,
        kind=source.kind,
        checked_at=checked_at,
        notifiers=config.notifiers_for(source),
        notifiers_of_sources=config.notifiers_by_source,
        **found,
    )


def failure_streak_alerts(
    update: SourceUpdate, failures_before: int, threshold: int
) -> SourceUpdate:
    """Alert once when a source has failed `threshold` checks in a row, and once on recovery.

    A single failed check is only an `error` event: servers hiccup, and an alert for every
    failure would teach people to ignore alerts.
    """
    if update.error is not None:
        failures = failures_before + 1
        if failures != threshold:
            return update
        events = [replace(e, failures=failures) if e.event == "error" else e for e in update.events]
        return replace(update, events=events)
    if failures_before < threshold:
        return update
    recovered = Event(
        "recovered",
        update.name,
        canonical_url(update.url),
        failures=failures_before,
        at=update.checked_at,
    )
    return replace(update, events=[*update.events, recovered])


# ---------------------------------------------------------------------------------------------
# page sources
# ---------------------------------------------------------------------------------------------


async def _check_page_source(source: Source, ctx: CheckContext) -> SourceUpdate:
    checked_at = utcnow()
    url = canonical_url(source.url)
    previous = next((s for s in await ctx.statement_records(source.name) if s.url == url), None)
    if previous is None:
        # Another source may track this statement already: this check continues its
        # timeline (an edit since is `changed`), it does not start a second one.
        previous = (await ctx.tracked_elsewhere([url])).get(url)
    base = source_update(source, ctx.config, checked_at)
    try:
        update = await check_statement(source, url, previous, ctx)
    except StatementError as exc:
        title = previous.title if previous else None
        error = Event("error", source.name, url, title=title, error=str(exc), at=checked_at)
        return replace(base, error=str(exc), events=[error])
    return replace(base, statements=[update])


async def check_statement(
    source: Source,
    url: str,
    previous: StatementRecord | None,
    ctx: CheckContext,
    *,
    fallback_text: str | None = None,
) -> StatementUpdate:
    """Fetch one statement page and compare it with its last snapshot.

    The first snapshot gives a `baseline` event (the caller may announce it as `new` or
    `moved`). Raises StatementError when the page cannot be fetched or holds no statement;
    the stored snapshot is then left alone, so the next good fetch is compared with the last
    good one and an outage never shows as a change.
    """
    reader = _reader(source, url, previous, ctx.config)
    page = await _fetch(reader, url, previous, ctx)
    if page is None:  # the statement is gone (404/410)
        assert previous is not None
        return _removed(source, url, previous)
    update = await _compare_page(source, reader, url, page, previous, ctx, fallback_text)
    if previous is not None and previous.status == "removed" and previous.version:
        # It answers again after a 404/410: say so, with any edit made meanwhile.
        back = Event("restored", source.name, url, title=previous.title, version=previous.version)
        return replace(update, events=[back, *update.events])
    return update


def _reader(source: Source, url: str, previous: StatementRecord | None, config: Config) -> Source:
    """The source whose settings fetch and read a statement: the checking one, unless the
    statement is shared (then the same one for every source: `Config.statement_reader`)."""
    tracking = {source.name, *(previous.sources if previous is not None else ())}
    return config.statement_reader(tracking, url) or source


async def _compare_page(
    source: Source,
    reader: Source,
    url: str,
    page: Page,
    previous: StatementRecord | None,
    ctx: CheckContext,
    fallback_text: str | None,
) -> StatementUpdate:
    """The statement in a fetched page, compared with its last snapshot; `reader` is the
    source whose settings read it (see `_reader`), `source` the one checking."""
    reactivated = previous is not None and previous.status == "removed"
    if previous is not None and _same_bytes(page, previous):
        return Unchanged(url, reactivated=reactivated)
    fetched = Fetched.of(page)
    if previous is not None and await _same_container(page, previous, ctx):
        # Only the page around the statement changed: skip extraction.
        capture = await _capture(ctx, source, url, page, previous, None)
        return Unchanged(url, fetched, reactivated=reactivated, capture=capture)
    known = previous is not None and previous.version > 0
    article, learned = await _extract(reader, page, ctx, fallback_text, known=known)
    snapshot = _snapshot(article, page, keep_raw=ctx.config.defaults.keep_raw)
    last = await ctx.snapshot(previous.id) if previous and previous.version else None
    if previous is None or last is None:
        event = Event(
            "baseline",
            source.name,
            url,
            title=article.title,
            version=1,
            published=article.published,
        )
        snapshot = await _archived(ctx, source, url, page, snapshot, 1)
        return NewVersion(url, snapshot, 0, fetched, learned, events=[event])
    headline = diff.title_change(last.title, article.title)
    if last.text_hash == snapshot.text_hash and headline is None:
        # The page changed but the statement did not: noise (sidebars, timestamps, markup).
        capture = await _capture(ctx, source, url, page, previous, snapshot.text_hash)
        return NoiseOnly(url, fetched, learned, reactivated=reactivated, capture=capture)
    if last.text_hash != snapshot.text_hash:
        _refuse_stand_in(last.normalized, snapshot.normalized, page)
    comparison = await ctx.run(diff.compare, last.text, article.text)
    changes = (headline, *comparison.changes) if headline else comparison.changes
    with_headline = replace(comparison, changes=changes)
    findings = await _meaning(ctx, last.text, article.text, with_headline, url)
    event = Event(
        "changed",
        source.name,
        url,
        title=article.title or last.title,
        version=previous.version + 1,
        similarity=comparison.similarity,
        changes=changes,
        published=article.published,
        meaning=findings,
    )
    snapshot = await _archived(ctx, source, url, page, snapshot, previous.version + 1)
    return NewVersion(url, snapshot, previous.version, fetched, learned, events=[event])


async def _meaning(
    ctx: CheckContext, old: str, new: str, comparison: diff.Comparison, url: str
) -> tuple[meaning.Finding, ...]:
    """What the edits mean, from the same alignment (the headline among the changes).

    Like the comparison, in the run's executor when it has one (the daemon's workers): a
    statement rewritten wholesale takes tenths of a second, which its event loop must not
    wait for. The findings explain a change; a fault in finding them must never lose it.
    """
    try:
        return await ctx.run(meaning.explain, old, new, comparison=comparison)
    except Exception:
        log.exception("could not explain the change of %s; reported without findings", url)
        return ()


async def _archived(
    ctx: CheckContext, source: Source, url: str, page: Page, snapshot: NewSnapshot, version: int
) -> NewSnapshot:
    """The new version with its page archived (written now, before the check is recorded).

    With the archive on, the raw page is not kept in the database as well; when the archive
    cannot be written (logged), the raw page is kept there instead, so nothing is lost.
    """
    archiver = ctx.archiver()
    if archiver is None:
        return snapshot
    from monitor.archive.model import VersionInfo

    info = VersionInfo(
        text_sha256=snapshot.text_hash,
        version=version,
        source=source.name,
        statement_url=url,
        title=snapshot.title,
    )
    ref = await archiver.keep(page, info)
    if ref is None:
        return replace(snapshot, raw=snapshot.raw or page.text.encode("utf-8"))
    return replace(snapshot, archive=ref, raw=None)


async def _capture(
    ctx: CheckContext,
    source: Source,
    url: str,
    page: Page,
    previous: StatementRecord,
    text_hash: str | None,
) -> ArchiveRef | None:
    """With `archive = "all"`, the archived records of a fetch that changed the page's bytes
    but not the statement (None otherwise)."""
    if ctx.config.defaults.archive != "all":
        return None  # checked first: finding the archiver resolves paths, on every page
    archiver = ctx.archiver()
    if archiver is None or not archiver.every_change:
        return None
    from monitor.archive.model import VersionInfo

    info = VersionInfo(
        text_sha256=text_hash, version=previous.version, source=source.name, statement_url=url
    )
    return await archiver.keep(page, info)


async def _fetch(
    reader: Source, url: str, previous: StatementRecord | None, ctx: CheckContext
) -> Page | None:
    """The page, requested with `reader`'s settings (see `_reader`), or None when a known
    statement is gone; StatementError otherwise."""
    validators = None
    if previous is not None and previous.version and previous.status != "removed":
        validators = _conditional(previous.validators, previous.last_checked_at)
    try:
        return await ctx.fetcher.fetch(fetch_request(reader, ctx.config, url, validators))
    except HTTPStatusError as exc:
        if exc.status in GONE_STATUSES and previous is not None and previous.version:
            return None
        raise StatementError(str(exc)) from exc
    except FetchError as exc:
        raise StatementError(str(exc)) from exc


def _conditional(validators: Validators, last_checked: dt.datetime | None) -> Validators | None:
    """The validators of a page's last fetch, to make this one a conditional GET; None (a
    full GET) at the page's first check of each UTC day.

    A server that answers 304 although the page changed (a CMS that keeps Last-Modified at
    the publication date, a stale cache in front of the site) would otherwise hide an edit,
    or a new statement on a listing, for as long as it does so. At one check every ten
    minutes, that is one full fetch in 144.
    """
    if last_checked is None or last_checked.date() < utcnow().date():
        return None
    return validators


def _same_bytes(page: Page, previous: StatementRecord) -> bool:
    """True when the server says 304 or sends exactly the bytes it sent last time."""
    if previous.version == 0:
        return False
    return page.not_modified or page.content_hash == previous.content_hash


async def _same_container(page: Page, previous: StatementRecord, ctx: CheckContext) -> bool:
    """True when the statement's learned container reads exactly as at the last snapshot."""
    container = previous.learned_container
    if not previous.version or container is None:
        return False
    digest = await ctx.run(container_digest, page.text, container.path)
    same = digest == container.digest
    ctx.digests.add(same)
    return same


async def _extract(
    source: Source,
    page: Page,
    ctx: CheckContext,
    fallback_text: str | None = None,
    *,
    known: bool,
) -> tuple[Article, Container | None]:
    try:
        article, learned = await ctx.extract(source, page, known=known)
    except ExtractionError as exc:
        if fallback_text:
            return Article(title="", text=fallback_text), None
        raise StatementError(f"{exc} ({redact_url(page.final_url)})") from exc
    if not article.text.strip():
        if fallback_text:
            return Article(title=article.title, text=fallback_text), None
        raise StatementError(f"no statement text found in the page ({redact_url(page.final_url)})")
    return article, learned


def _refuse_stand_in(old: str, new: str, page: Page) -> None:
    """Refuse a page that shows a few words instead of the statement (maintenance, login wall).

    Such a page is reported as an error that quotes what it says, so a withdrawn statement
    is still seen, while a transient stand-in page never becomes a `changed` and then a
    second `changed` when the statement returns.
    """
    old_words, new_words = len(old.split()), len(new.split())
    if new_words < STAND_IN_WORDS and new_words < old_words * STAND_IN_SHARE:
        quoted = " ".join(new.split())[:200]
        raise StatementError(
            f"the page no longer holds the statement: {new_words} words instead of "
            f"{old_words}; it reads “{quoted}” ({redact_url(page.final_url)})"
        )


def _snapshot(article: Article, page: Page, *, keep_raw: bool) -> NewSnapshot:
    return NewSnapshot(
        title=article.title,
        text=article.text,
        normalized=diff.normalize(article.text),
        published=article.published,
        final_url=page.final_url,
        etag=page.etag,
        last_modified=page.last_modified,
        content_hash=page.content_hash,
        raw=page.text.encode("utf-8") if keep_raw else None,
        canonical_url=canonical_url(article.canonical_url) if article.canonical_url else None,
    )


def _removed(source: Source, url: str, previous: StatementRecord) -> StatementUpdate:
    if previous.status == "removed":
        return Removed(url)  # reported once already
    event = Event("removed", source.name, url, title=previous.title, version=previous.version)
    return Removed(url, events=[event])


# ---------------------------------------------------------------------------------------------
# index and feed sources
# ---------------------------------------------------------------------------------------------


async def _check_listing_source(
    source: Source, ctx: CheckContext, record: SourceRecord | None
) -> SourceUpdate:
    """Read the listing, record what it names, fetch the newest few, re-check the rest."""
    checked_at = utcnow()
    # Statements on a listing's first successful read are its baseline: recorded, not alerted.
    first_sight = record is None or record.last_success_at is None
    known = {s.url: s for s in await ctx.statement_records(source.name)}
    update = source_update(source, ctx.config, checked_at)
    listed: list[Link] = []
    try:
        listing = await _read_listing(source, record, ctx)
    except StatementError as exc:
        # The store keeps the listing's old validators; tracked statements are still checked.
        error = Event("error", source.name, canonical_url(source.url), error=str(exc))
        update = replace(update, error=str(exc), events=[error])
    else:
        listed = listing.links
        content_hash = listing.page.content_hash or (record.content_hash if record else None)
        fetched = Fetched(Validators(listing.page.etag, listing.page.last_modified), content_hash)
        update = replace(update, fetched=fetched)
    discovered = _record_new_links(listed, known, "baseline" if first_sight else "new")
    # A newly listed statement that another source tracks (and has fetched) already is no
    # new statement: this source starts tracking it (its `Discovered` links it) and checks
    # it like the others, continuing its timeline.
    for url, statement in (await ctx.tracked_elsewhere(list(discovered))).items():
        if statement.version > 0:
            known[url] = statement
    statement_updates = await _check_tracked(source, ctx, known, discovered, listed)
    return replace(update, statements=[*discovered.values(), *statement_updates])


@dataclass(frozen=True)
class _Listing:
    page: Page
    links: list[Link]  # empty when the listing is unchanged since the last check


async def _read_listing(source: Source, record: SourceRecord | None, ctx: CheckContext) -> _Listing:
    validators = None
    if record is not None and record.last_success_at is not None:
        validators = _conditional(record.validators, record.last_check_at)
    accept: Accept = "feed" if source.kind == "feed" else "html"
    try:
        request = fetch_request(source, ctx.config, source.url, validators, accept=accept)
        if source.kind == "feed":
            request = replace(request, render=None)  # a feed is XML; its items are rendered
        page = await ctx.fetcher.fetch(request)
    except FetchError as exc:
        raise StatementError(str(exc)) from exc
    unchanged = page.not_modified or (
        record is not None and page.content_hash == record.content_hash
    )
    if unchanged:
        return _Listing(page, [])
    from monitor.extract.discover import DiscoveryError, links_from_feed, links_from_index

    try:
        if source.kind == "feed":
            links = links_from_feed(page.body, page.final_url)
        else:
            links = links_from_index(page.text, page.final_url, source.links)
    except DiscoveryError as exc:
        raise StatementError(f"{exc} ({redact_url(source.url)})") from exc
    if source.kind == "index" and source.follow_feed:
        links = await _with_advertised_feed(source, page, links, ctx)
    if not links:
        what = "items in the feed" if source.kind == "feed" else "statement links on the page"
        hint = "" if source.kind == "feed" or source.links else "; set `links` to a CSS selector"
        raise StatementError(
            f"no {what} at {redact_url(source.url)}: the layout may have changed{hint}"
        )
    return _Listing(page, links)


async def _with_advertised_feed(
    source: Source, page: Page, links: list[Link], ctx: CheckContext
) -> list[Link]:
    """The items of the feed the index page advertises, then the page's own links.

    A feed names statements the page may not show (and gives their dates); a feed that is
    missing or broken leaves the page's links as they are.
    """
    from monitor.extract.discover import DiscoveryError, feed_url_of, links_from_feed

    feed_url = feed_url_of(page.text, page.final_url)
    if feed_url is None:
        return links
    try:
        # A feed is XML: read as served, never rendered.
        request = replace(fetch_request(source, ctx.config, feed_url, accept="feed"), render=None)
        feed = await ctx.fetcher.fetch(request)
        items = links_from_feed(feed.body, feed.final_url)
    except (FetchError, DiscoveryError) as exc:
        log.warning("the feed advertised by %s is unusable: %s", redact_url(page.url), exc)
        return links
    seen = {link.url for link in items}
    return [*items, *(link for link in links if link.url not in seen)]


def _record_new_links(
    listed: Sequence[Link], known: dict[str, StatementRecord], announce_as: AnnounceAs
) -> dict[str, Discovered]:
    """A pending statement for every listed link not tracked yet, in listing order."""
    pending: dict[str, Discovered] = {}
    for link in listed:
        if link.url in known or link.url in pending:
            continue
        pending[link.url] = Discovered(
            link.url,
            announce_as,
            title=link.title,
            summary=link.summary,
            listed_published=link.published,
        )
    return pending


async def _check_tracked(
    source: Source,
    ctx: CheckContext,
    known: dict[str, StatementRecord],
    discovered: dict[str, Discovered],
    listed: Sequence[Link],
) -> list[StatementUpdate]:
    """Fetch up to `max_new_per_check` pending statements and re-check every active one."""
    order = {link.url: i for i, link in enumerate(listed)}
    waiting = [s for s in known.values() if s.status == "pending"]
    waiting.sort(key=lambda s: (order.get(s.url, len(order)), s.id))
    new_urls = [url for url in discovered if url not in known]
    first_fetches = [*(s.url for s in waiting), *new_urls][: ctx.config.defaults.max_new_per_check]
    tracked = [s for s in known.values() if s.status == "active" and s.version > 0]
    # A 404 may be a mistake fixed later: removed statements are still fetched, less often.
    recheck_after = dt.timedelta(seconds=ctx.config.defaults.recheck_removed)
    tracked += [
        s
        for s in known.values()
        if s.status == "removed"
        and s.version > 0
        and (s.last_checked_at is None or utcnow() - s.last_checked_at >= recheck_after)
    ]

    def pending_record(url: str) -> Discovered:
        record = known.get(url)
        if record is None:
            return discovered[url]
        announce_as: AnnounceAs = "baseline" if record.discovered_as == "baseline" else "new"
        return Discovered(url, announce_as, record.title, record.summary, record.listed_published)

    # Candidates for a move: statements that left the listing (only known when it was read)
    # or whose page is gone.
    gone = [
        s
        for s in known.values()
        if s.version > 0 and (s.status == "removed" or (listed and s.url not in order))
    ]
    jobs = [
        *(_first_fetch(source, ctx, pending_record(u), known, gone) for u in first_fetches),
        *(_recheck(source, ctx, s) for s in tracked),
    ]
    updates = [u for batch in await asyncio.gather(*jobs) for u in batch]
    return _moves_are_not_removals(updates)


def _moves_are_not_removals(updates: list[StatementUpdate]) -> list[StatementUpdate]:
    """A statement found at a new URL is `moved`; its old URL answering 404 is no `removed`."""
    moved = {u.url for u in updates if isinstance(u, StatusChange) and u.status == "moved"}
    return [
        StatusChange(u.url, "moved", events=[e for e in u.events if e.event != "removed"])
        if u.url in moved and isinstance(u, Removed)
        else u
        for u in updates
    ]


async def _first_fetch(
    source: Source,
    ctx: CheckContext,
    pending: Discovered,
    known: dict[str, StatementRecord],
    gone_from_listing: Sequence[StatementRecord],
) -> list[StatementUpdate]:
    """Fetch a newly listed statement: its baseline, announced as `new` or `moved`."""
    try:
        update = await check_statement(
            source, pending.url, None, ctx, fallback_text=pending.summary
        )
    except StatementError as exc:
        error = Event("error", source.name, pending.url, title=pending.title, error=str(exc))
        return [CheckFailed(pending.url, events=[error])]
    assert isinstance(update, NewVersion)  # a statement never fetched has no old version
    snapshot = update.snapshot
    alias_of = _alias_of(pending.url, snapshot, known)
    if alias_of is not None:
        # The page names a statement already tracked as its own (rel=canonical, or a
        # redirect to it): the same statement reached by another link, nothing new.
        log.info("%s: %s is %s under another URL", source.name, pending.url, alias_of.url)
        return [StatusChange(pending.url, "alias", title=pending.title)]
    if pending.announce_as == "baseline":
        return [update]
    moved_from = await _moved_from(snapshot, gone_from_listing, ctx)
    title = snapshot.title or pending.title
    if moved_from is not None:
        event = Event(
            "moved",
            source.name,
            pending.url,
            title=title,
            version=1,
            moved_from=moved_from.url,
            published=snapshot.published,
        )
        return [replace(update, events=[event]), StatusChange(moved_from.url, "moved")]
    event = Event(
        "new",
        source.name,
        pending.url,
        title=title,
        version=1,
        published=snapshot.published or pending.listed_published,
        summary=_summary(snapshot.text),
    )
    return [replace(update, events=[event])]


async def _recheck(
    source: Source, ctx: CheckContext, previous: StatementRecord
) -> list[StatementUpdate]:
    try:
        update = await check_statement(source, previous.url, previous, ctx)
    except StatementError as exc:
        error = Event("error", source.name, previous.url, title=previous.title, error=str(exc))
        return [CheckFailed(previous.url, events=[error])]
    return [update]


def _alias_of(
    url: str, snapshot: NewSnapshot, known: dict[str, StatementRecord]
) -> StatementRecord | None:
    """The tracked statement this page says it is, when that is another URL."""
    for claimed in (snapshot.canonical_url, snapshot.final_url):
        if claimed is None:
            continue
        record = known.get(canonical_url(claimed))
        if record is not None and record.url != url and record.version > 0:
            return record
    return None


async def _moved_from(
    snapshot: NewSnapshot, candidates: Sequence[StatementRecord], ctx: CheckContext
) -> StatementRecord | None:
    """The statement that left the listing and whose text this new one repeats, if any."""
    best: tuple[float, StatementRecord | None] = (0.0, None)
    for candidate in candidates:
        last = await ctx.snapshot(candidate.id)
        if last is None:
            continue
        if last.text_hash == snapshot.text_hash:
            return candidate
        score = fuzz.ratio(last.normalized, snapshot.normalized) / 100
        if score >= MOVED_SIMILARITY and score > best[0]:
            best = (score, candidate)
    return best[1]


def _summary(text: str) -> str:
    """The start of a statement, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= SUMMARY_CHARS:
        return flat
    return flat[:SUMMARY_CHARS].rsplit(" ", 1)[0] + "…"
