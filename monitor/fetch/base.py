"""The fetcher seam: a `FetchRequest` goes in, a `Page` comes out.

Every way of fetching (the httpx client, the headless browser, the politeness wrapper, the
test double) implements the `Fetcher` protocol, so the pipeline builds one request from a
source and never knows which of them answers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, Self

Accept = Literal["html", "feed"]


@dataclass(frozen=True)
class Validators:
    """HTTP validators from the previous fetch, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class RenderOptions:
    """How a page is rendered in the browser (a source with `render = true`)."""

    wait_for: str | None = None  # a CSS selector to wait for before reading the DOM
    wait: float = 0.0  # seconds to wait after the page settled (and `wait_for` matched)
    timeout: float = 30.0  # the whole rendering of one page, seconds
    # Resource types never downloaded: the DOM is what is read, and these are most bytes.
    block: frozenset[str] = frozenset({"image", "font", "media"})


@dataclass(frozen=True)
class FetchRequest:
    """One page to fetch, with everything the source says about how.

    `origin` is the URL the operator configured for the source: the network guard lets a
    fetch reach the kinds of network that URL is on (an intranet source may follow intranet
    links), and only that URL may carry credentials. None means the request's own URL.
    `secrets` are values (header and cookie values, proxy passwords) that must never appear
    in an error message; fetchers mask them. `deadline` bounds the whole fetch, retries
    and the waits between them included.
    """

    url: str
    validators: Validators = field(default_factory=Validators)
    accept: Accept = "html"
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    user_agent: str | None = None  # None: the fetcher's default
    proxy: str | None = None  # http://, https:// or socks5:// URL
    verify: bool = True  # False: accept any TLS certificate (self-signed internal sites)
    render: RenderOptions | None = None  # None: plain HTTP; else rendered in a browser
    origin: str | None = None
    secrets: tuple[str, ...] = ()
    # seconds for the whole fetch (attempts, backoff, redirects); None: the fetcher's own
    deadline: float | None = None

    @property
    def trusted_url(self) -> str:
        """The URL whose network and credentials the operator vouched for."""
        return self.origin or self.url


@dataclass(frozen=True)
class Page:
    """A fetched page. On 304 `not_modified` is True and the body is empty.

    `content_type` is the declared media type without parameters (e.g. "text/html"), or
    the sniffed one when the server declared none or a generic one. `encoding` is the
    Python codec the text was decoded with ("" on 304). A rendered page's `text` is the
    DOM after its scripts ran, and `body` that text in UTF-8.
    """

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    text: str
    encoding: str
    etag: str | None
    last_modified: str | None
    content_hash: str
    not_modified: bool = False
    # what the archive keeps: the exchange as sent and received (header bytes read as
    # latin-1, so they round-trip); `raw_body` is the body before its Content-Encoding was
    # undone, None when it had none (then it is `body`)
    headers: tuple[tuple[str, str], ...] = ()
    request_headers: tuple[tuple[str, str], ...] = ()
    http_version: str = "HTTP/1.1"
    reason: str = ""
    raw_body: bytes | None = None


class Fetcher(Protocol):
    """Anything that fetches pages: use as `async with f: page = await f.fetch(request)`."""

    async def fetch(self, request: FetchRequest) -> Page:
        """Fetch one page; raises a FetchError subclass whose message is meant for people."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...


def mask_secrets(message: str, secrets: tuple[str, ...]) -> str:
    """The message with every secret value replaced by `***` (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:  # masking "a" would garble every message
            message = message.replace(secret, "***")
    return message


class FetchError(Exception):
    """A page could not be fetched; the message is meant for people and names the URL."""

    status: int | None = None


class HTTPStatusError(FetchError):
    """The server answered with an error status (after retries)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class FetchTimeout(FetchError):
    """The server did not answer, or stalled, within the time limit."""


class ResponseTooLarge(FetchError):
    """The (decompressed) body is larger than the cap."""


class TooManyRedirects(FetchError):
    """A redirect loop or chain longer than the limit."""


class UnsupportedContent(FetchError):
    """The content type is not one this kind of source can read (a PDF, an image, ...)."""


class ConnectionFailed(FetchError):
    """The connection could not be made or broke."""


class ConfigurationError(FetchError):
    """The fetch cannot work as configured (no browser installed, a bad proxy URL, ...)."""
