"""Email channel: a multipart text + HTML message sent with aiosmtplib.

`security = "starttls"` upgrades the connection and refuses to continue without TLS,
`"tls"` connects with TLS from the start (port 465), `"none"` sends in the clear. The
server certificate is verified against the system's CAs (or an `ssl_context` passed in,
e.g. in tests). Each message carries `Message-ID: <delivery id@sender domain>` and an
`X-Monitor-Delivery` header, the same on every retry, so duplicates can be recognised.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator

from monitor.alerts.channels.base import ChannelOptions, NotifierSettings, register
from monitor.alerts.channels.webhook import DELIVERY_HEADER, EVENT_HEADER
from monitor.alerts.errors import DeliveryError
from monitor.alerts.redact import Redactor, redactor_for
from monitor.sources.durations import Duration

if TYPE_CHECKING:
    from monitor.alerts.outgoing import Outgoing

log = logging.getLogger(__name__)


@register
class EmailNotifier(NotifierSettings):
    """Sends a text + HTML email through an SMTP server."""

    type: Literal["email"]
    smtp_host: str
    smtp_port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from")
    to: tuple[str, ...] = Field(min_length=1)
    timeout: Duration = 30.0

    @model_validator(mode="after")
    def _login_is_complete(self) -> EmailNotifier:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: set both or neither")
        return self

    async def send(self, outgoing: Outgoing, options: ChannelOptions) -> None:
        await send_email(self, outgoing, ssl_context=options.ssl_context)

    def describe(self) -> str:
        return (
            f"email via {self.smtp_host}:{self.smtp_port} ({self.security}) to {', '.join(self.to)}"
        )

    def secrets(self) -> list[str]:
        return [self.password.get_secret_value()] if self.password is not None else []


def message_id(delivery_id: str, sender: str) -> str:
    """`<delivery id@domain of the sender>`: stable for one alert across retries."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "statement-monitor"
    return f"<{delivery_id}@{domain or 'statement-monitor'}>"


def build_email(notifier: EmailNotifier, outgoing: Outgoing) -> EmailMessage:
    """The multipart/alternative message (text first, then HTML)."""
    from monitor.alerts.messages import one_line  # templates load only when mail is sent

    msg = EmailMessage()
    msg["Subject"] = one_line(outgoing.message.subject)
    msg["From"] = notifier.sender
    msg["To"] = ", ".join(notifier.to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(outgoing.delivery_id, notifier.sender)
    msg[DELIVERY_HEADER] = outgoing.delivery_id
    msg[EVENT_HEADER] = outgoing.kind
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(outgoing.message.text)
    msg.add_alternative(outgoing.message.html, subtype="html")
    return msg


async def send_email(
    notifier: EmailNotifier, outgoing: Outgoing, *, ssl_context: ssl.SSLContext | None = None
) -> None:
    """Send one delivery; raises DeliveryError when the server does not accept it."""
    import aiosmtplib  # loaded when mail is sent, not when the configuration is read

    where = f"{notifier.smtp_host}:{notifier.smtp_port}"
    redact = redactor_for(notifier)
    context = ssl_context or ssl.create_default_context()
    try:
        refused, _reply = await aiosmtplib.send(
            build_email(notifier, outgoing),
            hostname=notifier.smtp_host,
            port=notifier.smtp_port,
            username=notifier.username,
            password=notifier.password.get_secret_value() if notifier.password else None,
            use_tls=notifier.security == "tls",
            start_tls=notifier.security == "starttls",
            tls_context=context if notifier.security != "none" else None,
            timeout=notifier.timeout,
        )
    except Exception as exc:
        raise _delivery_error(exc, where, notifier, redact) from None
    if refused:
        addresses = ", ".join(f"{to} ({r.code} {r.message})" for to, r in refused.items())
        log.warning(
            "email notifier %s: the mail server %s refused some recipients: %s",
            notifier.name,
            where,
            redact(addresses),
        )


def _delivery_error(
    exc: Exception, where: str, notifier: EmailNotifier, redact: Redactor
) -> DeliveryError:
    """A message for people about what the mail server (or the way to it) did."""
    import aiosmtplib

    server = f"the mail server {where}"
    if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError | asyncio.TimeoutError):
        text = f"{server} did not answer within {notifier.timeout:g}s"
    elif isinstance(exc, aiosmtplib.SMTPTimeoutError):
        text = f"{server} stopped answering (no reply within {notifier.timeout:g}s)"
    elif isinstance(exc, aiosmtplib.SMTPConnectError):
        text = f"cannot connect to {server}: {_connect_reason(exc)}"
    elif isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        text = f"{server} closed the connection before accepting the message ({exc})"
    elif isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        text = (
            f"{server} refused the login of user {notifier.username!r}: {exc.code} "
            f"{exc.message}; check the notifier's username and password"
        )
    elif isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
        text = f"{server} refused every recipient: {refused}"
    elif isinstance(exc, aiosmtplib.SMTPSenderRefused):
        text = f"{server} refused the sender {exc.sender}: {exc.code} {exc.message}"
    elif isinstance(exc, aiosmtplib.SMTPDataError):
        return DeliveryError(
            redact(f"{server} refused the message: {exc.code} {exc.message}"),
            whole_receiver=False,
        )
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{server} answered {exc.code} {exc.message}"
    elif isinstance(exc, aiosmtplib.SMTPNotSupported):
        text = f"{server}: {exc}; check the notifier's security setting ({notifier.security})"
    elif isinstance(exc, aiosmtplib.SMTPException):
        text = f"{server}: {exc}"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        text = (
            f"the TLS certificate of {server} does not verify ({exc.verify_message}); "
            "fix the server's certificate or make this machine trust its CA"
        )
    elif isinstance(exc, ssl.SSLError):
        text = f"TLS with {server} failed: {exc.reason or exc}"
    elif isinstance(exc, OSError):
        text = f"cannot reach {server}: {exc.strerror or exc}"
    else:
        text = f"sending through {server} failed: {type(exc).__name__}: {exc}"
    return DeliveryError(redact(text))


def _connect_reason(exc: Exception) -> str:
    text = str(exc)
    if "Errno 111" in text or "refused" in text.lower():
        return "connection refused (is the server running and is smtp_port right?)"
    return text
