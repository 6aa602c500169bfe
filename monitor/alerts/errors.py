"""Typed errors of alert delivery, with messages written for people (and free of secrets)."""

from __future__ import annotations


class NotificationError(Exception):
    """Base class of every error raised by the notifications package."""


class DeliveryError(NotificationError):
    """A message could not be delivered through a notifier.

    `message` says what happened and, where it can, what to do about it; it never contains
    a password, secret, token or URL credentials (channels redact before raising).
    `retry_after` is the delay in seconds the receiver asked for (HTTP Retry-After), if any.
    `whole_receiver` is True when the failure is the receiver's (down, refusing logins,
    overloaded) rather than this one message's, so the notifier's other queued messages
    would fail the same way and wait for the next attempt too.
    """

    def __init__(
        self, message: str, retry_after: float | None = None, *, whole_receiver: bool = True
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.whole_receiver = whole_receiver

    def __str__(self) -> str:
        return self.message


class UnknownNotifierError(NotificationError):
    """A notifier name that the configuration does not define."""

    def __init__(self, name: str, known: list[str]) -> None:
        choices = ", ".join(sorted(known)) or "none are configured"
        super().__init__(f"no notifier is named {name!r} (configured: {choices})")
        self.name = name
