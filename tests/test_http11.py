"""The fetcher's own HTTP/1.1 transport against a scripted server on 127.0.0.1: how bodies
are framed, which answers are refused, and when a connection is kept for the next request.

The server answers each request head with the next reply of its script, byte for byte, so
every framing and every fault is what a real server could send.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial

import httpx
import pytest

from monitor.fetch.client import _tls_context
from monitor.fetch.http11 import MAX_HEAD, Http11Transport
from monitor.fetch.streams import AsyncioBackend


@dataclass
class Reply:
    """What the server writes for one request, and whether it then closes the connection."""

    data: bytes
    close: bool = False


@dataclass
class ScriptedServer:
    replies: list[Reply]
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    def url(self, path: str = "/s") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                reply = self.replies.pop(0)
                writer.write(reply.data)
                await writer.drain()
                if reply.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., ScriptedServer]]:
    servers: list[asyncio.Server] = []

    async def start(*replies: Reply) -> ScriptedServer:
        scripted = ScriptedServer(list(replies))
        server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
        scripted.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return scripted

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


def ok(body: bytes, *headers: str) -> Reply:
    head = "".join(f"{h}\r\n" for h in headers)
    return Reply(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body)


def transport(**options: int) -> Http11Transport:
    return Http11Transport(AsyncioBackend(), partial(_tls_context, True), **options)


async def get(client: Http11Transport, url: str, **headers: str) -> tuple[int, bytes]:
    response = await client.handle_async_request(
        httpx.Request("GET", url, headers=headers, extensions={"timeout": {"read": 2.0}})
    )
    try:
        body = b"".join([part async for part in response.aiter_raw()])
    finally:
        await response.aclose()
    return response.status_code, body


# -- framing: (case, what the server sends, the body read) -------------------------------------

FRAMED = [
    ("content length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
    (
        "chunked, with an extension and trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=x\r\nhello\r\n7\r\n, world\r\n0\r\nExpires: never\r\n\r\n",
        b"hello, world",
    ),
    (
        "chunked wins over a Content-Length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n",
        b"ok",
    ),
    ("a 304 has no body", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 40\r\n\r\n", b""),
    ("a 204 has no body", b"HTTP/1.1 204 No Content\r\n\r\n", b""),
    (
        "informational answers are skipped",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"ok",
    ),
    ("bare line feeds", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", b"ok"),
    (
        "identical Content-Length values",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
        b"ok",
    ),
]


@pytest.mark.parametrize(("case", "sent", "body"), FRAMED, ids=[c[0] for c in FRAMED])
async def test_a_body_is_read_as_its_framing_says(serve, case, sent, body) -> None:
    server = await serve(Reply(sent))
    client = transport()
    assert (await get(client, server.url()))[1] == body
    await client.aclose()


async def test_a_body_without_a_length_ends_with_the_connection(serve) -> None:
    server = await serve(Reply(b"HTTP/1.1 200 OK\r\n\r\nall of it", close=True), ok(b"next"))
    client = transport()
    assert await get(client, server.url()) == (200, b"all of it")
    assert await get(client, server.url()) == (200, b"next")
    assert server.connections == 2  # the first connection could not be kept
    await client.aclose()


# -- refused answers: (case, what the server sends, the error's words) -------------------------

REFUSED = [
    ("not HTTP", b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1 response"),
    ("a bad header line", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
    (
        "two different lengths",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "invalid Content-Length",
    ),
    (
        "a negative length",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "invalid Content-Length",
    ),
    (
        "a chunk size that is not hexadecimal",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        "malformed chunk size",
    ),
    (
        "an endless chunk size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\n",
        "malformed chunk size",
    ),
    (
        "endless trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        + b"X-Trailer: padding\r\n" * 6000
        + b"\r\n",
        "trailers larger than 100 KB",
    ),
    (
        "a chunk longer than its size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n",
        "chunk longer than its size",
    ),
    (
        "a body cut short",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
        "after 4 of the 10 bytes it announced",
    ),
    ("no answer at all", b"", "without a complete answer"),
    ("a status below 100", b"HTTP/1.1 099 Odd\r\n\r\n", "not an HTTP/1 response"),
    (
        "endless informational answers",
        b"HTTP/1.1 100 Continue\r\n\r\n" * 20,
        "more than 10 informational answers",
    ),
    ("an unasked protocol switch", b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched"),
]


@pytest.mark.parametrize(("case", "sent", "words"), REFUSED, ids=[c[0] for c in REFUSED])
async def test_a_faulty_answer_is_refused_with_a_reason(serve, case, sent, words) -> None:
    server = await serve(Reply(sent, close=True))
    client = transport()
    with pytest.raises(httpx.RemoteProtocolError, match=words):
        await get(client, server.url())
    await client.aclose()


async def test_an_endless_response_head_is_refused(serve) -> None:
    endless = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"a" * (MAX_HEAD + 10) + b"\r\n"
    server = await serve(Reply(endless))
    client = transport()
    with pytest.raises(httpx.RemoteProtocolError, match="larger than 100 KB"):
        await get(client, server.url())
    await client.aclose()


async def test_a_header_value_with_a_line_break_is_never_sent(serve) -> None:
    server = await serve(ok(b"x"))
    client = transport()
    with pytest.raises(httpx.LocalProtocolError):
        await get(client, server.url(), **{"X-Token": "a\r\nGET /admin HTTP/1.1"})
    assert server.requests == []
    await client.aclose()


# -- keeping connections -----------------------------------------------------------------------


async def test_one_connection_serves_request_after_request(serve) -> None:
    server = await serve(*(ok(f"page {i}".encode()) for i in range(5)))
    client = transport()
    bodies = [(await get(client, server.url()))[1] for _ in range(5)]
    assert bodies == [f"page {i}".encode() for i in range(5)]
    assert server.connections == 1
    await client.aclose()


async def test_a_connection_the_server_closes_is_not_reused(serve) -> None:
    server = await serve(ok(b"one", "Connection: close"), ok(b"two"))
    client = transport()
    assert [(await get(client, server.url()))[1] for _ in range(2)] == [b"one", b"two"]
    assert server.connections == 2
    await client.aclose()


async def test_an_http_1_0_answer_keeps_the_connection_only_when_it_says_so(serve) -> None:
    server = await serve(
        Reply(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\none"),
        Reply(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\ntwo"),
        ok(b"three"),
    )
    client = transport()
    assert [(await get(client, server.url()))[1] for _ in range(3)] == [b"one", b"two", b"three"]
    assert server.connections == 2
    await client.aclose()


async def test_a_kept_connection_closed_by_the_server_meanwhile_is_replaced(serve) -> None:
    # The server says nothing of closing, then closes right after the first answer: the
    # next request finds the connection dead and goes out on a new one, without an error.
    server = await serve(Reply(ok(b"first").data, close=True), ok(b"second"))
    client = transport()
    assert await get(client, server.url()) == (200, b"first")
    await asyncio.sleep(0.05)  # the close reaches us
    assert await get(client, server.url()) == (200, b"second")
    assert server.connections == 2
    await client.aclose()


async def test_bytes_nobody_asked_for_make_a_connection_unusable(serve) -> None:
    server = await serve(Reply(ok(b"page").data + b"HTTP/1.1 200 OK\r\n\r\nsmuggled"), ok(b"next"))
    client = transport()
    assert await get(client, server.url()) == (200, b"page")
    assert await get(client, server.url()) == (200, b"next")  # not the smuggled answer
    assert server.connections == 2
    await client.aclose()


async def test_idle_connections_past_the_cap_are_closed_oldest_first(serve) -> None:
    first, second = await serve(ok(b"a"), ok(b"b")), await serve(ok(b"c"))
    client = transport(max_idle=1)
    await get(client, first.url())
    await get(client, second.url())  # keeping this one closes the first server's
    assert await get(client, first.url()) == (200, b"b")
    assert first.connections == 2 and second.connections == 1
    await client.aclose()


async def test_an_unread_body_closes_its_connection(serve) -> None:
    server = await serve(ok(b"x" * 100_000), ok(b"next"))
    client = transport()
    response = await client.handle_async_request(httpx.Request("GET", server.url()))
    await response.aclose()  # nothing read
    assert await get(client, server.url()) == (200, b"next")
    assert server.connections == 2
    await client.aclose()
