"""Fetch pages over HTTP politely and defensively (size caps, timeouts, retries, charsets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Accept = Literal["html", "feed"]


@dataclass(frozen=True)
class FetchSettings:
    """How pages are fetched; built from the `[defaults]` table of the configuration."""

    user_agent: str = "statement-monitor/0.1"
    timeout: float = 30.0  # connect / read / write / pool timeout of one request, seconds
    total_timeout: float = 120.0  # one whole attempt including the streamed body
    max_bytes: int = 10_000_000  # cap on the (decompressed) body
    max_redirects: int = 10
    retries: int = 2  # extra attempts after a timeout, a 5xx, or a 429
    backoff: float = 1.0  # base of the exponential backoff between attempts, seconds
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for: the fetch fails
    max_connections: int = 20  # global concurrency cap
    per_host: int = 4  # concurrency cap per host
    http2: bool = True


@dataclass(frozen=True)
class Validators:
    """HTTP validators from the previous fetch, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Page:
    """A fetched page. On 304 `not_modified` is True and the body is empty."""

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


class Fetcher:
    """An HTTP client shared by all checks of a run: `async with Fetcher(s) as f: await f.fetch(u)`."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = settings or FetchSettings()

    async def __aenter__(self) -> Fetcher:
        raise NotImplementedError

    async def __aexit__(self, *exc: object) -> None:
        raise NotImplementedError

    async def fetch(
        self, url: str, validators: Validators | None = None, *, accept: Accept = "html"
    ) -> Page:
        """Fetch one URL; raises a FetchError subclass with a message for people."""
        raise NotImplementedError
