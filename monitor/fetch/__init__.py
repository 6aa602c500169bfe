"""Fetching pages: the HTTP client with its caps, retries, charsets and bounded inflation.

The package re-exports what callers need; the modules behind it are implementation.
"""

from monitor.fetch.client import (
    Accept,
    ConnectionFailed,
    Fetcher,
    FetchError,
    FetchSettings,
    FetchTimeout,
    HTTPStatusError,
    Page,
    ResponseTooLarge,
    TooManyRedirects,
    UnsupportedContent,
    Validators,
)

__all__ = [
    "Accept",
    "ConnectionFailed",
    "FetchError",
    "FetchSettings",
    "FetchTimeout",
    "Fetcher",
    "HTTPStatusError",
    "Page",
    "ResponseTooLarge",
    "TooManyRedirects",
    "UnsupportedContent",
    "Validators",
]
