"""What every channel is: a settings model that knows how to send, describe and redact itself.

A channel is one module in this folder. Its settings class subclasses `NotifierSettings`,
sets `type: Literal["<name>"]` (the `type` key of `[notifiers.<name>]` tables) and is
registered with `@register`; the sources file's validation, redaction, `monitor notify
--test` and the outbox all work from the registry, so adding a channel touches nothing else.

Channel modules are imported when the configuration is validated, so they import their
delivery libraries (aiosmtplib, apprise) inside `send`, not at the top.
"""

from __future__ import annotations

import ssl
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from monitor.sources.durations import Duration

if TYPE_CHECKING:
    import httpx

    from monitor.alerts.outgoing import Outgoing

DEFAULT_APPRISE_TIMEOUT = 30.0  # seconds for one Apprise call; its URLs may set cto/rto too


@dataclass(frozen=True)
class ChannelOptions:
    """Settings of the channels that do not come from the configuration (tests set them).

    `ssl_context` verifies mail servers (default: the system's CAs); `http_transport`
    replaces the webhook's network transport; `apprise_timeout` bounds one Apprise call.
    """

    ssl_context: ssl.SSLContext | None = None
    http_transport: httpx.AsyncBaseTransport | None = None
    apprise_timeout: float = DEFAULT_APPRISE_TIMEOUT


class NotifierSettings(BaseModel):
    """One `[notifiers.<name>]` table; each channel's subclass adds its own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: str
    name: str = ""  # filled from the table key: [notifiers.<name>]
    digest: Duration | None = None  # collect alerts and send one message per window

    # The channel's name, the value of `type` (set by `register`).
    channel: ClassVar[str] = ""

    @abstractmethod
    async def send(self, outgoing: Outgoing, options: ChannelOptions) -> None:
        """Deliver one message; raises DeliveryError (message free of secrets) on failure."""

    @abstractmethod
    def describe(self) -> str:
        """Where this notifier delivers, for people (no secrets)."""

    @abstractmethod
    def secrets(self) -> list[str]:
        """Every secret value the settings hold, to be masked in any text shown or logged."""


_CHANNELS: dict[str, type[NotifierSettings]] = {}
S = TypeVar("S", bound=NotifierSettings)


def register(settings: type[S]) -> type[S]:
    """Class decorator: make a channel's settings model known under its `type` value."""
    fields: dict[str, Any] = settings.model_fields
    kind: str = fields["type"].annotation.__args__[0]  # type: Literal["<name>"]
    settings.channel = kind
    _CHANNELS[kind] = settings
    return settings


def registered() -> dict[str, type[NotifierSettings]]:
    """The channels, by type name, in the order they were registered."""
    return dict(_CHANNELS)
