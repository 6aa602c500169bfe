"""Rendering pages in a real Chromium (Debian's `chromium`) through Python Playwright.

A source with `render = true` is fetched here: the DOM after the page's scripts ran becomes
a `Page`, which then goes through the same extract and compare path as any fetched page.

- One browser per run or daemon, launched at the first rendered request, with a fresh
  profile; at most `browser_pages` pages render at once. A browser that crashed or was
  killed is launched again at the next request.
- Each page gets its own browser context (cookies, headers, user agent, proxy and TLS
  checking of its source, nothing shared with other sources), closed afterwards.
- Every request the page makes goes through a route handler: images, fonts and media are
  not downloaded; anything but http(s) is refused; the network guard checks the address
  (see guard.py), and redirects are answered hop by hop so each hop is checked too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.fetch.base import (
    ConfigurationError,
    ConnectionFailed,
    FetchError,
    FetchRequest,
    FetchTimeout,
    HTTPStatusError,
    Page,
    RenderOptions,
    ResponseTooLarge,
    mask_secrets,
)
from monitor.fetch.botwall import BotWallError, detect_bot_wall
from monitor.fetch.client import FetchSettings
from monitor.fetch.guard import NetworkGuard, NetworkPolicy, NetworkRefused
from monitor.sources.urls import connect_port, redact_url

log = logging.getLogger(__name__)

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",  # QUIC would bypass the route handler's view of connections
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_MAX_REDIRECTS = 10


class BrowserFetcher:
    """A `Fetcher` rendering each request in headless Chromium."""

    def __init__(self, settings: FetchSettings | None = None, *, guard: NetworkGuard | None = None):
        self.settings = settings or FetchSettings()
        self.guard = guard or NetworkGuard(self.settings.allow_networks)
        self._pages = asyncio.Semaphore(self.settings.browser_pages)
        self._playwright: Any = None
        self._browser: Any = None
        self._launching = asyncio.Lock()
        self.launches = 0  # how many times a browser was started (restarts show here)

    async def __aenter__(self) -> BrowserFetcher:
        try:
            from playwright.async_api import async_playwright
        except ImportError:
            raise ConfigurationError(
                "render = true needs Playwright: pip install 'statement-monitor[browser]'"
            ) from None
        executable = self.settings.browser
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            found = shutil.which(executable)
            if found is None:
                raise ConfigurationError(
                    f"render = true needs Chromium, and there is none at {executable}: install "
                    "Debian's `chromium` package (apt-get install chromium) or set "
                    "[defaults] browser to its path"
                )
            executable = found
        self._executable = executable
        self._playwright = await async_playwright().start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close_browser()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
            self._playwright = None

    async def _close_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()

    async def _ensure_browser(self) -> Any:
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                log.warning("the browser stopped; starting it again")
            await self._close_browser()
            if self._playwright is None:
                raise RuntimeError("use the BrowserFetcher inside `async with`")
            try:
                # A plain launch gets a fresh temporary user-data dir from Playwright (removed
                # when the browser closes): nothing carries over between runs.
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self._executable,
                    args=list(CHROMIUM_FLAGS),
                    headless=True,
                    chromium_sandbox=False,
                )
            except Exception as exc:
                raise ConfigurationError(
                    f"could not start Chromium ({self._executable}): {str(exc).splitlines()[0]}"
                ) from exc
            self.launches += 1
            return self._browser

    async def fetch(self, request: FetchRequest) -> Page:
        """Render one page; raises a FetchError subclass with a message for people."""
        options = request.render or RenderOptions()
        shown = redact_url(request.url)
        try:
            async with self._pages:
                try:
                    async with asyncio.timeout(options.timeout):
                        return await self._render(request, options)
                except TimeoutError:
                    raise FetchTimeout(
                        f"{shown} did not finish rendering within {options.timeout:g} s"
                    ) from None
        except FetchError as exc:
            masked = mask_secrets(str(exc), request.secrets)
            if masked != str(exc):
                exc.args = (masked,)
            raise

    async def _render(self, request: FetchRequest, options: RenderOptions) -> Page:
        from playwright.async_api import Error as PlaywrightError

        browser = await self._ensure_browser()
        trusted = urlsplit(request.trusted_url)
        policy = await self.guard.policy_for(trusted.hostname or "", connect_port(trusted))
        refusals: list[NetworkRefused | FetchError] = []
        final_urls: list[str] = []  # where the main document's redirects ended
        try:
            context = await browser.new_context(**_context_options(request))
        except PlaywrightError as exc:
            await self._close_browser()  # most likely the browser died: relaunch next time
            raise ConnectionFailed(f"the browser failed: {str(exc).splitlines()[0]}") from exc
        try:
            if request.cookies:
                await context.add_cookies(
                    [
                        {"name": k, "value": v, "url": request.url}
                        for k, v in request.cookies.items()
                    ]
                )

            async def handle(route: Any) -> None:
                await self._route(route, request, options, policy, trusted, refusals, final_urls)

            await context.route("**/*", handle)
            page = await context.new_page()
            try:
                response = await page.goto(request.url, wait_until="load")
            except PlaywrightError as exc:
                if refusals:
                    raise refusals[0] from None
                raise ConnectionFailed(
                    f"could not load {redact_url(request.url)}: {str(exc).splitlines()[0]}"
                ) from None
            if refusals:  # the page (or a hop of its redirects) was refused by the guard
                raise refusals[0]
            if response is None:
                raise FetchError(f"{redact_url(request.url)} gave the browser no response")
            if options.wait_for:
                try:
                    await page.wait_for_selector(options.wait_for, state="attached")
                except PlaywrightError as exc:
                    raise FetchError(
                        f"{redact_url(page.url)}: {options.wait_for!r} never appeared "
                        f"({str(exc).splitlines()[0]})"
                    ) from None
            if options.wait:
                await asyncio.sleep(options.wait)
            html = await page.content()
            final_url = final_urls[-1] if final_urls else page.url
            return await self._page(request, response, final_url, html)
        finally:
            with contextlib.suppress(Exception):
                await context.close()

    async def _page(self, request: FetchRequest, response: Any, final_url: str, html: str) -> Page:
        status = response.status
        headers = [(h["name"], h["value"]) for h in await response.headers_array()]
        shown = redact_url(final_url)
        wall = detect_bot_wall(status, headers, html[: 32 * 1024])
        if wall is not None:
            raise BotWallError(wall, shown, status)
        if status >= 400:
            raise HTTPStatusError(f"HTTP {status} {response.status_text} from {shown}", status)
        body = html.encode("utf-8")
        if len(body) > self.settings.max_bytes:
            raise ResponseTooLarge(f"{shown} rendered to more than the size limit")
        lookup = {name.lower(): value for name, value in headers}
        return Page(
            url=request.url,
            final_url=final_url,
            status=status,
            content_type="text/html",
            body=body,
            text=html,
            encoding="utf-8",
            etag=lookup.get("etag"),
            last_modified=lookup.get("last-modified"),
            content_hash=hashlib.sha256(body).hexdigest(),
        )

    async def _route(
        self,
        route: Any,
        request: FetchRequest,
        options: RenderOptions,
        policy: NetworkPolicy,
        trusted: Any,
        refusals: list[NetworkRefused | FetchError],
        final_urls: list[str],
    ) -> None:
        """Let one request of the page through only when it is allowed; follow redirects
        hop by hop so every hop is checked."""
        sent = route.request
        if sent.resource_type in options.block:
            await route.abort("blockedbyclient")
            return
        url = sent.url
        log.debug("route %s %s nav=%s", sent.resource_type, url, sent.is_navigation_request())
        for _hop in range(_MAX_REDIRECTS + 1):
            problem = await self._refusal(url, policy, trusted)
            if problem is not None:
                if sent.is_navigation_request():
                    refusals.append(problem)
                log.info("browser request refused: %s", problem)
                await route.abort("blockedbyclient")
                return
            try:
                answer = await route.fetch(url=url, max_redirects=0)
            except Exception:
                await route.abort("failed")
                return
            location = answer.headers.get("location")
            if 300 <= answer.status < 400 and location:
                # Followed here, never by the browser: Chromium follows a fulfilled redirect
                # without asking the route handler, so its hops would go unchecked.
                url = urljoin(url, location)
                continue
            if sent.is_navigation_request() and sent.frame.parent_frame is None:
                final_urls.append(url)
            await route.fulfill(response=answer)
            return
        await route.abort("failed")

    async def _refusal(self, url: str, policy: NetworkPolicy, trusted: Any) -> FetchError | None:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return FetchError(f"refused {redact_url(url)}: only http and https are fetched")
        if (parts.username or parts.password) and (parts.netloc != trusted.netloc):
            return FetchError(
                f"refused {redact_url(url)}: the link carries credentials, and only a "
                "source's own configured URL may"
            )
        try:
            await self.guard.check_host(parts.hostname, connect_port(parts), policy)
        except NetworkRefused as exc:
            return NetworkRefused(f"{exc} (fetching {redact_url(url)})")
        except Exception:
            return None  # unresolvable: the browser's own fetch fails with its message
        return None


def _context_options(request: FetchRequest) -> dict[str, Any]:
    options: dict[str, Any] = {
        "ignore_https_errors": not request.verify,
        "java_script_enabled": True,
        "service_workers": "block",  # a service worker's requests would bypass the route
    }
    if request.user_agent:
        options["user_agent"] = request.user_agent
    if request.headers:
        options["extra_http_headers"] = dict(request.headers)
    if request.proxy:
        parts = urlsplit(request.proxy)
        proxy: dict[str, str] = {"server": f"{parts.scheme}://{parts.hostname}:{parts.port}"}
        if parts.username:
            proxy["username"] = parts.username
            proxy["password"] = parts.password or ""
        options["proxy"] = proxy
    return options
