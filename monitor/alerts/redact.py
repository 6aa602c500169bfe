"""Keeping secrets out of logs, stored errors and messages.

Two tools: `redact_url` shortens a URL to what a person needs to recognise it (scheme and
host), and `Redactor` masks every known secret value of a notifier inside any text, such as
an error message quoted from a library or a receiver's answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from monitor.alerts.channels.base import NotifierSettings

MASK = "***"

# Apprise URLs often carry tokens where a host would be (slack://TokenA/TokenB/TokenC).
_HOST_LIKE = re.compile(r"^(localhost|[0-9.]+|\[[0-9a-fA-F:]+\]|([A-Za-z0-9-]+\.)+[A-Za-z]{2,})$")
_MIN_SECRET = 4  # shorter values would mask ordinary words


def redact_url(url: str) -> str:
    """`scheme://host[:port]`, plus "/…" when the URL had a path or query; no credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an unparsable URL)"
    if not parts.scheme:
        return "(a URL without a scheme)"
    if host and not _HOST_LIKE.match(host):
        host = "…"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    rest = parts.path.strip("/") or parts.query
    return f"{parts.scheme}://{netloc}" + ("/…" if rest else "")


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
    if parts.hostname and not _HOST_LIKE.match(parts.hostname):
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
