"""Host politeness: a least spacing between requests to one host, as a wrapper of any fetcher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from monitor.fetch.base import Fetcher, FetchRequest, Page


class Spacing(Protocol):
    """Hands out the start times of requests per host; `spacing` seconds apart."""

    spacing: float

    async def wait(self, url: str) -> None:
        """Sleep until this request to the URL's host may start."""
        ...


class HostSpacing:
    """Hands out request start times at least `spacing` seconds apart per host, first come
    first served."""

    def __init__(self, spacing: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.spacing = spacing
        self._clock = clock
        self._next: dict[str, float] = {}

    async def wait(self, url: str) -> None:
        """Sleep until this request to the URL's host may start."""
        if self.spacing <= 0:
            return
        key = origin_of(url)
        now = self._clock()
        start = max(now, self._next.get(key, now))
        # Reserve the slot before sleeping, so waiters queue in order instead of racing.
        self._next[key] = start + self.spacing
        self._forget_idle(now)
        if start > now:
            await asyncio.sleep(start - now)

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
        await self.spacing.wait(request.url)
        return await self.inner.fetch(request)
