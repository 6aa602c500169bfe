"""Email alerts through a real aiosmtpd server on 127.0.0.1 (STARTTLS/TLS, AUTH), and its faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from notify_support import PASSWORD, SmtpServer, alert, changed_event, make_config, queue_alert

from monitor.alerts.channels import ChannelOptions
from monitor.alerts.outbox import RetryPolicy, deliver_due
from monitor.sources.config import Config
from monitor.state.store import Store

NO_JITTER = RetryPolicy(jitter=0.0)


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    yield server
    await server.stop()


def mail_config(server: SmtpServer, **overrides: object) -> Config:
    return make_config({"mail": server.notifier(**overrides)})


def trusting(server: SmtpServer) -> ChannelOptions:
    return ChannelOptions(ssl_context=server.client_context())


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


async def test_changed_alert_arrives_once_as_text_and_html(store: Store, smtp: SmtpServer) -> None:
    event = changed_event(title="Joint statement\r\nBcc: attacker@example.net")
    queued = queue_alert(store, event, ["mail"])

    report = await deliver_due(store, mail_config(smtp), options=trusting(smtp))

    assert report.sent == [queued.id] and report.messages == 1
    assert len(smtp.messages) == 1 and smtp.logins == 1
    message = smtp.messages[0]
    assert message["Subject"].strip() == (  # strip: a folded header unfolds to " [monitor]…"
        "[monitor] Changed: Joint statement Bcc: attacker@example.net (newsroom)"
    )
    assert message["Bcc"] is None
    assert smtp.envelopes == [("monitor@example.org", ["analyst@example.org"])]
    assert message["X-Monitor-Delivery"] == queued.delivery_id
    assert message["Message-ID"] == f"<{queued.delivery_id}@example.org>"
    text, html = parts(message)
    assert "- We will not share the model." in text
    assert "+ We will share it." in text
    assert "- The old paragraph <script>alert(1)</script>." in text
    assert "+ A brand new commitment." in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert '<del style="background:#fdd;color:#900">not </del>' in html
    assert ">A brand new commitment.</ins>" in html
    assert alert(store, queued.id).status == "sent"


async def test_server_down_then_up_delivers_exactly_once(store: Store) -> None:
    server = SmtpServer()
    await server.start()
    await server.stop()  # keep the port, nothing listens on it
    queued = queue_alert(store, changed_event(), ["mail"])
    config = mail_config(server)

    down = await deliver_due(store, config, options=trusting(server), policy=NO_JITTER)

    assert down.failed == [queued.id]
    pending = alert(store, queued.id)
    assert pending.status == "pending" and pending.attempts == 1
    assert pending.last_error is not None
    assert pending.last_error.startswith(
        f"cannot connect to the mail server 127.0.0.1:{server.port}: connection refused"
    )
    assert "(attempt 1; next attempt in 30s)" in pending.last_error

    await server.start()
    try:
        up = await deliver_due(store, config, options=trusting(server), ignore_backoff=True)
        again = await deliver_due(store, config, options=trusting(server), ignore_backoff=True)
    finally:
        await server.stop()

    assert up.sent == [queued.id] and again.sent == []
    assert len(server.messages) == 1
    assert alert(store, queued.id).status == "sent"


async def test_refused_recipient_is_named(store: Store, smtp: SmtpServer) -> None:
    smtp.refuse = {"analyst@example.org"}
    queued = queue_alert(store, changed_event(), ["mail"])

    report = await deliver_due(store, mail_config(smtp), options=trusting(smtp))

    assert report.failed == [queued.id] and smtp.messages == []
    error = alert(store, queued.id).last_error or ""
    assert f"the mail server 127.0.0.1:{smtp.port} refused every recipient: " in error
    assert "analyst@example.org (550 5.1.1 <analyst@example.org>: no such mailbox)" in error


async def test_wrong_password_says_so_without_the_password(store: Store, smtp: SmtpServer) -> None:
    queued = queue_alert(store, changed_event(), ["mail"])
    config = mail_config(smtp, password="wrong-password-42")

    report = await deliver_due(store, config, options=trusting(smtp))

    assert report.failed == [queued.id] and smtp.messages == []
    error = alert(store, queued.id).last_error or ""
    assert "refused the login of user 'monitor': 535" in error
    assert "check the notifier's username and password" in error
    assert "wrong-password-42" not in error and PASSWORD not in error


async def test_connection_dropped_mid_message_is_retried(store: Store, smtp: SmtpServer) -> None:
    smtp.drop_data = 1
    queued = queue_alert(store, changed_event(), ["mail"])
    config = mail_config(smtp)

    first = await deliver_due(store, config, options=trusting(smtp))
    error = alert(store, queued.id).last_error or ""
    second = await deliver_due(store, config, options=trusting(smtp), ignore_backoff=True)

    assert first.failed == [queued.id]
    assert "closed the connection before accepting the message" in error
    assert second.sent == [queued.id]
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["X-Monitor-Delivery"] == queued.delivery_id


async def test_untrusted_starttls_certificate_is_refused(store: Store, smtp: SmtpServer) -> None:
    queued = queue_alert(store, changed_event(), ["mail"])
    config = mail_config(smtp)

    refused = await deliver_due(store, config)  # the system CAs do not know the test CA

    assert refused.failed == [queued.id]
    assert smtp.messages == [] and smtp.logins == 0  # no password sent over unverified TLS
    error = alert(store, queued.id).last_error or ""
    assert f"the TLS certificate of the mail server 127.0.0.1:{smtp.port} does not verify" in error
    assert "unable to get local issuer certificate" in error

    trusted = await deliver_due(store, config, options=trusting(smtp), ignore_backoff=True)

    assert trusted.sent == [queued.id] and len(smtp.messages) == 1


@pytest.mark.parametrize("security", ["tls", "none"])
async def test_implicit_tls_and_plain_servers(store: Store, security: str) -> None:
    server = SmtpServer(security=security)
    await server.start()
    try:
        queued = queue_alert(store, changed_event(), ["mail"])
        report = await deliver_due(store, mail_config(server), options=trusting(server))
    finally:
        await server.stop()

    assert report.sent == [queued.id]
    assert len(server.messages) == 1 and server.logins == 1
