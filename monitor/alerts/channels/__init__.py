"""The alert channels, registered by their `type` (see `base`): webhook, email, Apprise.

`notifier_settings_union()` is what the configuration validates `[notifiers.*]` tables
with; everything else calls methods of the validated settings (`send`, `describe`,
`secrets`).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field

from monitor.alerts.channels.base import ChannelOptions, NotifierSettings, registered

# Each import registers its channel; the order is the order messages list them in.
# isort: off
from monitor.alerts.channels import webhook  # noqa: F401, E402
from monitor.alerts.channels import email  # noqa: F401, E402
from monitor.alerts.channels import apprise  # noqa: F401, E402

# isort: on

__all__ = [
    "ChannelOptions",
    "NotifierSettings",
    "channel_types",
    "notifier_settings_union",
    "settings_models",
]


def channel_types() -> list[str]:
    """The names `type` may take."""
    return list(registered())


def settings_models() -> list[type[NotifierSettings]]:
    """Every channel's settings model."""
    return list(registered().values())


def notifier_settings_union() -> Any:
    """The pydantic type of one `[notifiers.<name>]` table: the channel picked by `type`."""
    models = tuple(registered().values())
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007
