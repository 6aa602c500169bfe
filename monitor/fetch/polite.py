"""Host politeness: a least spacing between requests to one host, as a wrapper of any fetcher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Protocol

import httpx

from monitor.fetch.base import Fetcher, FetchRequest, Page

# Who waits for a host's turn is not working yet: a check's time limit must not run out
# while it queues behind its host's other requests. A check sets this to hear of each wait
# (seconds) before it begins; the tasks it starts inherit it.
POLITENESS_WAIT: ContextVar[Callable[[float], None] | None] = ContextVar(
    "politeness_wait", default=None
)


class Spacing(Protocol):
    """Hands out the start times of requests per host; `spacing` seconds apart."""

    spacing: float

    async def reserve(self, url: str) -> float:
        """Reserve the next turn of the URL's host; returns the seconds until it."""
        ...


class HostSpacing:
    """Hands out request start times at least `spacing` seconds apart per host, first come
    first served."""

    def __init__(self, spacing: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.spacing = spacing
        self._clock = clock
        self._next: dict[str, float] = {}

    async def reserve(self, url: str) -> float:
        """Reserve the next turn of the URL's host; returns the seconds until it."""
        if self.spacing <= 0:
            return 0.0
        key = origin_of(url)
        now = self._clock()
        start = max(now, self._next.get(key, now))
        # Reserved before anyone sleeps, so waiters queue in order instead of racing.
        self._next[key] = start + self.spacing
        self._forget_idle(now)
        return start - now

    def _forget_idle(self, now: float) -> None:
        # Hosts whose last slot has passed need no entry: keeps the map as small as the
        # set of hosts being fetched right now, over weeks of runs.
        if len(self._next) > 256:
            self._next = {k: v for k, v in self._next.items() if v > now}


def origin_of(url: str) -> str:
    """`host:port` of a URL: the key of the per-host limits (the HTTP fetcher uses the same)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 0)
    return f"{parsed.host}:{port}"


class PoliteFetcher:
    """Any fetcher, with a minimum spacing between requests to the same host.

    The spacing applies to each `fetch` (one page, redirects and retries included); the
    wrapped fetcher's own concurrency caps still hold. Entering and leaving it enters and
    leaves the wrapped fetcher.
    """

    def __init__(self, inner: Fetcher, spacing: Spacing) -> None:
        self.inner = inner
        self.spacing = spacing

    async def __aenter__(self) -> PoliteFetcher:
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inner.__aexit__(*exc)

    async def fetch(self, request: FetchRequest) -> Page:
        """Wait for the host's turn, then fetch through the wrapped fetcher."""
        delay = await self.spacing.reserve(request.url)
        if delay > 0:
            heard = POLITENESS_WAIT.get()
            if heard is not None:
                heard(delay)
            await asyncio.sleep(delay)
        return await self.inner.fetch(request)
