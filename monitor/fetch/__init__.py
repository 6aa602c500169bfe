"""Fetching pages: the fetcher seam (base), the HTTP client, the browser, politeness, the
network guard and bot-wall recognition.

The package re-exports what callers need; the modules behind it are implementation.
"""

from monitor.fetch.base import (
    Accept,
    ConfigurationError,
    ConnectionFailed,
    Fetcher,
    FetchError,
    FetchRequest,
    FetchTimeout,
    HTTPStatusError,
    Page,
    RenderOptions,
    ResponseTooLarge,
    TooManyRedirects,
    UnsupportedContent,
    Validators,
)
from monitor.fetch.botwall import BotWallError
from monitor.fetch.client import FetchSettings, HttpFetcher
from monitor.fetch.guard import NetworkRefused
from monitor.fetch.router import RoutingFetcher, open_fetcher

__all__ = [
    "Accept",
    "BotWallError",
    "ConfigurationError",
    "ConnectionFailed",
    "FetchError",
    "FetchRequest",
    "FetchSettings",
    "FetchTimeout",
    "Fetcher",
    "HTTPStatusError",
    "HttpFetcher",
    "NetworkRefused",
    "Page",
    "RenderOptions",
    "ResponseTooLarge",
    "RoutingFetcher",
    "TooManyRedirects",
    "UnsupportedContent",
    "Validators",
    "open_fetcher",
]
