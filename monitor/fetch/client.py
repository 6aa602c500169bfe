"""Fetch pages over HTTP politely and defensively (size caps, timeouts, retries, charsets).

One `Fetcher` owns the transports (connection pools, HTTP/2 where offered) for a whole run:
our own HTTP/1.1 transport (`http11.py`) on the socket layer of `streams.py` under the
network guard, and httpx's own transport for fetches through a proxy. Each `fetch` follows
redirects itself (so every hop gets the same caps and retries), retries what is worth
retrying within one deadline for the whole fetch (`fetch_deadline`), and turns every failure
into a `FetchError` subclass whose message names the URL (credentials hidden).

Decisions worth knowing:

- Bodies are decompressed here, not by httpx. httpx's decoders inflate a whole network chunk
  at once (a 64 KB gzip chunk can become 64 MB, a brotli one far more), so we advertise only
  gzip and deflate and inflate in 64 KB pieces, counting against `max_bytes` as we go: a
  decompression bomb is stopped after about `max_bytes` of output, with memory to match.
- `accept="html"` takes text/html and application/xhtml+xml. text/plain, octet-stream or a
  missing type are taken only when the body looks like HTML (servers often mislabel pages);
  a real plain-text document is refused, because extraction reads HTML.
- Retried: timeouts, broken connections, 408, 429, 500, 502, 503, 504. Everything else fails
  at once; 404 and 410 in particular, which the pipeline reports as a removed statement. A
  wait between attempts that would end past the fetch deadline is not started.
- Every answer without a body (a 304, an empty redirect) is still read to its end: only
  then does its keep-alive connection go back to the pool.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import importlib
import random
import re
import ssl
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import Any

import httpcore
import httpx

from monitor.clock import retry_after_seconds
from monitor.fetch.base import (
    Accept,
    ConfigurationError,
    ConnectionFailed,
    FetchError,
    FetchRequest,
    FetchTimeout,
    HTTPStatusError,
    Page,
    ResponseTooLarge,
    TooManyRedirects,
    UnsupportedContent,
    Validators,
    mask_secrets,
)
from monitor.fetch.botwall import BotWallError, detect_bot_wall
from monitor.fetch.guard import (
    GuardedBackend,
    NetworkGuard,
    NetworkPolicy,
    NetworkRefused,
    ip_literal,
)
from monitor.fetch.http11 import Http11Transport, port_of
from monitor.sources.urls import DEFAULT_PORTS, redact_url

__all__ = [
    "Accept",
    "BotWallError",
    "ConnectionFailed",
    "FetchError",
    "FetchSettings",
    "FetchTimeout",
    "HTTPStatusError",
    "HttpFetcher",
    "Page",
    "ResponseTooLarge",
    "TooManyRedirects",
    "UnsupportedContent",
    "Validators",
]


@dataclass(frozen=True)
class FetchSettings:
    """How pages are fetched; built from the `[defaults]` table of the configuration."""

    user_agent: str = "statement-monitor/0.1"
    timeout: float = 30.0  # connect / read / write / pool timeout of one request, seconds
    total_timeout: float = 120.0  # one whole attempt including the streamed body
    # the whole fetch of one URL: its attempts, the waits between them, its redirects
    fetch_deadline: float = 120.0
    max_bytes: int = 10_000_000  # cap on the (decompressed) body
    max_redirects: int = 10
    retries: int = 2  # extra attempts after a timeout, a 5xx, or a 429
    backoff: float = 1.0  # base of the exponential backoff between attempts, seconds
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for: the fetch fails
    max_connections: int = 20  # global concurrency cap
    per_host: int = 4  # concurrency cap per host
    http2: bool = True
    # networks beyond the public internet and the source's own that fetches may reach
    allow_networks: tuple[str, ...] = ()
    browser: str = "/usr/bin/chromium"  # the Chromium executable for `render = true`
    browser_pages: int = 2  # pages rendered at once


# ---------------------------------------------------------------------------------------------
# Policy tables
# ---------------------------------------------------------------------------------------------

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = HTML_TYPES | {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/x-rss+xml",
    "application/x-atom+xml",
}
# Types servers put on anything: the body is read and sniffed instead of trusted.
GENERIC_TYPES = frozenset(
    {"", "text/plain", "application/octet-stream", "binary/octet-stream", "application/unknown"}
)

ACCEPT_HEADERS: dict[Accept, str] = {
    "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
    "feed": (
        "application/rss+xml,application/atom+xml,application/rdf+xml;q=0.9,"
        "application/xml;q=0.9,text/xml;q=0.9,text/html;q=0.5,*/*;q=0.1"
    ),
}
WANTED: dict[Accept, str] = {"html": "an HTML page", "feed": "an RSS/Atom feed or HTML page"}

_PIECE = 64 * 1024  # largest piece of decompressed output produced at once
_HEAD = 8 * 1024  # how far into a document we look for a charset declaration or sniff
_DISCARD_LIMIT = 64 * 1024  # unused bodies up to this size are read to keep the connection
_DISCARD_TIMEOUT = 1.0  # seconds; an unused body is never worth waiting longer for


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Redirect:
    location: httpx.URL


@dataclass(frozen=True)
class _Response:
    url: httpx.URL
    status: int
    reason: str
    headers: httpx.Headers
    media_type: str = ""
    body: bytes = b""
    raw_body: bytes | None = None
    request_headers: tuple[tuple[str, str], ...] = ()
    http_version: str = "HTTP/1.1"


class _Client:
    """One httpx transport (its connection pool) with what httpx's AsyncClient added on top
    that a fetch needs: the default headers, the timeouts, a cookie jar, and Basic auth from
    a URL's credentials.

    httpx's client also follows redirects, runs auth flows and event hooks, and keeps
    elapsed times; fetches follow redirects themselves and use none of the rest, and
    skipping that layer saves about a tenth of a millisecond per request (a fifth of what
    httpx costs a small page). Requests, responses and errors are still httpx's own.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, settings: FetchSettings) -> None:
        self.transport = transport
        # httpx's client defaults, with our agent and only the encodings we can inflate in
        # bounded pieces (see the module docstring)
        self.headers = httpx.Headers(
            {
                "Accept": "*/*",
                "Accept-Encoding": "gzip, deflate",
                "Connection": "keep-alive",
                "User-Agent": settings.user_agent,
            }
        )
        self.timeout = httpx.Timeout(settings.timeout).as_dict()
        # Cookies a server sets are sent back to it for the rest of the run, as httpx's
        # client did (a consent or bot check that sets a cookie and redirects needs that).
        self.cookies = httpx.Cookies()

    async def send(self, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
        """GET `url` with these headers over the default ones; the body is left unread."""
        merged = self.headers.copy()
        merged.update(headers)
        request = httpx.Request("GET", url, headers=merged, extensions={"timeout": self.timeout})
        if self.cookies:
            self.cookies.set_cookie_header(request)  # never over a source's own Cookie
        if url.userinfo:
            # a source URL's own credentials (others are refused before): Basic auth
            next(httpx.BasicAuth(url.username, url.password).sync_auth_flow(request))
        response = await self.transport.handle_async_request(request)
        response.request = request
        if "set-cookie" in response.headers:
            self.cookies.extract_cookies(response)
        return response

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self.transport.aclose()


class HttpFetcher:
    """The HTTP client shared by all checks of a run; a `Fetcher` (see base.py).

    Use it as `async with HttpFetcher(settings) as f: page = await f.fetch(FetchRequest(url))`.
    One httpx client is kept per proxy, TLS verification and network policy, so a
    connection opened under one source's policy is never reused under a stricter one.
    `network_backend` replaces the socket layer under the guard (tests record connects).
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        guard: NetworkGuard | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self.guard = guard or NetworkGuard(self.settings.allow_networks)
        self._backend = network_backend
        self._clients: dict[tuple[str | None, bool, NetworkPolicy], _Client] = {}
        self._open = False
        self._all = asyncio.Semaphore(self.settings.max_connections)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> HttpFetcher:
        self._open = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._open = False
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def fetch(self, request: FetchRequest) -> Page:
        """Fetch one URL; raises a FetchError subclass with a message for people.

        `request.validators` make it a conditional GET: a 304 answer gives
        `Page(not_modified=True)`. 404 and 410 raise HTTPStatusError at once (no retries)
        with `.status` set. Every hop is checked by the network guard; secrets of the
        request never appear in the error.
        """
        try:
            return await self._fetch(request)
        except FetchError as exc:
            masked = mask_secrets(str(exc), request.secrets)
            if masked != str(exc):
                exc.args = (masked,)
            raise

    async def _fetch(self, request: FetchRequest) -> Page:
        if request.accept not in ACCEPT_HEADERS:
            raise ValueError(f"accept must be 'html' or 'feed', not {request.accept!r}")
        deadline = request.deadline or self.settings.fetch_deadline
        ends = asyncio.get_running_loop().time() + deadline
        try:
            async with asyncio.timeout_at(ends):
                return await self._follow(request, ends)
        except TimeoutError as exc:
            # Only the deadline gets here: each attempt turns its own timeouts into
            # FetchTimeout, and a wait that would pass the deadline is not started.
            raise FetchTimeout(
                f"no complete answer from {redact_url(request.url)} within the fetch "
                f"deadline of {_duration(deadline)} (fetch_deadline), retries included"
            ) from exc

    async def _follow(self, request: FetchRequest, ends: float) -> Page:
        """The fetch, hop by hop through redirects, each hop with its retries."""
        url = request.url
        target = _parse_url(url)
        trusted = _trusted(request, target)
        policy = await self.guard.policy_for(trusted.host, port_of(trusted))
        client = self._client_for(request.proxy, request.verify, policy)
        visited = [target]
        while True:
            _refuse_credentials(target, trusted)
            if request.proxy is not None:
                await self._check_through_proxy(target, policy)
            outcome = await self._with_retries(client, target, request, ends)
            if isinstance(outcome, _Response):
                return _make_page(url, outcome, request.validators, request.accept)
            if len(visited) > self.settings.max_redirects:
                raise TooManyRedirects(_redirect_message(url, visited, outcome.location))
            target = _check_scheme(outcome.location, partial(_redirects_from, target))
            visited.append(target)

    async def _check_through_proxy(self, target: httpx.URL, policy: NetworkPolicy) -> None:
        """Through a proxy the connect-time check sees only the proxy: check the target here.

        The proxy resolves names itself, so this is the best that can be done: IP literals
        are refused for sure, names by what they resolve to here (when they resolve at all).
        """
        host = target.host
        if ip_literal(host) is None:
            try:
                await self.guard.check_host(host, port_of(target), policy)
            except httpcore.ConnectError:
                return  # no local DNS for it: only the proxy can resolve it
            except NetworkRefused as exc:
                raise NetworkRefused(f"{exc} (fetching {redact_url(str(target))})") from None
            return
        try:
            await self.guard.check_host(host, port_of(target), policy)
        except NetworkRefused as exc:
            raise NetworkRefused(f"{exc} (fetching {redact_url(str(target))})") from None

    def _client_for(self, proxy: str | None, verify: bool, policy: NetworkPolicy) -> _Client:
        if not self._open:
            raise RuntimeError("use the fetcher inside `async with HttpFetcher(settings) as f:`")
        key = (proxy, verify, policy)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._new_client(proxy, verify, policy)
        return client

    def _new_client(self, proxy: str | None, verify: bool, policy: NetworkPolicy) -> _Client:
        s = self.settings
        if proxy is None:
            # The guard sits where sockets are opened, so it sees the address connected to.
            backend = GuardedBackend(self.guard, policy, self._backend)
            own = Http11Transport(
                backend,
                partial(_tls_context, verify),
                http2=s.http2,
                max_idle=s.max_connections,
            )
            return _Client(own, s)
        limits = httpx.Limits(
            max_connections=s.max_connections, max_keepalive_connections=s.max_connections
        )
        try:
            transport = httpx.AsyncHTTPTransport(
                verify=_tls_context(verify),
                http2=s.http2,
                limits=limits,
                proxy=httpx.Proxy(proxy),
            )
        except ImportError as exc:
            raise ConfigurationError(
                f"the proxy {redact_url(str(proxy))} needs SOCKS support: "
                "pip install 'httpx[socks]' (the socksio package)"
            ) from exc
        except (ValueError, httpx.InvalidURL) as exc:
            raise ConfigurationError(
                f"the proxy {redact_url(str(proxy))} is unusable: {exc}"
            ) from exc
        if self._backend is not None:
            _install_backend(transport, self._backend)
        return _Client(transport, s)

    async def _with_retries(
        self, client: _Client, url: httpx.URL, request: FetchRequest, ends: float
    ) -> _Response | _Redirect:
        """One request, attempted up to `retries + 1` times before the deadline `ends`."""
        attempts = self.settings.retries + 1
        validators = request.validators
        loop = asyncio.get_running_loop()
        for attempt in range(1, attempts + 1):
            try:
                outcome = await self._attempt(client, url, request)
            except (FetchTimeout, ConnectionFailed) as exc:
                if attempt == attempts:
                    raise type(exc)(f"{exc}{_after(attempt)}") from exc
                delay = self._backoff(attempt)
                if loop.time() + delay >= ends:
                    raise type(exc)(f"{exc}{_after(attempt)}{_NO_TIME_LEFT}") from exc
            else:
                if isinstance(outcome, _Redirect) or outcome.status not in RETRYABLE_STATUSES:
                    _raise_for_status(outcome, validators, attempt)
                    return outcome
                wait = _retry_after(outcome.headers)
                if wait is not None and wait > self.settings.max_retry_after:
                    raise HTTPStatusError(
                        _wait_too_long_message(outcome, wait, self.settings.max_retry_after),
                        outcome.status,
                    )
                if attempt == attempts:
                    raise HTTPStatusError(_status_message(outcome, attempt), outcome.status)
                delay = wait if wait is not None else self._backoff(attempt)
                if loop.time() + delay >= ends:
                    raise HTTPStatusError(
                        _status_message(outcome, attempt) + _NO_TIME_LEFT, outcome.status
                    )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, so many sources failing together spread out."""
        base = min(self.settings.backoff * 2 ** (attempt - 1), self.settings.max_retry_after)
        return base * random.uniform(0.5, 1.5)

    async def _attempt(
        self, client: _Client, url: httpx.URL, request: FetchRequest
    ) -> _Response | _Redirect:
        """One request under the concurrency caps and the total deadline."""
        s = self.settings
        # The per-host slot first, so requests queued behind a busy host do not hold global
        # slots that other hosts could use.
        async with self._host_slot(url), self._all:
            try:
                async with asyncio.timeout(s.total_timeout):
                    return await self._exchange(client, url, request)
            except NetworkRefused as exc:
                raise NetworkRefused(f"{exc} (fetching {redact_url(str(url))})") from None
            except (TimeoutError, httpx.TransportError) as exc:
                raise self._failure(exc, url) from exc

    def _failure(self, exc: Exception, url: httpx.URL) -> FetchError:
        """The error, for people, of an attempt that got no usable answer (the URL is only
        redacted for the message now: on the good path it is never shown)."""
        shown = redact_url(str(url))
        s = self.settings
        if isinstance(exc, TimeoutError):
            return FetchTimeout(f"no complete answer from {shown} within {s.total_timeout:g} s")
        if isinstance(exc, httpx.ConnectTimeout):
            return FetchTimeout(f"could not connect to {shown} within {s.timeout:g} s")
        if isinstance(exc, httpx.ReadTimeout):
            return FetchTimeout(f"{shown} stopped sending for more than {s.timeout:g} s")
        if isinstance(exc, httpx.TimeoutException):
            return FetchTimeout(f"no answer from {shown} within {s.timeout:g} s")
        if isinstance(exc, httpx.ProxyError):
            return ConnectionFailed(f"the proxy refused or failed to fetch {shown}: {_reason(exc)}")
        if isinstance(exc, httpx.ConnectError):
            return ConnectionFailed(f"could not connect to {shown}: {_reason(exc)}")
        return ConnectionFailed(f"the connection to {shown} broke: {_reason(exc)}")

    def _host_slot(self, url: httpx.URL) -> asyncio.Semaphore:
        """The semaphore that caps concurrent requests to `url`'s host (and port)."""
        key = f"{url.host}:{port_of(url)}"
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(self.settings.per_host)
        return host

    async def _exchange(
        self, client: _Client, url: httpx.URL, request: FetchRequest
    ) -> _Response | _Redirect:
        """Send one GET; read the body only of a success whose type we can use."""
        accept = request.accept
        response = await client.send(url, _headers(request))
        try:
            status = response.status_code
            location = response.headers.get("location")
            if status in REDIRECT_STATUSES and location:
                await _discard_small_body(response)
                return _Redirect(_join(response.url, location))
            reason = response.reason_phrase or _phrase(status)
            if status == 304:  # the conditional GET's answer: no body, and no bot wall
                await _discard_small_body(response)  # read to its end: keeps the connection
                return _Response(response.url, status, reason, response.headers)
            if not 200 <= status < 300:
                head = await _read_small_head(response)
                _refuse_bot_wall(response, head)
                return _Response(response.url, status, reason, response.headers)
            shown = _Shown(response.url)
            declared = _media_type(response.headers.get("content-type", ""))
            _refuse_unusable_type(declared, accept, shown)
            self._refuse_announced_size(response.headers, shown)
            body, raw_body = await self._read_body(response, shown)
            media_type = _usable_type(declared, body, accept, shown)
            _refuse_bot_wall(response, body[:_BOT_WALL_HEAD])
            return _Response(
                response.url,
                status,
                reason,
                response.headers,
                media_type,
                body,
                raw_body,
                _shown_headers(response.request.headers, request.secrets),
                response.http_version,
            )
        finally:
            await response.aclose()

    def _refuse_announced_size(self, headers: httpx.Headers, shown: _Shown | str) -> None:
        """Refuse before reading when the Content-Length is already over the cap.

        The length is of the compressed body when there is one; compression never makes a
        page smaller than that by more than a few bytes, so it is over the cap too.
        """
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.settings.max_bytes:
            raise ResponseTooLarge(
                f"{shown} announces {_size(int(length))}, more than the "
                f"{_size(self.settings.max_bytes)} limit"
            )

    async def _read_body(
        self, response: httpx.Response, shown: _Shown | str
    ) -> tuple[bytes, bytes | None]:
        """The decompressed body, refused as soon as it grows past `max_bytes`, and the body
        as received when it was compressed (None otherwise)."""
        limit = self.settings.max_bytes
        decoders = _decoders_for(response.headers.get("content-encoding", ""), shown)
        parts: list[bytes] = []
        received: list[bytes] = []
        size = 0
        try:
            async for raw in response.aiter_raw():
                if decoders:
                    received.append(raw)
                for piece in _decode(decoders, raw):
                    size += len(piece)
                    if size > limit:
                        raise ResponseTooLarge(
                            f"{shown} sent more than the {_size(limit)} limit"
                            + (" once decompressed" if decoders else "")
                        )
                    parts.append(piece)
            parts.extend(_finish(decoders))
        except zlib.error as exc:
            raise FetchError(f"the compressed body from {shown} is corrupt: {exc}") from exc
        body = b"".join(parts)
        if len(body) > limit:  # the few bytes a decoder held back until the end
            raise ResponseTooLarge(f"{shown} sent more than the {_size(limit)} limit")
        return body, b"".join(received) if decoders else None


async def _discard_small_body(response: httpx.Response) -> None:
    """Read an unused small body (a redirect, an error page) so the connection can be reused.

    Closing with unread data drops the connection (and resets it); a big or slow body is
    not worth waiting for, so it is left to the close.
    """
    length = response.headers.get("content-length", "")
    # A 204, a 304 or a zero length has no body, but the connection goes back to the pool
    # only once the (empty) body is read to its end: the loop below costs nothing then.
    empty = response.status_code in (204, 304) or length == "0"
    if not empty and not (length.isdigit() and int(length) <= _DISCARD_LIMIT):
        return
    with contextlib.suppress(httpx.HTTPError, TimeoutError):
        async with asyncio.timeout(_DISCARD_TIMEOUT):
            async for _chunk in response.aiter_raw():
                pass


# ---------------------------------------------------------------------------------------------
# Requests, statuses and messages
# ---------------------------------------------------------------------------------------------


class _Shown:
    """A URL as messages show it (credentials and secret values masked), worked out only
    when a message is written: a fetch that succeeds shows nothing."""

    __slots__ = ("_text", "_url")

    def __init__(self, url: httpx.URL) -> None:
        self._url = url
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = redact_url(str(self._url))
        return self._text


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"{redact_url(str(url))} is not a valid URL: {exc}") from exc
    return _check_scheme(parsed, lambda: redact_url(url) + " is")


def _check_scheme(url: httpx.URL, context: Callable[[], str]) -> httpx.URL:
    """The URL when it is http(s) with a host; `context` starts the error message."""
    if url.scheme not in DEFAULT_PORTS or not url.host:
        raise FetchError(f"{context()} not an http(s) URL: {redact_url(str(url))}")
    return url


def _redirects_from(url: httpx.URL) -> str:
    return f"{redact_url(str(url))} redirects to"


def _join(base: httpx.URL, location: str) -> httpx.URL:
    try:
        return base.join(location)
    except httpx.InvalidURL as exc:
        raise FetchError(
            f"{redact_url(str(base))} redirects to an invalid URL {location!r}"
        ) from exc


def _headers(request: FetchRequest) -> dict[str, str]:
    """The request's headers: Accept, the source's own, its cookies, the validators."""
    headers = {"Accept": ACCEPT_HEADERS[request.accept], **request.headers}
    if request.user_agent:
        headers["User-Agent"] = request.user_agent
    if request.cookies:
        # Sent as a header, not through httpx's jar: a source's cookies go only with its
        # own requests, never to another source on the same host.
        jar = "; ".join(f"{name}={value}" for name, value in request.cookies.items())
        own = next((v for k, v in headers.items() if k.lower() == "cookie"), None)
        headers = {k: v for k, v in headers.items() if k.lower() != "cookie"}
        headers["Cookie"] = f"{own}; {jar}" if own else jar
    validators = request.validators
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _shown_headers(headers: httpx.Headers, secrets: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The request headers as they may be kept (the archive): secret values masked."""
    return tuple(
        (name, "***" if name.lower() in _SECRET_HEADERS else mask_secrets(value, secrets))
        for name, value in headers.multi_items()
    )


def _trusted(request: FetchRequest, target: httpx.URL) -> httpx.URL:
    """The URL the operator configured (whose network and credentials are vouched for)."""
    if request.origin is None or request.origin == request.url:
        return target
    try:
        return httpx.URL(request.origin)
    except (httpx.InvalidURL, TypeError):
        return target


def _refuse_credentials(target: httpx.URL, trusted: httpx.URL) -> None:
    """Refuse a link or redirect carrying credentials, unless the operator configured them.

    httpx would send `http://admin:pw@host/` with Basic auth: a hostile page could make the
    monitor log in to a device on its network with credentials of the page's choosing.
    """
    if not target.userinfo:
        return
    if target.userinfo == trusted.userinfo and target.host == trusted.host:
        return
    raise FetchError(
        f"refused {redact_url(str(target))}: the link carries credentials, and only a "
        "source's own configured URL may"
    )


_TLS_CONTEXTS: dict[bool, ssl.SSLContext] = {}


def _tls_context(verify: bool) -> ssl.SSLContext:
    """httpx's TLS settings for `verify`, built once per process.

    Loading the CA bundle takes about 30 ms, which every fetcher paid again: each shard
    process of a large check, each reload of the daemon. httpcore sets the ALPN protocols on
    the context right before each handshake, so one context serves every client.
    """
    context = _TLS_CONTEXTS.get(verify)
    if context is None:
        context = _TLS_CONTEXTS[verify] = httpx.create_ssl_context(verify=verify)
    return context


def prepare_for_fork(*, tls: bool) -> None:
    """Do now, in a process about to fork workers, the set-up each worker would repeat:
    uvloop (see monitor.cli.shards) and, with `tls` (when the workers will fetch HTTPS), the
    verifying TLS context and the asyncio half of anyio that httpcore's locks load lazily.

    Only HTTP/2 connections and proxies go through httpcore's locks (plain GETs take our own
    transport): workers fetching only over plain HTTP never load anyio's backend, and
    importing it here cost 18 ms of the start-up every worker waits for.
    """
    modules = ["uvloop"]
    if tls:
        _tls_context(True)
        modules.append("anyio._backends._asyncio")
    for module in modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def _install_backend(
    transport: httpx.AsyncHTTPTransport, backend: httpcore.AsyncNetworkBackend
) -> None:
    """Put our network backend under an httpx transport (httpx offers no argument for it)."""
    pool: Any = getattr(transport, "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version has no network backend to guard")
    pool._network_backend = backend


_BOT_WALL_HEAD = 32 * 1024  # how much of a page the bot-wall signatures look at


async def _read_small_head(response: httpx.Response) -> bytes:
    """The start of an error body (for bot-wall signatures), read briefly and within a cap.

    Reading it also keeps the connection reusable, as `_discard_small_body` does: even a
    304's empty body is read to its end, or its connection is closed instead of reused.
    """
    parts: list[bytes] = []
    size = 0
    with contextlib.suppress(httpx.HTTPError, TimeoutError, zlib.error, FetchError):
        async with asyncio.timeout(_DISCARD_TIMEOUT):
            decoders = _decoders_for(response.headers.get("content-encoding", ""), "")
            async for chunk in response.aiter_raw():
                for piece in _decode(decoders, chunk):
                    parts.append(piece)
                    size += len(piece)
                if size >= _BOT_WALL_HEAD:
                    break
    return b"".join(parts)[:_BOT_WALL_HEAD]


def _refuse_bot_wall(response: httpx.Response, head: bytes) -> None:
    text = head.decode("utf-8", "replace")
    wall = detect_bot_wall(response.status_code, response.headers.multi_items(), text)
    if wall is not None:
        raise BotWallError(wall, redact_url(str(response.url)), response.status_code)


def _raise_for_status(outcome: _Response | _Redirect, validators: Validators, attempt: int) -> None:
    """Raise HTTPStatusError unless the outcome is a redirect, a success or an expected 304."""
    if isinstance(outcome, _Redirect) or 200 <= outcome.status < 300:
        return
    if outcome.status == 304 and (validators.etag or validators.last_modified):
        return
    message = _status_message(outcome, attempt)
    if outcome.status == 304:
        message += " to a request that was not conditional"
    elif 300 <= outcome.status < 400:
        message += " without a redirect to follow"
    raise HTTPStatusError(message, outcome.status)


def _status_message(outcome: _Response, attempt: int) -> str:
    shown = redact_url(str(outcome.url))
    return f"HTTP {outcome.status} {outcome.reason} from {shown}{_after(attempt)}"


def _wait_too_long_message(outcome: _Response, wait: float, limit: float) -> str:
    until = datetime.now(UTC).timestamp() + wait
    when = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{_status_message(outcome, 1)}: the server asks to wait {_duration(wait)} "
        f"(until {when}), longer than the {_duration(limit)} this monitor waits; "
        "try again after that"
    )


def _redirect_message(url: str, visited: Sequence[httpx.URL], location: httpx.URL) -> str:
    shown = redact_url(url)
    hops = len(visited) - 1
    if location in visited:
        return (
            f"redirect loop at {shown}: it leads back to {redact_url(str(location))} "
            f"(gave up after {hops} redirects)"
        )
    return f"more than {hops} redirects at {shown} (the last to {redact_url(str(location))})"


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asks us to wait (Retry-After as seconds or an HTTP date), if any."""
    return retry_after_seconds(headers.get("retry-after"))


# A retry whose wait would end past the fetch deadline is not waited for: the fetch fails
# now with the last answer, which says more than "deadline passed".
_NO_TIME_LEFT = "; no retry: the wait would pass the fetch deadline (fetch_deadline)"


def _after(attempt: int) -> str:
    return f" (after {attempt} attempts)" if attempt > 1 else ""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _reason(exc: BaseException) -> str:
    """The most specific readable cause: httpx often wraps an OSError that says more."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g} MB"
    if n >= 1_000:
        return f"{n / 1_000:.3g} kB"
    return f"{n} bytes"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:g} s"


# ---------------------------------------------------------------------------------------------
# Content types
# ---------------------------------------------------------------------------------------------


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _refuse_unusable_type(declared: str, accept: Accept, shown: _Shown | str) -> None:
    """Refuse, before reading the body, a declared type this kind of source cannot use."""
    accepted = HTML_TYPES if accept == "html" else FEED_TYPES
    if declared not in accepted and declared not in GENERIC_TYPES:
        raise UnsupportedContent(f"{shown} is {declared}, not {WANTED[accept]}")


def _usable_type(declared: str, body: bytes, accept: Accept, shown: _Shown | str) -> str:
    """The page's media type, sniffed from the body when the declared one says nothing."""
    if declared not in GENERIC_TYPES or not body:
        return declared
    head = body[:_HEAD].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if accept == "feed" and _looks_like_feed(head):
        return "application/xml"
    if _looks_like_html(head):
        return "text/html"
    kind = declared or "of no declared type"
    raise UnsupportedContent(f"{shown} is {kind} and does not look like {WANTED[accept]}")


def _looks_like_html(head: bytes) -> bool:
    return head.startswith((b"<!doctype html", b"<html")) or bool(
        re.search(rb"<(html|head|body|title|meta|p|div|article)[\s>/]", head)
    )


def _looks_like_feed(head: bytes) -> bool:
    return head.startswith(b"<?xml") or bool(re.search(rb"<(rss|feed|rdf:rdf)[\s>]", head))


# ---------------------------------------------------------------------------------------------
# Decompression, in bounded pieces
# ---------------------------------------------------------------------------------------------


class _Inflater:
    """gzip or deflate decoding that never produces more than `_PIECE` bytes at once."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._z = zlib.decompressobj(wbits)
        # "deflate" should be zlib-wrapped, but some servers send raw deflate.
        self._raw_fallback = raw_fallback

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._raw_fallback:
            self._raw_fallback = False
            try:
                first = self._z.decompress(data, _PIECE)
            except zlib.error:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                first = self._z.decompress(data, _PIECE)
            yield first
            data = self._z.unconsumed_tail
        while data and not self._z.eof:
            yield self._z.decompress(data, _PIECE)
            data = self._z.unconsumed_tail

    def finish(self) -> bytes:
        return self._z.flush()


def _decoders_for(content_encoding: str, shown: _Shown | str) -> list[_Inflater]:
    """Decoders in the order to apply them (the reverse of the Content-Encoding list)."""
    decoders: list[_Inflater] = []
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
        if coding in ("gzip", "x-gzip"):
            decoders.append(_Inflater(16 + zlib.MAX_WBITS))
        elif coding == "deflate":
            decoders.append(_Inflater(zlib.MAX_WBITS, raw_fallback=True))
        elif coding in ("br", "zstd", "compress", "x-compress"):
            raise FetchError(
                f"{shown} sent its body compressed as {coding!r}, which was not asked for"
            )
        # Anything else ("identity", junk such as "utf-8") is ignored, as browsers do.
    return decoders


def _decode(decoders: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    if not decoders:
        if data:
            yield data
        return
    for piece in decoders[0].decode(data):
        yield from _decode(decoders[1:], piece)


def _finish(decoders: Sequence[_Inflater]) -> Iterator[bytes]:
    for index, decoder in enumerate(decoders):
        yield from _decode(decoders[index + 1 :], decoder.finish())


# ---------------------------------------------------------------------------------------------
# Pages and charsets
# ---------------------------------------------------------------------------------------------


def _make_page(url: str, response: _Response, validators: Validators, accept: Accept) -> Page:
    etag = response.headers.get("etag")
    last_modified = response.headers.get("last-modified")
    if response.status == 304:
        # A 304 may omit the validators; the previous ones still describe the stored body.
        return Page(
            url=url,
            final_url=str(response.url),
            status=304,
            content_type="",
            body=b"",
            text="",
            encoding="",
            etag=etag or validators.etag,
            last_modified=last_modified or validators.last_modified,
            content_hash="",
            not_modified=True,
        )
    header_charset = _charset_param(response.headers.get("content-type", ""))
    text, encoding = _decode_text(response.body, header_charset, accept=accept)
    return Page(
        url=url,
        final_url=str(response.url),
        status=response.status,
        content_type=response.media_type,
        body=response.body,
        text=text,
        encoding=encoding,
        etag=etag,
        last_modified=last_modified,
        content_hash=hashlib.sha256(response.body).hexdigest(),
        headers=_raw_headers(response.headers),
        request_headers=response.request_headers,
        http_version=response.http_version,
        reason=response.reason,
        raw_body=response.raw_body,
    )


def decode_stored(
    body: bytes, content_type: str, content_encoding: str = "", accept: Accept = "html"
) -> str:
    """The text of a stored response body (the archive's), decoded as a fetch decodes it:
    its Content-Encoding undone, then its charset found the same way."""
    decoders = _decoders_for(content_encoding, "the archived page")
    inflated = b"".join([*_decode(decoders, body), *_finish(decoders)]) if decoders else body
    return _decode_text(inflated, _charset_param(content_type), accept=accept)[0]


def _raw_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers.raw)


# Labels that browsers read as a superset encoding (WHATWG Encoding Standard); pages rely
# on it, e.g. "iso-8859-1" pages full of cp1252 curly quotes.
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([a-z0-9._:-]+)""", re.I)
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _decode_text(
    body: bytes, declared: str | None = None, *, accept: Accept = "html"
) -> tuple[str, str]:
    """Decode a document; returns (text, Python codec name used). Never raises.

    Order: byte-order mark, the declared charset (HTTP header), a declaration in the
    document (<meta> or the XML declaration), then UTF-8, then detection. A declaration
    that the bytes contradict is not trusted; the last resort decodes with replacement.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, "replace"), codec
    label = _codec(declared) or _document_charset(body[:_HEAD], accept)
    for candidate in (label, "utf-8"):
        if candidate:
            try:
                return body.decode(candidate), candidate
            except UnicodeDecodeError:
                pass  # the label is wrong, or the page mixes encodings: look closer
    if _mostly_utf8(body):
        return body.decode("utf-8", "replace"), "utf-8"
    import charset_normalizer  # 7 ms to import, for the rare page no label describes

    detected = charset_normalizer.from_bytes(body).best()
    guess = _codec(detected.encoding) if detected is not None else None
    if guess is not None:
        return body.decode(guess, "replace"), guess
    fallback = label or "utf-8"
    return body.decode(fallback, "replace"), fallback


def _charset_param(content_type: str) -> str | None:
    match = re.search(r"""charset\s*=\s*["']?([^"';\s]+)""", content_type, re.I)
    return match.group(1) if match else None


def _document_charset(head: bytes, accept: Accept) -> str | None:
    xml = _XML_ENCODING.search(head.lstrip())
    meta = _META_CHARSET.search(head)
    found = [m.group(1).decode("ascii") for m in (xml, meta) if m]
    if accept == "html":
        found.reverse()  # a page's <meta> wins over an XHTML XML declaration
    for label in found:
        codec = _codec(label)
        if codec is not None:
            # A byte-oriented declaration of UTF-16 cannot be true (we could read it as
            # ASCII); browsers take UTF-8 then.
            return "utf-8" if codec.startswith("utf-16") else codec
    return None


def _codec(label: str | None) -> str | None:
    """The Python codec for a charset label, widened to what browsers use; None if unknown."""
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().strip("\"'"))
    except LookupError:
        return None
    # "base64" or "rot13" are codecs but not charsets; bytes.decode checks this same flag.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return _SUPERSETS.get(info.name, info.name)


def _mostly_utf8(body: bytes) -> bool:
    """True when the bytes are UTF-8 with a few stray bytes (pasted cp1252 in a UTF-8 page)."""
    valid = len(_UTF8_MULTIBYTE.findall(body))
    invalid = body.decode("utf-8", "replace").count("\ufffd") - body.count(b"\xef\xbf\xbd")
    return valid > invalid
