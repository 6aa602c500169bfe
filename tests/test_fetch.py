"""Fetching against a real loopback server: what a user of the monitor would notice."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from monitor.fetch.base import FetchRequest
from monitor.fetch.client import (
    Accept,
    ConnectionFailed,
    FetchError,
    FetchSettings,
    FetchTimeout,
    HttpFetcher,
    HTTPStatusError,
    Page,
    ResponseTooLarge,
    TooManyRedirects,
    UnsupportedContent,
    Validators,
)

# Small limits so every failure path finishes in well under a second.
FAST = FetchSettings(
    user_agent="statement-monitor-test/1.0 (+https://example.org/bot)",
    timeout=2.0,
    total_timeout=3.0,
    backoff=0.01,
    retries=2,
    max_retry_after=5.0,
)

FRENCH = (
    "Déclaration commune : le comité a adopté à l'unanimité une résolution sur l'économie, "
    "la sécurité et l'énergie. Les délégués ont salué « les progrès réalisés » — "
    "señor Núñez était présent, ainsi que la délégation de Genève."
)
RUSSIAN = "Совместное заявление министров иностранных дел о сотрудничестве и безопасности."

Fetch = Callable[..., Awaitable[Page]]
Reply = tuple[int, dict[str, str], bytes]  # what a route handler answers


@pytest.fixture
async def fetch() -> AsyncIterator[Fetch]:
    """`await fetch(url, **kwargs)` through a Fetcher with the fast test settings."""
    async with HttpFetcher(FAST) as fetcher:

        async def fetch(
            url: str, validators: Validators | None = None, *, accept: Accept = "html"
        ) -> Page:
            return await fetcher.fetch(FetchRequest(url, validators or Validators(), accept))

        yield fetch


async def fetch_with(settings: FetchSettings, url: str, accept: Accept = "html") -> Page:
    async with HttpFetcher(settings) as fetcher:
        return await fetcher.fetch(FetchRequest(url, accept=accept))


def settings(**changes: Any) -> FetchSettings:
    """The fast test settings with some changed."""
    return replace(FAST, **changes)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so handlers that stall on purpose let their thread go."""
    event = threading.Event()
    yield event
    event.set()


def html(body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head>{head}<title>Statement</title></head>"
        f"<body>{body}</body></html>"
    )


async def failure_and_peak_memory(pending: Awaitable[Page]) -> tuple[FetchError, int]:
    """Await a fetch that must fail; returns its error and the peak traced memory in bytes."""
    tracemalloc.start()
    try:
        await pending
    except FetchError as exc:
        return exc, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    raise AssertionError("the fetch was expected to fail")


# ---------------------------------------------------------------------------------------------
# Ordinary pages
# ---------------------------------------------------------------------------------------------


async def test_normal_page(http_server, fetch: Fetch) -> None:
    body = html("<p>We are pleased to announce a partnership.</p>")
    url = http_server.page(
        "/news/statement",
        body,
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"},
    )

    page = await fetch(url)

    assert page.status == 200
    assert page.url == page.final_url == url
    assert page.content_type == "text/html"
    assert page.text == body
    assert page.body == body.encode()
    assert page.encoding == "utf-8"
    assert page.content_hash == hashlib.sha256(body.encode()).hexdigest()
    assert (page.etag, page.last_modified) == ('"v1"', "Wed, 01 May 2024 10:00:00 GMT")
    assert page.not_modified is False


async def test_user_agent_and_compression_are_announced(http_server, fetch: Fetch) -> None:
    await fetch(http_server.page("/ua", html("<p>hello</p>")))

    _method, _path, headers = http_server.requests[-1]
    assert headers["User-Agent"] == FAST.user_agent
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert headers["Accept"].startswith("text/html")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw, as some servers send it
    ],
)
async def test_compressed_page_is_decompressed(
    http_server, fetch: Fetch, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = html(f"<p>{FRENCH}</p>" * 50)
    url = http_server.page("/z", compress(body.encode()), headers={"Content-Encoding": encoding})

    page = await fetch(url)

    assert page.text == body
    assert page.content_hash == hashlib.sha256(body.encode()).hexdigest()


async def test_redirects_are_followed(http_server, fetch: Fetch) -> None:
    http_server.page("/old", "", status=301, headers={"Location": "/middle"})
    http_server.page("/middle", "", status=302, headers={"Location": http_server.url("/new")})
    http_server.page("/new", html("<p>moved here</p>"))

    page = await fetch(http_server.url("/old"))

    assert page.url == http_server.url("/old")
    assert page.final_url == http_server.url("/new")
    assert "moved here" in page.text


async def test_a_cookie_set_on_a_redirect_is_sent_where_it_leads(http_server, fetch: Fetch) -> None:
    """The consent (or bot check) pattern: no cookie, a redirect that sets it, then the page."""

    def statement(handler: BaseHTTPRequestHandler) -> Reply:
        if "consent=yes" not in handler.headers.get("Cookie", ""):
            return 302, {"Location": "/consent"}, b""
        return 200, {"Content-Type": "text/html"}, html("<p>past the consent wall</p>").encode()

    http_server.route("/statement", statement)
    http_server.page(
        "/consent", "", status=302, headers={"Location": "/statement", "Set-Cookie": "consent=yes"}
    )

    page = await fetch(http_server.url("/statement"))

    assert "past the consent wall" in page.text
    assert http_server.hits("/statement") == 2


async def test_empty_body_is_a_page(http_server, fetch: Fetch) -> None:
    page = await fetch(http_server.page("/empty", b""))

    assert (page.status, page.body, page.text) == (200, b"", "")
    assert page.content_hash == hashlib.sha256(b"").hexdigest()


# ---------------------------------------------------------------------------------------------
# Charsets
# ---------------------------------------------------------------------------------------------


async def test_charset_from_the_header(http_server, fetch: Fetch) -> None:
    body = html(f"<p>{RUSSIAN}</p>")
    url = http_server.page("/koi8", body.encode("koi8-r"), content_type="text/html; charset=KOI8-R")

    page = await fetch(url)

    assert page.text == body
    assert page.encoding == "koi8-r"


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="windows-1251">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
    ],
)
async def test_charset_from_meta(http_server, fetch: Fetch, meta: str) -> None:
    body = html(f"<p>{RUSSIAN}</p>", head=meta)
    url = http_server.page("/meta", body.encode("cp1251"), content_type="text/html")

    page = await fetch(url)

    assert page.text == body
    assert page.encoding == "cp1251"


async def test_charset_from_xml_declaration_of_a_feed(http_server, fetch: Fetch) -> None:
    feed = (
        '<?xml version="1.0" encoding="ISO-8859-15"?>\n'
        "<rss><channel><item><title>Déclaration : 5 € pour l'œuvre</title></item></channel></rss>"
    )
    url = http_server.page(
        "/feed.xml", feed.encode("iso-8859-15"), content_type="application/rss+xml"
    )

    page = await fetch(url, accept="feed")

    assert page.text == feed
    assert page.encoding == "iso8859-15"


async def test_missing_charset_is_detected(http_server, fetch: Fetch) -> None:
    body = html(f"<p>{FRENCH}</p>")
    url = http_server.page("/latin", body.encode("cp1252"), content_type="text/html")

    page = await fetch(url)

    assert page.text == body
    assert page.encoding == "cp1252"


async def test_wrong_declared_charset_does_not_garble_the_text(http_server, fetch: Fetch) -> None:
    body = html(f"<p>{FRENCH}</p>")
    url = http_server.page("/liar", body.encode("cp1252"), content_type="text/html; charset=utf-8")

    page = await fetch(url)

    assert page.text == body
    assert page.encoding == "cp1252"


@pytest.mark.parametrize("label", ["no-such-charset", "base64"])
async def test_bogus_charset_label_is_ignored(http_server, fetch: Fetch, label: str) -> None:
    body = html(f"<p>{FRENCH}</p>")
    url = http_server.page(
        "/bogus", body.encode("cp1252"), content_type=f"text/html; charset={label}"
    )

    page = await fetch(url)

    assert page.text == body


async def test_stray_byte_in_a_utf8_page_keeps_the_rest(http_server, fetch: Fetch) -> None:
    # A CMS pasted one cp1252 quote into an otherwise UTF-8 page.
    raw = html(f"<p>{FRENCH}</p><p>It\x92s here.</p>").encode("utf-8").replace(b"\xc2\x92", b"\x92")
    url = http_server.page("/mixed", raw)

    page = await fetch(url)

    assert FRENCH in page.text
    assert "It\ufffds here." in page.text
    assert page.encoding == "utf-8"


# ---------------------------------------------------------------------------------------------
# Size caps and decompression bombs
# ---------------------------------------------------------------------------------------------


def endless_chunked(total: int) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler streaming `total` bytes of HTML with chunked encoding (no Content-Length)."""
    chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>"

    def handler(req: BaseHTTPRequestHandler) -> None:
        req.close_connection = True  # the client hangs up mid-body: no next request to await
        req.send_response(200)
        req.send_header("Content-Type", "text/html")
        req.send_header("Transfer-Encoding", "chunked")
        req.end_headers()
        try:
            for _ in range(total // len(chunk)):
                req.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            req.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up at its cap, as it should

    return handler


async def test_huge_streamed_response_is_refused_quickly(http_server, fetch: Fetch) -> None:
    http_server.route("/huge", endless_chunked(50_000_000))

    started = time.monotonic()
    error, peak = await failure_and_peak_memory(fetch(http_server.url("/huge")))

    assert isinstance(error, ResponseTooLarge)
    assert "more than the 10 MB limit" in str(error)
    assert time.monotonic() - started < 5
    assert peak < 30_000_000, f"memory peaked at {peak:,} bytes"
    assert http_server.hits("/huge") == 1  # not retried


async def test_announced_huge_length_is_refused_before_reading(
    http_server, fetch: Fetch, release: threading.Event
) -> None:
    def announce(req: BaseHTTPRequestHandler) -> None:
        # Announce 50 MB, send a little, then wait: a client that read on would time out.
        req.send_response(200)
        req.send_header("Content-Type", "text/html")
        req.send_header("Content-Length", "50000000")
        req.end_headers()
        req.wfile.write(b"<html>")
        release.wait(5)

    http_server.route("/announced", announce)

    started = time.monotonic()
    with pytest.raises(ResponseTooLarge, match="announces 50 MB, more than the 10 MB limit"):
        await fetch(http_server.url("/announced"))
    assert time.monotonic() - started < 1


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 2 MB of gzip that inflates to about 2 GB of zeros.

    Built from one compressed megabyte repeated: after a full flush the compressor emits
    identical bytes for identical input, so the stream stays valid without compressing
    2 GB here (a client stops long before the wrong trailer would matter).
    """
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    return head + block * 2000 + compressor.flush()


async def test_gzip_bomb_is_refused_with_bounded_memory(
    http_server, fetch: Fetch, gzip_bomb: bytes
) -> None:
    def bomb(req: BaseHTTPRequestHandler) -> Reply:
        req.close_connection = True  # the client hangs up mid-body: no next request to await
        return 200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, gzip_bomb

    http_server.route("/bomb", bomb)
    url = http_server.url("/bomb")

    started = time.monotonic()
    error, peak = await failure_and_peak_memory(fetch(url))

    assert isinstance(error, ResponseTooLarge)
    assert "once decompressed" in str(error)
    assert time.monotonic() - started < 5
    assert peak < 30_000_000, f"memory peaked at {peak:,} bytes"


async def test_small_cap_applies_to_decompressed_size(http_server) -> None:
    body = html("<p>" + "statement " * 2_000 + "</p>")
    url = http_server.page(
        "/zip", gzip.compress(body.encode()), headers={"Content-Encoding": "gzip"}
    )

    with pytest.raises(ResponseTooLarge, match="more than the 10 kB limit once decompressed"):
        await fetch_with(settings(max_bytes=10_000), url)


# ---------------------------------------------------------------------------------------------
# Slow servers
# ---------------------------------------------------------------------------------------------


async def test_server_stalling_mid_body_times_out(http_server, release: threading.Event) -> None:
    def stall(req: BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "text/html")
        req.send_header("Content-Length", "1000")
        req.end_headers()
        req.wfile.write(b"<html><body><p>The begin")
        req.wfile.flush()
        release.wait(5)

    http_server.route("/stall", stall)

    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"stopped sending for more than 0\.3 s"):
        await fetch_with(settings(timeout=0.3, retries=0), http_server.url("/stall"))
    assert time.monotonic() - started < 1.5


async def test_trickling_server_is_cut_off_at_the_total_deadline(
    http_server, release: threading.Event
) -> None:
    def trickle(req: BaseHTTPRequestHandler) -> None:
        # One byte every 50 ms never trips the read timeout; only the deadline stops it.
        req.send_response(200)
        req.send_header("Content-Type", "text/html")
        req.send_header("Transfer-Encoding", "chunked")
        req.end_headers()
        try:
            while not release.wait(0.05):
                req.wfile.write(b"1\r\nx\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    http_server.route("/trickle", trickle)
    slow = settings(timeout=1.0, total_timeout=0.5, retries=1)

    started = time.monotonic()
    with pytest.raises(
        FetchTimeout, match=r"no complete answer from .* within 0\.5 s \(after 2 attempts\)"
    ):
        await fetch_with(slow, http_server.url("/trickle"))
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0  # two attempts of 0.5 s each
    assert http_server.hits("/trickle") == 2


# ---------------------------------------------------------------------------------------------
# Redirects
# ---------------------------------------------------------------------------------------------


async def test_redirect_loop(http_server, fetch: Fetch) -> None:
    http_server.page("/a", "", status=302, headers={"Location": "/b"})
    http_server.page("/b", "", status=302, headers={"Location": "/a"})

    with pytest.raises(TooManyRedirects, match="redirect loop at http://127.0.0.1:.*/a"):
        await fetch(http_server.url("/a"))
    assert http_server.hits("/a") + http_server.hits("/b") == FAST.max_redirects + 1


async def test_too_many_redirects(http_server) -> None:
    for n in range(10):
        http_server.page(f"/hop{n}", "", status=307, headers={"Location": f"/hop{n + 1}"})

    with pytest.raises(TooManyRedirects, match="more than 3 redirects at"):
        await fetch_with(settings(max_redirects=3), http_server.url("/hop0"))
    assert http_server.hits("/hop4") == 0


# ---------------------------------------------------------------------------------------------
# Errors and retries
# ---------------------------------------------------------------------------------------------


def replies(*answers: Reply) -> Callable[[object], Reply]:
    """A handler giving the answers in turn, then repeating the last one."""
    queue = list(answers)

    def handler(_req: object) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


OK: Reply = (200, {"Content-Type": "text/html"}, b"<p>back up</p>")


async def test_server_error_then_success_is_retried(http_server, fetch: Fetch) -> None:
    http_server.route("/flaky", replies((500, {}, b"oops"), OK))

    page = await fetch(http_server.url("/flaky"))

    assert page.text == "<p>back up</p>"
    assert http_server.hits("/flaky") == 2


async def test_persistent_server_error_fails_after_all_attempts(http_server, fetch: Fetch) -> None:
    http_server.page("/down", "oops", status=500)

    with pytest.raises(HTTPStatusError) as caught:
        await fetch(http_server.url("/down"))

    assert caught.value.status == 500
    assert str(caught.value) == (
        f"HTTP 500 Internal Server Error from {http_server.url('/down')} (after 3 attempts)"
    )
    assert http_server.hits("/down") == 3


async def test_retry_after_is_honoured(http_server, fetch: Fetch) -> None:
    http_server.route("/busy", replies((429, {"Retry-After": "1"}, b""), OK))

    started = time.monotonic()
    page = await fetch(http_server.url("/busy"))

    assert page.status == 200
    assert time.monotonic() - started >= 0.95
    assert http_server.hits("/busy") == 2


@pytest.mark.parametrize(
    "retry_after",
    ["3600", format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)],
    ids=["seconds", "a date"],  # the date differs per collection: pytest-xdist needs equal ids
)
async def test_long_retry_after_fails_at_once(http_server, fetch: Fetch, retry_after: str) -> None:
    http_server.page("/later", "", status=503, headers={"Retry-After": retry_after})

    started = time.monotonic()
    with pytest.raises(HTTPStatusError) as caught:
        await fetch(http_server.url("/later"))

    assert caught.value.status == 503
    message = str(caught.value)
    assert message.startswith(f"HTTP 503 Service Unavailable from {http_server.url('/later')}")
    assert "the server asks to wait" in message and "try again after that" in message
    assert time.monotonic() - started < 0.5
    assert http_server.hits("/later") == 1


@pytest.mark.parametrize("status", [404, 410, 403])
async def test_client_errors_fail_at_once(http_server, fetch: Fetch, status: int) -> None:
    http_server.page("/gone", "no", status=status)

    with pytest.raises(HTTPStatusError) as caught:
        await fetch(http_server.url("/gone"))

    assert caught.value.status == status
    assert http_server.hits("/gone") == 1


async def test_credentials_are_hidden_in_messages(http_server, fetch: Fetch) -> None:
    url = http_server.url("/private").replace("http://", "http://reader:s3cret@")

    with pytest.raises(HTTPStatusError) as caught:
        await fetch(url)

    assert "s3cret" not in str(caught.value)
    assert "http://reader:***@127.0.0.1:" in str(caught.value)


async def test_connection_refused(fetch: Fetch) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/statement"

    with pytest.raises(ConnectionFailed) as caught:
        await fetch(url)

    assert str(caught.value).startswith(f"could not connect to {url}: ")
    assert str(caught.value).endswith("(after 3 attempts)")


# ---------------------------------------------------------------------------------------------
# Content types
# ---------------------------------------------------------------------------------------------


async def test_pdf_is_refused_without_downloading(http_server, fetch: Fetch) -> None:
    url = http_server.page("/report.pdf", b"%PDF-1.7" + bytes(5000), content_type="application/pdf")

    with pytest.raises(UnsupportedContent) as caught:
        await fetch(url)

    assert str(caught.value) == f"{url} is application/pdf, not an HTML page"
    assert http_server.hits("/report.pdf") == 1


async def test_image_is_not_a_feed(http_server, fetch: Fetch) -> None:
    url = http_server.page("/logo.png", b"\x89PNG", content_type="image/png")

    with pytest.raises(UnsupportedContent, match="is image/png, not an RSS/Atom feed"):
        await fetch(url, accept="feed")


async def test_feed_accepts_mislabelled_html(http_server, fetch: Fetch) -> None:
    page = await fetch(http_server.page("/feed", "<rss></rss>"), accept="feed")

    assert page.text == "<rss></rss>"


@pytest.mark.parametrize("content_type", ["", "application/octet-stream", "text/plain"])
async def test_untyped_html_is_sniffed(http_server, fetch: Fetch, content_type: str) -> None:
    page = await fetch(http_server.page("/untyped", html("<p>hi</p>"), content_type=content_type))

    assert page.content_type == "text/html"
    assert "<p>hi</p>" in page.text


async def test_untyped_binary_is_refused(http_server, fetch: Fetch) -> None:
    url = http_server.page("/blob", bytes(range(256)) * 4, content_type="application/octet-stream")

    with pytest.raises(
        UnsupportedContent, match="is application/octet-stream and does not look like"
    ):
        await fetch(url)


async def test_untyped_feed_is_sniffed(http_server, fetch: Fetch) -> None:
    feed = '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>'

    page = await fetch(http_server.page("/atom", feed, content_type=""), accept="feed")

    assert page.content_type == "application/xml"


# ---------------------------------------------------------------------------------------------
# Conditional GET
# ---------------------------------------------------------------------------------------------


async def test_conditional_get_not_modified(http_server, fetch: Fetch) -> None:
    etag, modified = '"abc123"', "Wed, 01 May 2024 10:00:00 GMT"

    def conditional(req: BaseHTTPRequestHandler) -> Reply:
        if req.headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"Content-Type": "text/html", "ETag": etag}, b"<p>v1</p>"

    http_server.route("/cond", conditional)

    page = await fetch(http_server.url("/cond"), Validators(etag=etag, last_modified=modified))

    _method, _path, sent = http_server.requests[-1]
    assert sent["If-None-Match"] == etag
    assert sent["If-Modified-Since"] == modified
    assert page.not_modified is True
    assert (page.status, page.body, page.text, page.content_hash) == (304, b"", "", "")
    assert (page.etag, page.last_modified) == (etag, modified)


async def test_answers_without_a_body_keep_the_connection(http_server, fetch: Fetch) -> None:
    """A 304 (every unchanged page of a conditional check) or an empty redirect leaves the
    connection open for the next request, instead of a new connection (and TLS handshake)
    per page."""
    etag = '"abc123"'
    ports: list[int] = []

    def conditional(req: BaseHTTPRequestHandler) -> Reply:
        ports.append(req.client_address[1])
        if req.headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"Content-Type": "text/html", "ETag": etag}, b"<p>v1</p>"

    def moved(req: BaseHTTPRequestHandler) -> Reply:
        ports.append(req.client_address[1])
        return 301, {"Location": "/cond"}, b""

    http_server.route("/cond", conditional)
    http_server.route("/moved", moved)

    for _ in range(3):
        page = await fetch(http_server.url("/cond"), Validators(etag=etag))
        assert page.not_modified
    await fetch(http_server.url("/moved"))

    assert len(ports) == 5 and len(set(ports)) == 1  # one connection for all five requests


async def test_a_connection_the_server_closed_while_idle_is_not_reused(http_server) -> None:
    """Servers drop idle keep-alive connections without notice; the next fetch must open a
    new one rather than fail on the dead one (no retries here to hide it)."""
    ports: list[int] = []

    def hang_up_after(req: BaseHTTPRequestHandler) -> Reply:
        ports.append(req.client_address[1])
        req.close_connection = True  # closes after answering, without a Connection: close
        return 200, {"Content-Type": "text/html"}, html("<p>fresh</p>").encode()

    http_server.route("/p", hang_up_after)
    async with HttpFetcher(settings(retries=0)) as fetcher:
        first = await fetcher.fetch(FetchRequest(http_server.url("/p")))
        await asyncio.sleep(0.2)  # the server's close reaches the idle connection
        second = await fetcher.fetch(FetchRequest(http_server.url("/p")))

    assert "fresh" in first.text and "fresh" in second.text
    assert len(set(ports)) == 2


async def test_unconditional_304_is_an_error(http_server, fetch: Fetch) -> None:
    http_server.page("/odd", "", status=304)

    with pytest.raises(HTTPStatusError, match="to a request that was not conditional"):
        await fetch(http_server.url("/odd"))


# ---------------------------------------------------------------------------------------------
# Concurrency caps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "expected"),
    [({"per_host": 2, "max_connections": 10}, 2), ({"per_host": 4, "max_connections": 1}, 1)],
)
async def test_concurrency_caps(http_server, caps: dict[str, int], expected: int) -> None:
    lock = threading.Lock()
    active = [0]
    peak = [0]

    def slow(_req: object) -> Reply:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        return 200, {"Content-Type": "text/html"}, b"<p>ok</p>"

    http_server.route("/slow", slow)

    async with HttpFetcher(settings(**caps)) as fetcher:
        request = FetchRequest(http_server.url("/slow"))
        pages = await asyncio.gather(*(fetcher.fetch(request) for _ in range(6)))

    assert len(pages) == 6
    assert peak[0] == expected
