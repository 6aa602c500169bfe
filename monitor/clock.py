"""Time as the project stores and shows it: aware UTC, to the second.

The one place for the formats: ISO 8601 with a `Z` for JSON and APIs (`iso_utc`), and
"2026-11-26 09:00 UTC" for people (`utc_text`).
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

# The longest wait a server may ask for (Retry-After) that is taken as it is: a hostile or
# broken server can send any number, and a wait must stay a number every clock can add.
MAX_SERVER_DELAY = 7 * 86400.0


def utcnow() -> dt.datetime:
    """The current time in UTC, to the second (what is stored and shown)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _aware(moment: dt.datetime) -> dt.datetime:
    # Times read back from a database without zones are UTC by construction.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def iso_utc(moment: dt.datetime) -> str:
    """A time as ISO 8601 in UTC with a `Z` (the one format of events and APIs)."""
    return _aware(moment).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def iso_or_none(moment: dt.datetime | None) -> str | None:
    """`iso_utc`, with None for no time."""
    return iso_utc(moment) if moment is not None else None


def parse_utc(text: str) -> dt.datetime:
    """The inverse of `iso_utc` (also accepts `+00:00` and naive times, read as UTC)."""
    return _aware(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def utc_text(moment: dt.datetime) -> str:
    """A time as people read it: "2026-11-26 09:00 UTC"."""
    return _aware(moment).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), at most
    `MAX_SERVER_DELAY`; None when there is none or it cannot be read."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        # Compare as text-length first: int() of a thousand digits is fine, float() of it
        # overflows, and no server means a wait of more than a week.
        return (
            float(int(text))
            if len(text) < 10 and int(text) < MAX_SERVER_DELAY
            else (MAX_SERVER_DELAY)
        )
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    except OverflowError:
        return MAX_SERVER_DELAY
    return min(MAX_SERVER_DELAY, max(0.0, seconds))
