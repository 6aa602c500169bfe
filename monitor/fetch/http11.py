"""The fetcher's own HTTP/1.1 transport: many GETs of small pages, and nothing else.

httpx's default transport (httpcore's connection pool over h11) is general: any method,
request bodies, a state machine stepped per event, a pool that scans every connection on
each request. For a check of 1,000 small pages that was about 0.4 ms of CPU per page, more
than ten times the socket work itself. This transport does what a fetch needs:

- one GET at a time per connection, its head written in one piece;
- the response head parsed with bytes methods within a size cap, its body framed by
  chunked encoding, Content-Length or the connection's end (RFC 9112, section 6.3) and
  handed over as received (the fetcher inflates gzip itself, within its own size cap);
- idle connections kept per origin (a dictionary lookup), the least recently used closed
  past `max_idle`, none reused after `keepalive_expiry` or once the server closed it;
- a reused connection that the server closed just before our request is retried once on
  a new one (a GET is safe to repeat, and no byte of an answer was read);
- HTTPS offers HTTP/2 by ALPN where `http2` is on; a server that picks it gets httpcore's
  HTTP/2 connection, multiplexed, one per origin.

Sockets come from an httpcore network backend (the network guard's, which checks every
address it connects to), and errors are httpx's own, so the fetcher sees what httpx's
transport gave it. Proxies still go through httpx's transport (see `client.py`).
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from monitor.sources.urls import DEFAULT_PORTS

MAX_HEAD = 100 * 1024  # a response head larger than this is refused (httpcore's h11 cap)
MAX_LINE = 8 * 1024  # a chunk-size or trailer line larger than this is refused
_MAX_INFORMATIONAL = 10  # 1xx answers skipped before one is refused as endless
_MAX_SIZE_DIGITS = 16  # a chunk size needing more hexadecimal digits is no real size
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (httpx's default)
_READ_SIZE = 64 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})

Origin = tuple[str, str, int]  # scheme, host, port


def port_of(url: httpx.URL) -> int:
    """The port `url` connects to: its own, or its scheme's default."""
    return url.port or DEFAULT_PORTS.get(url.scheme, 0)


# httpcore's exceptions (raised by the network backend and the HTTP/2 connection) as the
# httpx exceptions the fetcher expects; looked up along the exception's class hierarchy.
_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProxyError: httpx.ProxyError,
}


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except (
        httpcore.TimeoutException,
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,
        httpcore.ProxyError,
    ) as exc:
        mapped = next(_HTTPX_ERRORS[c] for c in type(exc).__mro__ if c in _HTTPX_ERRORS)
        raise mapped(str(exc)) from exc


class _StaleConnection(Exception):
    """A reused connection was closed by the server before any byte of the answer."""


# ---------------------------------------------------------------------------------------------
# One connection
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Connection:
    """One HTTP/1.1 connection: its stream, and bytes read past the head being parsed."""

    origin: Origin
    stream: httpcore.AsyncNetworkStream
    buffer: bytearray = field(default_factory=bytearray)
    idle_since: float = 0.0
    reused: bool = False

    async def fill(self, timeout: float | None) -> bool:
        """Read what arrives next into the buffer; False once the server closed."""
        data = await self.stream.read(_READ_SIZE, timeout)
        self.buffer += data
        return bool(data)

    async def line(self, timeout: float | None) -> bytes:
        """The next line (chunk size, trailer), without its line end."""
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_LINE:
                raise httpx.RemoteProtocolError(f"a chunk line longer than {MAX_LINE} bytes")
            if not await self.fill(timeout):
                raise httpx.RemoteProtocolError("the server closed the connection mid-body")
        found = bytes(self.buffer[:end]).rstrip(b"\r")
        del self.buffer[: end + 1]
        return found

    async def take(self, most: int, timeout: float | None) -> bytes:
        """Up to `most` bytes of the body; b"" once the server closed."""
        if not self.buffer:
            return await self.stream.read(min(most, _READ_SIZE), timeout)
        found = bytes(self.buffer[:most])
        del self.buffer[:most]
        return found

    async def aclose(self) -> None:
        with contextlib.suppress(httpcore.NetworkError, OSError):
            await self.stream.aclose()


@dataclass(frozen=True)
class _Head:
    version: bytes
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]

    def values(self, name: bytes) -> list[bytes]:
        """Every value of the header `name` (lower case), comma lists split."""
        return [
            part.strip()
            for key, value in self.headers
            if key.lower() == name
            for part in value.split(b",")
        ]


def _head_end(buffer: bytearray, start: int) -> tuple[int, int] | None:
    """Where the head ends and the body starts: at the first empty line (CRLF, or a bare
    LF as lenient clients accept), searching from `start`."""
    crlf = buffer.find(b"\r\n\r\n", start)
    # The bare form only where it would come first: the buffer may hold much of the body.
    lf = buffer.find(b"\n\n", start, crlf + 1 if crlf >= 0 else len(buffer))
    if lf >= 0:
        return lf, lf + 2
    return (crlf, crlf + 4) if crlf >= 0 else None


def _parse_head(head: bytes) -> _Head:
    status_line, *lines = head.split(b"\n")
    version, _, rest = status_line.rstrip(b"\r").partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not b"100" <= code <= b"999":
        raise httpx.RemoteProtocolError(f"not an HTTP/1 response: {status_line[:80]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for raw in lines:
        line = raw.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):  # an obsolete folded line continues the previous value
            if not headers:
                raise httpx.RemoteProtocolError("a response head starts with a folded line")
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip(b" \t"))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip(b" \t"):
            raise httpx.RemoteProtocolError(f"a malformed header line: {line[:80]!r}")
        headers.append((name, value.strip(b" \t")))
    return _Head(version, int(code), reason.strip(), headers)


# How a body ends (RFC 9112, section 6.3).
_EMPTY, _CHUNKED, _LENGTH, _UNTIL_CLOSE = "empty", "chunked", "length", "until close"


def _framing(head: _Head) -> tuple[str, int]:
    """How the body of this response is delimited, and its length when it is declared."""
    if head.status in _NO_BODY_STATUSES:
        return _EMPTY, 0
    codings = head.values(b"transfer-encoding")
    if codings:  # it overrides any Content-Length
        return (_CHUNKED, 0) if codings[-1].lower() == b"chunked" else (_UNTIL_CLOSE, 0)
    lengths = set(head.values(b"content-length"))
    if not lengths:
        return _UNTIL_CLOSE, 0
    if len(lengths) > 1 or not all(n.isdigit() for n in lengths):
        shown = b", ".join(sorted(lengths))[:80]
        raise httpx.RemoteProtocolError(f"an invalid Content-Length: {shown!r}")
    length = int(lengths.pop())
    return (_LENGTH, length) if length else (_EMPTY, 0)


def _keeps_alive(head: _Head, framing: str) -> bool:
    if framing == _UNTIL_CLOSE:
        return False
    tokens = {t.lower() for t in head.values(b"connection")}
    if head.version == b"HTTP/1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


class _Body(httpx.AsyncByteStream):
    """The body of one HTTP/1.1 response, as received; its end hands the connection back."""

    def __init__(
        self,
        transport: Http11Transport,
        connection: _Connection,
        framing: tuple[str, int],
        keep_alive: bool,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection = connection
        self._kind, self._length = framing
        self._keep_alive = keep_alive
        self._timeout = timeout
        self._complete = self._kind == _EMPTY
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            if self._kind == _LENGTH:
                async for part in self._exactly(self._length):
                    yield part
            elif self._kind == _CHUNKED:
                async for part in self._chunks():
                    yield part
            elif self._kind == _UNTIL_CLOSE:
                while part := await self._connection.take(_READ_SIZE, self._timeout):
                    yield part
        self._complete = True

    async def _exactly(self, length: int) -> AsyncIterator[bytes]:
        remaining = length
        while remaining:
            part = await self._connection.take(remaining, self._timeout)
            if not part:
                raise httpx.RemoteProtocolError(
                    f"the server closed the connection after {length - remaining} of the "
                    f"{length} bytes it announced"
                )
            remaining -= len(part)
            yield part

    async def _chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            size_field = (await connection.line(self._timeout)).split(b";", 1)[0].strip()
            hex_digits = not size_field.strip(b"0123456789abcdefABCDEF")
            if not size_field or not hex_digits or len(size_field) > _MAX_SIZE_DIGITS:
                raise httpx.RemoteProtocolError(f"a malformed chunk size: {size_field[:20]!r}")
            size = int(size_field, 16)
            if size == 0:
                await self._skip_trailers()
                return
            async for part in self._exactly(size):
                yield part
            if await connection.line(self._timeout):
                raise httpx.RemoteProtocolError("a chunk longer than its size")

    async def _skip_trailers(self) -> None:
        """Read the trailer fields after the last chunk (not used), within the head's cap."""
        read = 0
        while line := await self._connection.line(self._timeout):
            read += len(line)
            if read > MAX_HEAD:
                raise httpx.RemoteProtocolError(f"trailers larger than {MAX_HEAD // 1024} KB")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        connection = self._connection
        if self._complete and self._keep_alive and not connection.buffer:
            await self._transport.release(connection)
        else:  # unread body, or bytes nobody asked for: the connection is not reusable
            await connection.aclose()


class _Http2Body(httpx.AsyncByteStream):
    """The body of an HTTP/2 response from httpcore, with httpx's errors."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        with _as_httpx_errors():
            await self._stream.aclose()


# ---------------------------------------------------------------------------------------------
# The transport
# ---------------------------------------------------------------------------------------------


class Http11Transport(httpx.AsyncBaseTransport):
    """An httpx transport for GETs over HTTP/1.1 (and HTTP/2 where a server picks it).

    `backend` opens the sockets; `tls` gives the context that verifies HTTPS, asked for at
    the first HTTPS connection (loading the CA bundle costs 20-30 ms, which a run of plain
    HTTP sources never needs); at most `max_idle` idle connections are kept, over all origins.
    """

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        tls: Callable[[], ssl.SSLContext],
        *,
        http2: bool = True,
        max_idle: int = 20,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        self._backend = backend
        self._tls = tls
        self._http2 = http2
        self._max_idle = max_idle
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lru: OrderedDict[_Connection, None] = OrderedDict()
        self._http2_connections: dict[Origin, list[httpcore.AsyncHTTP2Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` (a GET without a body) and return its response, body unread."""
        if request.method not in ("GET", "HEAD") or request.headers.get("content-length"):
            raise ValueError("this transport only sends GET and HEAD requests, without a body")
        url = request.url
        origin = (url.scheme, url.host, port_of(url))
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        with _as_httpx_errors():
            multiplexed = await self._http2_for(origin)
            if multiplexed is not None:
                return await self._send_http2(multiplexed, request)
            connection = await self._idle_connection(origin)
            if connection is not None:
                with contextlib.suppress(_StaleConnection):  # closed meanwhile: on a new one
                    return await self._send(connection, request, timeouts)
            opened = await self._connect(origin, timeouts)
            if isinstance(opened, httpcore.AsyncHTTP2Connection):
                return await self._send_http2(opened, request)
            return await self._send(opened, request, timeouts)

    async def aclose(self) -> None:
        """Close every idle connection (those still in use close when their body does)."""
        self._closed = True
        idle, self._lru = list(self._lru), OrderedDict()
        self._idle.clear()
        for connection in idle:
            await connection.aclose()
        multiplexed = [c for group in self._http2_connections.values() for c in group]
        self._http2_connections.clear()
        for shared in multiplexed:
            with contextlib.suppress(httpcore.NetworkError, OSError):
                await shared.aclose()

    # -- HTTP/1.1 ------------------------------------------------------------------------------

    async def _send(
        self, connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        head = _request_head(request)
        try:
            try:
                await connection.stream.write(head, timeouts.get("write"))
            except httpcore.WriteError:
                if connection.reused:
                    raise _StaleConnection from None
                raise
            response_head = await self._read_head(connection, timeouts.get("read"))
        except BaseException:
            await connection.aclose()
            raise
        framing = _framing(response_head) if request.method == "GET" else (_EMPTY, 0)
        body = _Body(
            self,
            connection,
            framing,
            _keeps_alive(response_head, framing[0]),
            timeouts.get("read"),
        )
        return httpx.Response(
            response_head.status,
            headers=response_head.headers,
            stream=body,
            extensions={
                "http_version": response_head.version,
                "reason_phrase": response_head.reason,
            },
        )

    async def _read_head(self, connection: _Connection, timeout: float | None) -> _Head:
        """The next final response's head (informational 1xx answers are skipped)."""
        for _ in range(_MAX_INFORMATIONAL + 1):
            buffer = connection.buffer
            searched = 0
            while (found := _head_end(buffer, max(0, searched - 3))) is None:
                if len(buffer) > MAX_HEAD:
                    raise httpx.RemoteProtocolError(
                        f"a response head larger than {MAX_HEAD // 1024} KB"
                    )
                searched = len(buffer)
                try:
                    more = await connection.fill(timeout)
                except httpcore.ReadError:
                    if connection.reused and not buffer:
                        raise _StaleConnection from None
                    raise
                if not more:
                    if connection.reused and not buffer:
                        raise _StaleConnection
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection without a complete answer"
                    )
            end, body_start = found
            head = _parse_head(bytes(buffer[:end]))
            del buffer[:body_start]
            if head.status == 101:
                raise httpx.RemoteProtocolError("the server switched protocols unasked")
            if head.status >= 200:
                return head
        raise httpx.RemoteProtocolError(
            f"more than {_MAX_INFORMATIONAL} informational answers and no final one"
        )

    async def _idle_connection(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection to `origin` that is still good."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            del self._lru[connection]
            if not idle:  # no list kept for every origin ever fetched
                del self._idle[origin]
            # Data or an end waiting on an idle connection: the server closed it.
            expired = now - connection.idle_since >= self._keepalive_expiry
            if expired or connection.stream.get_extra_info("is_readable"):
                await connection.aclose()
                continue
            connection.reused = True
            return connection
        return None

    async def release(self, connection: _Connection) -> None:
        """Keep a connection whose response was read to its end, for the next request."""
        if self._closed:  # a body read to its end after the transport closed
            await connection.aclose()
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._lru[connection] = None
        while len(self._lru) > self._max_idle:
            oldest, _ = self._lru.popitem(last=False)
            group = self._idle[oldest.origin]
            group.remove(oldest)
            if not group:
                del self._idle[oldest.origin]
            await oldest.aclose()

    async def _connect(
        self, origin: Origin, timeouts: dict[str, float | None]
    ) -> _Connection | httpcore.AsyncHTTP2Connection:
        scheme, host, port = origin
        timeout = timeouts.get("connect")
        stream = await self._backend.connect_tcp(host, port, timeout=timeout)
        if scheme != "https":
            return _Connection(origin, stream)
        # One context serves every connection: the protocols are set before each handshake,
        # as httpcore does.
        context = self._tls()
        context.set_alpn_protocols(["http/1.1", "h2"] if self._http2 else ["http/1.1"])
        try:
            stream = await stream.start_tls(context, server_hostname=host, timeout=timeout)
        except BaseException:
            await stream.aclose()
            raise
        tls = stream.get_extra_info("ssl_object")
        if tls is None or tls.selected_alpn_protocol() != "h2":
            return _Connection(origin, stream)
        multiplexed = httpcore.AsyncHTTP2Connection(
            httpcore.Origin(b"https", host.encode("ascii"), port),
            stream,
            keepalive_expiry=self._keepalive_expiry,
        )
        self._http2_connections.setdefault(origin, []).append(multiplexed)
        return multiplexed

    # -- HTTP/2 --------------------------------------------------------------------------------

    async def _http2_for(self, origin: Origin) -> httpcore.AsyncHTTP2Connection | None:
        """An open HTTP/2 connection to `origin` with room for one more request."""
        group = self._http2_connections.get(origin)
        if not group:
            return None
        for connection in list(group):
            if connection.is_closed() or connection.has_expired():
                group.remove(connection)
                with contextlib.suppress(httpcore.NetworkError, OSError):
                    await connection.aclose()
            elif connection.is_available():
                return connection
        return None

    async def _send_http2(
        self, connection: httpcore.AsyncHTTP2Connection, request: httpx.Request
    ) -> httpx.Response:
        url = request.url
        answer = await connection.handle_async_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
                ),
                headers=request.headers.raw,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Http2Body(answer.stream),
            extensions=answer.extensions,
        )


def _request_head(request: httpx.Request) -> bytes:
    """The request line and headers, as sent; a line break in a header is refused (it would
    let a configured header value smuggle another request)."""
    lines = [request.method.encode("ascii") + b" " + request.url.raw_path + b" HTTP/1.1"]
    for name, value in request.headers.raw:
        if b"\n" in value or b"\r" in value or b"\0" in value or b":" in name or b"\n" in name:
            raise httpx.LocalProtocolError(f"an invalid request header: {name[:40]!r}")
        lines.append(name + b": " + value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)
