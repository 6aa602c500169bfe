"""Apprise channel: Slack, Discord, Teams, Telegram, ntfy, Matrix… through Apprise URLs.

The title is the message subject and the body its text part. Apprise URLs carry tokens,
so messages name a service only as `scheme://host` (or `scheme://…` when the "host" is a
token) and every part of the configured URLs is masked in quoted errors. When one of
several URLs fails, the whole delivery is retried later, so the others may see it twice.
"""

from __future__ import annotations

import apprise

from monitor.alerts.errors import DeliveryError
from monitor.alerts.outgoing import Outgoing
from monitor.alerts.redact import Redactor, redact_url, redactor_for
from monitor.sources.config import AppriseNotifier

DEFAULT_TIMEOUT = 30.0  # seconds for the whole call; Apprise URLs may set cto/rto too


def build_apprise(notifier: AppriseNotifier, redact: Redactor) -> apprise.Apprise:
    """An Apprise object with every URL of the notifier; refuses URLs Apprise cannot use."""
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
