"""Apprise channel: Slack, Discord, Teams, Telegram, ntfy, Matrix… through Apprise URLs.

The title is the message subject and the body its text part. Apprise URLs carry tokens,
so messages name a service only as `scheme://host` (or `scheme://…` when the "host" is a
token) and every part of the configured URLs is masked in quoted errors. When one of
several URLs fails, the whole delivery is retried later, so the others may see it twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr

from monitor.alerts.channels.base import (
    DEFAULT_APPRISE_TIMEOUT,
    ChannelOptions,
    NotifierSettings,
    register,
)
from monitor.alerts.errors import DeliveryError
from monitor.alerts.redact import Redactor, redact_url, redactor_for, url_secrets

if TYPE_CHECKING:
    import apprise

    from monitor.alerts.outgoing import Outgoing

DEFAULT_TIMEOUT = DEFAULT_APPRISE_TIMEOUT


@register
class AppriseNotifier(NotifierSettings):
    """Any service Apprise knows (Slack, Discord, Teams, Telegram, ntfy, Matrix, ...)."""

    type: Literal["apprise"]
    urls: tuple[SecretStr, ...] = Field(min_length=1)

    async def send(self, outgoing: Outgoing, options: ChannelOptions) -> None:
        await send_apprise(self, outgoing, timeout=options.apprise_timeout)

    def describe(self) -> str:
        services = ", ".join(redact_url(url.get_secret_value()) for url in self.urls)
        return f"apprise to {services}"

    def secrets(self) -> list[str]:
        return [part for url in self.urls for part in url_secrets(url.get_secret_value())]


def build_apprise(notifier: AppriseNotifier, redact: Redactor) -> apprise.Apprise:
    """An Apprise object with every URL of the notifier; refuses URLs Apprise cannot use."""
    import apprise  # a large library: loaded when a message goes out, not with the config

    apobj = apprise.Apprise()
    for number, url in enumerate(notifier.urls, start=1):
        if not apobj.add(url.get_secret_value()):
            label = redact(redact_url(url.get_secret_value()))
            raise DeliveryError(
                f"Apprise cannot use URL #{number} ({label}) of notifier {notifier.name}: "
                "check its scheme and form against the Apprise documentation"
            )
    return apobj


async def send_apprise(
    notifier: AppriseNotifier, outgoing: Outgoing, *, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Notify every URL of the notifier; raises DeliveryError unless all accepted."""
    import apprise

    redact = redactor_for(notifier)
    apobj = build_apprise(notifier, redact)
    result = await apobj.async_notify(
        body=outgoing.message.text,
        title=outgoing.message.subject,
        body_format=apprise.NotifyFormat.TEXT,
        timeout=timeout,
    )
    if result:
        return
    failures = [
        f"{service.name} ({redact(redact_url(service.url))}): {_why(service, redact)}"
        for service in result.results
        if service.status != apprise.AppriseResultStatus.SUCCESS
    ]
    total = len(result.results) or len(notifier.urls)
    detail = "; ".join(failures) or f"no service was notified ({result.status.name.lower()})"
    raise DeliveryError(f"Apprise could not notify {len(failures) or total} of {total}: {detail}")


def _why(service: apprise.NotifyResult, redact: Redactor) -> str:
    """The service's outcome and its last warning (e.g. the HTTP status it got)."""
    messages = [e.message for e in service.logs() if e.level in {"WARNING", "ERROR"}]
    what = service.status.name.lower()
    if messages:
        what += ": " + " ".join(messages[-1].split())
    return redact(what)
