"""One entry point for every channel: `send(notifier, outgoing, options)`."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx

from monitor.alerts.channels import apprise as apprise_channel
from monitor.alerts.channels import email as email_channel
from monitor.alerts.channels import webhook as webhook_channel
from monitor.alerts.outgoing import Outgoing
from monitor.alerts.redact import redact_url
from monitor.sources.config import AppriseNotifier, EmailNotifier, WebhookNotifier

AnyNotifier = WebhookNotifier | EmailNotifier | AppriseNotifier


@dataclass(frozen=True)
class ChannelOptions:
    """Settings of the channels that do not come from the configuration (tests set them).

    `ssl_context` verifies mail servers (default: the system's CAs); `http_transport`
    replaces the webhook's network transport; `apprise_timeout` bounds one Apprise call.
    """

    ssl_context: ssl.SSLContext | None = None
    http_transport: httpx.AsyncBaseTransport | None = None
    apprise_timeout: float = apprise_channel.DEFAULT_TIMEOUT


async def send(notifier: AnyNotifier, outgoing: Outgoing, options: ChannelOptions) -> None:
    """Deliver through the notifier's channel; raises DeliveryError on failure."""
    if isinstance(notifier, WebhookNotifier):
        await webhook_channel.send_webhook(notifier, outgoing, transport=options.http_transport)
    elif isinstance(notifier, EmailNotifier):
        await email_channel.send_email(notifier, outgoing, ssl_context=options.ssl_context)
    else:
        await apprise_channel.send_apprise(notifier, outgoing, timeout=options.apprise_timeout)


def describe(notifier: AnyNotifier) -> str:
    """Where a notifier delivers, for people (no secrets)."""
    if isinstance(notifier, WebhookNotifier):
        return f"webhook to {redact_url(notifier.url)}"
    if isinstance(notifier, EmailNotifier):
        return (
            f"email via {notifier.smtp_host}:{notifier.smtp_port} ({notifier.security}) "
            f"to {', '.join(notifier.to)}"
        )
    services = ", ".join(redact_url(url.get_secret_value()) for url in notifier.urls)
    return f"apprise to {services}"
