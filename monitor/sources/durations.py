"""Durations ("30s", "15m", "1h", "1d") and sizes ("10MB") as the sources file writes them.

Shared by the configuration and the channels' own settings models, which both validate
with these annotated types.
"""

from __future__ import annotations

import math
import re
from functools import partial
from typing import Annotated, Any

from pydantic import BeforeValidator

MAX_DURATION = 10 * 365 * 86400.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000}


def parse_duration(value: Any, *, allow_zero: bool = False) -> float:
    """Seconds from "30s", "15m", "1h", "1d", "250ms" (a bare number is seconds)."""
    if isinstance(value, bool):
        raise ValueError('a duration is written like "30s", "15m", "1h" or "1d"')
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(
                f'{value!r} is not a duration; write it like "30s", "15m", "1h" or "1d"'
            )
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a duration: it must be a finite number of seconds")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("a duration must be more than zero")
    if seconds > MAX_DURATION:
        # Every duration ends up added to a clock; beyond this, dates overflow.
        raise ValueError(f"{value!r} is longer than ten years, the longest duration taken")
    return seconds


def parse_size(value: Any) -> int:
    """Bytes from "10MB", "500kb", or a bare number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f'{value!r} is not a size; write it like "10MB" or "500KB"')
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError("a size must be more than zero")
    return size


Duration = Annotated[float, BeforeValidator(parse_duration)]
# A duration where "0s" means "none" (e.g. no spacing between requests).
OptionalDuration = Annotated[float, BeforeValidator(partial(parse_duration, allow_zero=True))]
Size = Annotated[int, BeforeValidator(parse_size)]


def format_duration(seconds: float) -> str:
    """The shortest exact way to write a duration: 3600 -> "1h"."""
    for unit in ("d", "h", "m", "s"):
        size = _DURATION_UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
