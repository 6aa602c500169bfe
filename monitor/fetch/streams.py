"""The socket layer under httpx: httpcore's network backend written on asyncio's transports.

httpcore's default backend goes through anyio, whose streams cost a cancel scope, a
checkpoint and a dictionary of socket attributes on every read, write and pool check; on a
check of many small pages that was a fifth of the CPU time of a fetch. This backend does
the same job on asyncio's own protocol and transport (the event loop the monitor runs on):
reads come from a buffer the protocol fills, and a wait is only set up when it is empty.

Behaviour kept from the anyio backend: the same httpcore exceptions (ConnectError,
ConnectTimeout, ReadError, ReadTimeout, WriteError, WriteTimeout), TLS with ALPN through
`start_tls`, `socket_options` applied after connecting, and `is_readable` (how httpcore
notices that a server closed an idle keep-alive connection). Reading is paused while more
than `_HIGH_WATER` bytes wait unread, so a fast server cannot fill memory ahead of the
fetcher's size cap.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any, cast

import httpcore

_HIGH_WATER = 256 * 1024  # unread bytes at which the socket stops being read
_DEFAULT_HANDSHAKE_TIMEOUT = 60.0  # asyncio's own default, when no timeout is given


class _Protocol(asyncio.Protocol):
    """Collects what arrives; wakes the one reader waiting for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.write_paused = False
        self.read_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport, whatever its class (uvloop's do not derive from asyncio's)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.read_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport: HTTP/1.1 never half-closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self._drain_done()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._drain_done()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _drain_done(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection (plain or TLS) as httpcore reads and writes it."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to `max_bytes` bytes; b"" once the peer closed the connection."""
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            protocol.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await protocol.waiter
            except TimeoutError as exc:
                raise httpcore.ReadTimeout("timed out while reading") from exc
            finally:
                protocol.waiter = None
        buffer = protocol.buffer
        if buffer:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            if protocol.read_paused and len(buffer) <= _HIGH_WATER // 2:
                protocol.read_paused = False
                self._transport.resume_reading()
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(_describe(protocol.error)) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Send `buffer`; waits (up to `timeout`) only while the socket's buffer is full."""
        if not buffer:
            return
        protocol = self._protocol
        if self._transport.is_closing():
            raise httpcore.WriteError(_describe(protocol.error) if protocol.error else "closed")
        self._transport.write(buffer)
        if not protocol.write_paused:
            return
        protocol.drained = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await protocol.drained
        except TimeoutError as exc:
            raise httpcore.WriteTimeout("timed out while writing") from exc
        finally:
            protocol.drained = None
        if protocol.error is not None:
            raise httpcore.WriteError(_describe(protocol.error)) from protocol.error

    async def aclose(self) -> None:
        """Close the connection (whatever is unread is dropped)."""
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """The same connection wrapped in TLS (the handshake bounded by `timeout`)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=timeout or _DEFAULT_HANDSHAKE_TIMEOUT,
                )
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout("timed out during the TLS handshake") from exc
        except (OSError, EOFError, ConnectionError) as exc:  # ssl.SSLError is an OSError
            self._transport.abort()
            raise httpcore.ConnectError(_describe(exc)) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        # From now on the protocol hears from, and pauses, the TLS layer's transport.
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        """What httpcore asks of a stream: the TLS object, addresses, socket, readability."""
        if info == "is_readable":
            # An idle keep-alive connection with data or an EOF waiting was closed by the
            # server (or will answer nothing useful): httpcore then opens a new one.
            return bool(self._protocol.buffer) or self._protocol.eof
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio transports (see the module docstring)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A TCP connection to host:port within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(_describe(exc)) from exc
        sock = transport.get_extra_info("socket")
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            transport.abort()
            raise httpcore.ConnectError(_describe(exc)) from exc
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A Unix socket connection (httpx's `uds=` transports; the guard refuses them)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(_Protocol, path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out connecting to {path}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(_describe(exc)) from exc
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        """Wait, on the running event loop."""
        await asyncio.sleep(seconds)


def _describe(exc: BaseException) -> str:
    """An exception as text, with its class when it says nothing on its own."""
    return str(exc) or type(exc).__name__
