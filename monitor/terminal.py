"""Text bound for a terminal: scraped titles and URLs, receivers' answers, error messages.

Scraped text is hostile. An escape sequence in a page's title could clear the screen, set
the window title or draw a fake OSC-8 link when `monitor check` prints it; bidi overrides
could make a URL read as another. Everything printed for people goes through
`for_terminal` (and, for rich output, `shown`).
"""

from __future__ import annotations

import re

# Escape sequences first (so their parameters go too), then single control characters:
# C0 but tab and newline, DEL, C1, and the bidi embedding/override/isolate marks.
_SEQUENCES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST (window titles, OSC-8 links)
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI (colours, cursor moves, screen clears)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # any other escape
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def for_terminal(text: str) -> str:
    """`text` without escape sequences, control characters and bidi overrides."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def with_visible_controls(text: str) -> str:
    """`text` with the same characters shown as escapes (`\\x1b`) instead of dropped: for
    diffs, where an edit that only added a control character must still be seen."""
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def shown(text: str) -> str:
    """`for_terminal`, escaped for rich markup (what rich-printed strings need)."""
    from rich.markup import escape

    return escape(for_terminal(text))
