"""Webhook channel: POST the JSON event, signed with HMAC-SHA256 when a secret is set.

Headers sent:
- `Content-Type: application/json`
- `X-Monitor-Delivery: <delivery id>`: the same on every retry of one alert; receivers
  drop duplicates by it.
- `X-Monitor-Event: <event kind>` ("changed", "new", …, "digest", "test").
- `X-Monitor-Signature: sha256=<hex HMAC-SHA256 of the raw body>` when `secret` is set.
- `X-Monitor-Timestamp: <Unix seconds of this attempt>` and, with a secret,
  `X-Monitor-Signature-256: sha256=<hex HMAC-SHA256 of "<timestamp>." + raw body>`: a
  receiver that checks this one and refuses old timestamps cannot be fooled by a captured
  delivery sent again later (the body-only signature stays for receivers written before).
- the notifier's own `headers` (e.g. Authorization), which cannot replace the ones above.

Outcomes: 2xx is delivered. A redirect is not followed (the alert could end up somewhere
the user did not configure) and fails with the target named. 429 and 503 with
Retry-After set the next attempt. Every other status fails and is retried until
`alert_give_up`: a 4xx that is the receiver's configuration (401, 403, 404…) may be fixed
on the receiver's side meanwhile, and the message says what the receiver answered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.metadata
import re
import time
from typing import TYPE_CHECKING, Literal

import httpx
from pydantic import Field, SecretStr, field_validator

from monitor.alerts.channels.base import ChannelOptions, NotifierSettings, register
from monitor.alerts.errors import DeliveryError
from monitor.alerts.redact import Redactor, redact_url, redactor_for, url_secrets
from monitor.clock import retry_after_seconds
from monitor.sources.durations import Duration

if TYPE_CHECKING:
    from monitor.alerts.outgoing import Outgoing

SIGNATURE_HEADER = "X-Monitor-Signature"
TIMESTAMP_HEADER = "X-Monitor-Timestamp"
TIMED_SIGNATURE_HEADER = "X-Monitor-Signature-256"
DELIVERY_HEADER = "X-Monitor-Delivery"
EVENT_HEADER = "X-Monitor-Event"


def _version() -> str:
    try:
        return importlib.metadata.version("statement-monitor")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"statement-monitor/{_version()} (webhook)"

_ANSWER_LIMIT = 300  # characters of a receiver's error answer quoted in messages
# Statuses that say something about this one message, not about the receiver as a whole.
_MESSAGE_STATUSES = frozenset({400, 413, 415, 422})


@register
class WebhookNotifier(NotifierSettings):
    """POSTs the JSON event; signs it with HMAC-SHA256 when a secret is set."""

    type: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    timeout: Duration = 10.0
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
            raise ValueError("a webhook URL must start with http:// or https://")
        return url

    async def send(self, outgoing: Outgoing, options: ChannelOptions) -> None:
        await send_webhook(self, outgoing, transport=options.http_transport)

    def describe(self) -> str:
        return f"webhook to {redact_url(self.url)}"

    def secrets(self) -> list[str]:
        found = [*url_secrets(self.url), *self.headers.values()]
        if self.secret is not None:
            found.append(self.secret.get_secret_value())
        return found


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def sign_timed(secret: str, timestamp: int, body: bytes) -> str:
    """The timestamped signature: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>`."""
    return sign(secret, str(timestamp).encode("ascii") + b"." + body)


def request_headers(
    notifier: WebhookNotifier, outgoing: Outgoing, now: float | None = None
) -> dict[str, str]:
    """Every header of the POST; the monitor's own override the notifier's.

    The timestamp is this attempt's (a retry carries a fresh one), so receivers can refuse
    deliveries older than a few minutes.
    """
    timestamp = int(time.time() if now is None else now)
    headers = dict(notifier.headers)
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: outgoing.delivery_id,
            EVENT_HEADER: outgoing.kind,
            TIMESTAMP_HEADER: str(timestamp),
        }
    )
    if notifier.secret is not None:
        secret = notifier.secret.get_secret_value()
        headers[SIGNATURE_HEADER] = sign(secret, outgoing.payload)
        headers[TIMED_SIGNATURE_HEADER] = sign_timed(secret, timestamp, outgoing.payload)
    return headers


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), clamped."""
    return retry_after_seconds(value, now)


async def send_webhook(
    notifier: WebhookNotifier,
    outgoing: Outgoing,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """POST one delivery; raises DeliveryError unless the receiver answers 2xx."""
    where = redact_url(notifier.url)
    redact = redactor_for(notifier)
    timeout = httpx.Timeout(notifier.timeout)
    try:
        async with (
            httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, transport=transport
            ) as client,
            client.stream(
                "POST",
                notifier.url,
                content=outgoing.payload,
                headers=request_headers(notifier, outgoing),
            ) as response,
        ):
            if response.is_success:
                return
            answer = await _read_some(response)
    except httpx.TimeoutException:
        raise DeliveryError(
            f"webhook {where} did not answer within {notifier.timeout:g}s (the notifier's timeout)"
        ) from None
    except httpx.ConnectError as exc:
        raise DeliveryError(f"cannot connect to webhook {where}: {redact(_reason(exc))}") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(
            f"webhook {where} failed: {type(exc).__name__}: {redact(_reason(exc))}"
        ) from None
    raise _status_error(response, answer, where, redact)


async def _read_some(response: httpx.Response) -> str:
    """The start of a receiver's answer, for the error message."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= _ANSWER_LIMIT * 4:
            break
    text = " ".join(data.decode("utf-8", errors="replace").split())
    return text[:_ANSWER_LIMIT] + ("…" if len(text) > _ANSWER_LIMIT else "")


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return re.sub(r"\s+", " ", text).strip()


def _status_error(
    response: httpx.Response, answer: str, where: str, redact: Redactor
) -> DeliveryError:
    status = response.status_code
    said = f"HTTP {status} {response.reason_phrase}".rstrip()
    quoted = f": {redact(answer)}" if answer else ""
    if response.is_redirect:
        target = redact_url(str(response.headers.get("Location", "")))
        return DeliveryError(
            f"webhook {where} answered {said}, a redirect to {target}; redirects are not "
            "followed, so set the notifier's url to the final address"
        )
    retry_after = None
    if status in {429, 503}:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    hint = ""
    if 400 <= status < 500 and status not in {408, 429}:
        hint = " (the receiver refused the alert: check the notifier's url, secret and headers)"
    return DeliveryError(
        f"webhook {where} answered {said}{quoted}{hint}",
        retry_after,
        whole_receiver=status not in _MESSAGE_STATUSES,
    )
