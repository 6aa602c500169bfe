"""The per-source buttons of the web UI (check now, pause, resume): what the UI needs to draw them.

The daemon's web layer (`monitor.daemon.web`) answers the buttons' POSTs and lends the UI a
`SourceControls`: the CSRF token every form carries and which sources are paused. The
review UI alone (tests, `monitor report`) has none and shows no buttons.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import quote

Action = Literal["recheck", "pause", "resume"]
ACTIONS: tuple[str, ...] = get_args(Action)
CSRF_FIELD = "csrf"
BACK_FIELD = "back"


def action_path(name: str, action: str) -> str:
    """Where a button of one source posts: /sources/<name>/<action>."""
    return f"/sources/{quote(name, safe='')}/{action}"


def csrf_token(secret: bytes) -> str:
    """The forms' CSRF token, derived from a secret (the access token or a per-daemon key).

    A page of another site cannot read our pages, so it cannot learn the token to post with.
    """
    return hmac.new(secret, b"statement-monitor csrf v1", hashlib.sha256).hexdigest()


def csrf_valid(offered: str | None, expected: str) -> bool:
    """Whether a form's token is the right one (constant-time)."""
    if not offered:
        return False
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class SourceControls:
    """What the daemon lends the UI: the CSRF token and the paused sources (read per page)."""

    csrf_token: str
    paused: Callable[[], frozenset[str]]


@dataclass(frozen=True)
class Buttons:
    """The buttons of one rendered page: token, paused sources, and where forms post."""

    csrf_token: str
    paused: frozenset[str]
    root: str = ""
    back: str = "/"  # the page to come back to after a button

    def url(self, name: str, action: str) -> str:
        return self.root + action_path(name, action)
