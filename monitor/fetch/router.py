"""The fetcher a run uses: plain HTTP, or the browser for requests that ask to be rendered.

The browser starts at the first rendered request, so a run without `render = true` sources
never launches Chromium (nor needs Playwright installed).
"""

from __future__ import annotations

import asyncio

from monitor.fetch.base import Fetcher, FetchRequest, Page
from monitor.fetch.client import FetchSettings, HttpFetcher
from monitor.fetch.guard import NetworkGuard


class RoutingFetcher:
    """A `Fetcher` sending each request to the HTTP client or, when rendered, the browser."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        http: Fetcher | None = None,
        browser: Fetcher | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self.guard = NetworkGuard(self.settings.allow_networks)
        self.http: Fetcher = http or HttpFetcher(self.settings, guard=self.guard)
        self._browser = browser
        self._browser_entered = False
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> RoutingFetcher:
        await self.http.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._browser is not None and self._browser_entered:
                self._browser_entered = False
                await self._browser.__aexit__(*exc)
        finally:
            await self.http.__aexit__(*exc)

    async def fetch(self, request: FetchRequest) -> Page:
        """Fetch through the browser when `request.render` is set, else over HTTP."""
        if request.render is None:
            return await self.http.fetch(request)
        browser = await self._open_browser()
        return await browser.fetch(request)

    async def _open_browser(self) -> Fetcher:
        async with self._lock:
            if self._browser is None:
                from monitor.fetch.browser import BrowserFetcher  # Playwright loads only here

                self._browser = BrowserFetcher(self.settings, guard=self.guard)
            if not self._browser_entered:
                await self._browser.__aenter__()
                self._browser_entered = True
            return self._browser


def open_fetcher(settings: FetchSettings) -> RoutingFetcher:
    """The fetcher of one run or daemon: use as `async with open_fetcher(s) as fetcher:`."""
    return RoutingFetcher(settings)
