"""Keeping secrets out of logs, stored errors and messages.

`Redactor` masks every known secret value of a notifier inside any text, such as an error
message quoted from a library or a receiver's answer; `url_secrets` lists the parts of a
notifier's URL that may be secret. Showing a URL itself is monitor.sources.urls' job
(`url_site` for a notifier's URL, `redact_url` for a page's).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from monitor.sources.urls import HOST_LIKE

if TYPE_CHECKING:
    from monitor.alerts.channels.base import NotifierSettings

MASK = "***"

_MIN_SECRET = 4  # shorter values would mask ordinary words


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may be secret: credentials, long path segments, query values.

    Also the whole URL, so a library quoting it verbatim is masked too.
    """
    secrets = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return secrets
    secrets += [value for value in (parts.username, parts.password) if value]
    if parts.hostname and not HOST_LIKE.match(parts.hostname):
        secrets.append(parts.hostname)
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    secrets += [value for _key, value in parse_qsl(parts.query) if value]
    return secrets


class Redactor:
    """Masks known secret values (longest first) inside any text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        unique = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        self._secrets = sorted(unique, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


def redactor_for(notifier: NotifierSettings) -> Redactor:
    """A Redactor that knows every secret a notifier's configuration holds."""
    return Redactor(notifier.secrets())
