"""HTTPS and HTTP/2 through the fetcher's own socket layer, against real TLS servers on
127.0.0.1 (certificates from trustme)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import h2.config
import h2.connection
import h2.events
import pytest
import trustme

from monitor.fetch.base import FetchRequest
from monitor.fetch.client import ConnectionFailed, FetchSettings, HttpFetcher

PAGE = (
    b"<html><head><title>Joint statement</title></head><body><article>"
    b"<p>The ministers agreed on a common position.</p></article></body></html>"
)
FAST = FetchSettings(timeout=2.0, total_timeout=3.0, retries=0)


@pytest.fixture(scope="module")
def certificate() -> trustme.LeafCert:
    return trustme.CA().issue_cert("127.0.0.1", "localhost")


def _server_context(cert: trustme.LeafCert, alpn: list[str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    context.set_alpn_protocols(alpn)
    return context


@contextlib.contextmanager
def https_server(cert: trustme.LeafCert) -> Iterator[str]:
    """An HTTP/1.1-only server over TLS; yields the page's URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client refusing the certificate hangs up mid-handshake, on purpose

    httpd = Server(("127.0.0.1", 0), Handler)
    context = _server_context(cert, ["http/1.1"])
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/statement"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _H2Server(asyncio.Protocol):
    """Answers every HTTP/2 request with PAGE (the h2 library does the framing)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.h2.initiate_connection()
        transport.write(self.h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                headers = [
                    (":status", "200"),
                    ("content-type", "text/html; charset=utf-8"),
                    ("content-length", str(len(PAGE))),
                ]
                self.h2.send_headers(event.stream_id, headers)
                self.h2.send_data(event.stream_id, PAGE, end_stream=True)
        self.transport.write(self.h2.data_to_send())


@contextlib.contextmanager
def http2_server(cert: trustme.LeafCert) -> Iterator[str]:
    """A server that offers HTTP/2 by ALPN; yields the page's URL."""
    loop = asyncio.new_event_loop()
    context = _server_context(cert, ["h2"])

    async def serve() -> asyncio.Server:
        return await loop.create_server(_H2Server, "127.0.0.1", 0, ssl=context)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(serve(), loop).result(5)
    try:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/statement"
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


async def test_an_https_page_is_fetched_over_tls(certificate: trustme.LeafCert) -> None:
    with https_server(certificate) as url:
        async with HttpFetcher(FAST) as fetcher:
            # `verify = false`: the test CA is not one the system trusts
            page = await fetcher.fetch(FetchRequest(url, verify=False))
    assert page.status == 200 and "common position" in page.text
    assert page.http_version == "HTTP/1.1"


async def test_a_certificate_nobody_vouches_for_is_refused(
    certificate: trustme.LeafCert,
) -> None:
    with https_server(certificate) as url:
        async with HttpFetcher(FAST) as fetcher:
            with pytest.raises(ConnectionFailed, match="certificate"):
                await fetcher.fetch(FetchRequest(url))


async def test_http2_is_used_where_the_server_offers_it(certificate: trustme.LeafCert) -> None:
    with http2_server(certificate) as url:
        async with HttpFetcher(FAST) as fetcher:
            first = await fetcher.fetch(FetchRequest(url, verify=False))
            again = await fetcher.fetch(FetchRequest(url, verify=False))  # the same connection
    assert first.http_version == "HTTP/2" and again.http_version == "HTTP/2"
    assert "common position" in first.text and again.text == first.text
