"""A test double: a fetcher answering from a function, like httpx's MockTransport.

    async def answer(request: FetchRequest) -> Page:
        return html_page(request.url, "<p>hello</p>")

    async with MockFetcher(answer) as fetcher: ...

The function may return a Page or raise a FetchError; every request is kept in `.requests`.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable, Callable

from monitor.fetch.base import FetchRequest, Page

Answer = Callable[[FetchRequest], Page | Awaitable[Page]]


class MockFetcher:
    """A `Fetcher` whose pages come from `answer` (sync or async)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[FetchRequest] = []

    async def __aenter__(self) -> MockFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetch(self, request: FetchRequest) -> Page:
        """Record the request and answer it."""
        self.requests.append(request)
        page = self.answer(request)
        if inspect.isawaitable(page):
            return await page
        return page


def html_page(url: str, html: str, *, final_url: str | None = None, status: int = 200) -> Page:
    """A Page as the HTTP fetcher would give for this HTML."""
    body = html.encode("utf-8")
    return Page(
        url=url,
        final_url=final_url or url,
        status=status,
        content_type="text/html",
        body=body,
        text=html,
        encoding="utf-8",
        etag=None,
        last_modified=None,
        content_hash=hashlib.sha256(body).hexdigest(),
    )
