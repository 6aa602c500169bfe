"""Helpers for the notification tests: a real SMTP server, alerts in a real store, configs."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from monitor.clock import utcnow
from monitor.diff import Change
from monitor.events import Event
from monitor.sources.config import Config
from monitor.state.records import CheckFailed, OutboxAlert, SourceUpdate
from monitor.state.store import Store

USERNAME = "monitor"
PASSWORD = "correct-horse-battery"  # a "secret" that must never show up in errors


# ---------------------------------------------------------------------------------------------
# Alerts and configurations
# ---------------------------------------------------------------------------------------------


def changed_event(
    source: str = "newsroom",
    url: str = "https://news.example.org/statement-1",
    title: str = "Joint statement on AI safety",
    at: dt.datetime | None = None,
) -> Event:
    """A "changed" event with one modified, one removed and one added paragraph."""
    return Event(
        "changed",
        source,
        url,
        title=title,
        version=2,
        similarity=0.91,
        changes=(
            Change("modified", before="We will not share the model.", after="We will share it."),
            Change("removed", before="The old paragraph <script>alert(1)</script>."),
            Change("added", after="A brand new commitment."),
        ),
        at=at or utcnow(),
    )


def queue_alert(store: Store, event: Event, notifiers: Sequence[str] = ("hook",)) -> OutboxAlert:
    """Store an event as one check would, queueing one alert per notifier; returns the last."""
    store.save_check(
        SourceUpdate(
            name=event.source,
            url="https://news.example.org/",
            kind="page",
            checked_at=utcnow(),
            statements=[CheckFailed(url=event.url, events=[event])],
            notifiers=list(notifiers),
        )
    )
    return store.outbox()[-1]


def make_config(notifiers: dict[str, dict[str, Any]], **defaults: Any) -> Config:
    """A validated configuration with these notifiers (and `[defaults]` keys)."""
    return Config.model_validate({"defaults": defaults, "notifiers": notifiers})


def alert(store: Store, alert_id: int) -> OutboxAlert:
    """The current state of one alert."""
    return next(a for a in store.outbox() if a.id == alert_id)


# ---------------------------------------------------------------------------------------------
# A webhook receiver on the shared loopback HTTP server
# ---------------------------------------------------------------------------------------------


@dataclass
class Receiver:
    """Records each POST (headers, raw body) and answers with the next scripted reply."""

    replies: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each POST
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, req: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        body = req.rfile.read(int(req.headers.get("Content-Length", "0")))
        with self.lock:
            self.arrivals.append(time.monotonic())
            self.received.append((dict(req.headers.items()), body))
            reply = self.replies.pop(0) if self.replies else (200, {}, b"ok")
        if self.delay:
            threading.Event().wait(self.delay)
        return reply

    def delivery_ids(self) -> list[str]:
        return [headers["X-Monitor-Delivery"] for headers, _body in self.received]


# ---------------------------------------------------------------------------------------------
# A real SMTP server (aiosmtpd) on 127.0.0.1, in the test's event loop
# ---------------------------------------------------------------------------------------------


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.server.refuse:
            return f"550 5.1.1 <{address}>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.server.drop_data > 0:
            self.server.drop_data -= 1
            assert server.transport is not None
            server.transport.close()  # hang up mid-message, before answering DATA
            return "250 OK"
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.server.messages.append(parsed)
        self.server.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 2.0.0 queued"


@dataclass
class SmtpServer:
    """aiosmtpd on 127.0.0.1 with a trustme certificate, STARTTLS (or TLS) and AUTH.

    `security` is "starttls" (STARTTLS required before AUTH/MAIL), "tls" (TLS from the
    first byte) or "none" (plain, AUTH allowed without TLS).
    """

    security: str = "starttls"
    port: int = 0
    ca: trustme.CA = field(default_factory=trustme.CA)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    drop_data: int = 0
    logins: int = 0
    _server: asyncio.AbstractServer | None = None

    def __post_init__(self) -> None:
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(self._server_context)

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's CA."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.logins += 1
        ok = data.login == USERNAME.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    def _factory(self) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname="mail.test",
            tls_context=self._server_context if self.security == "starttls" else None,
            require_starttls=self.security == "starttls",
            authenticator=self._authenticate,
            auth_require_tls=self.security == "starttls",  # "tls" is TLS from the start
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ssl_context = self._server_context if self.security == "tls" else None
        self._server = await loop.create_server(
            self._factory, "127.0.0.1", self.port, ssl=ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def notifier(self, **overrides: Any) -> dict[str, Any]:
        """An email notifier's configuration pointing at this server."""
        return {
            "type": "email",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "security": self.security,
            "username": USERNAME,
            "password": PASSWORD,
            "from": "Statement Monitor <monitor@example.org>",
            "to": ["analyst@example.org"],
            "timeout": "2s",
            **overrides,
        }
