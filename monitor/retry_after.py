"""Retry-After, as a server gives it: a delay read safely and clamped to a sane maximum.

Both the page fetcher and the webhook channel honour the header. Its value comes from a
server we do not control, so `99999999999999999999`, a date in the year 9999 or a
negative number must give a finite, bounded delay (and nothing that overflows a
`datetime` or `timedelta` later).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math

# No server may make us plan further ahead than this; a longer ask is read as this.
MAX_SERVER_DELAY = 7 * 24 * 3600.0


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date).

    None when there is no header or it cannot be read (the caller uses its own backoff);
    otherwise a number between 0 and MAX_SERVER_DELAY.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return clamp_delay(float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    except OverflowError:
        return MAX_SERVER_DELAY
    return clamp_delay(seconds)


def clamp_delay(seconds: float) -> float:
    """A server-given delay bounded to [0, MAX_SERVER_DELAY] (NaN reads as no wait)."""
    if math.isnan(seconds):
        return 0.0
    return min(max(seconds, 0.0), MAX_SERVER_DELAY)
