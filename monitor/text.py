"""Scraped and received text made safe for a terminal.

A page title or a receiver's answer is hostile: an ANSI sequence in it can clear the screen,
set the window title, or draw a fake OSC-8 link; a bidi override can make a line read other
than it is. Everything the CLI prints that came from outside passes through `for_terminal`.
"""

from __future__ import annotations

import re

# Whole escape sequences first, so no "[2J" is left behind: CSI (ESC [ ... final byte or the
# one-byte CSI 0x9b), OSC/DCS/APC/PM/SOS strings (ended by BEL or ST), and two-byte escapes.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]P^_X]|[\x90\x9d\x9e\x9f\x98])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# Then any control character left: C0 but tab and newline, DEL, C1, and the bidi controls
# (embeddings, overrides, isolates) and line/paragraph separators.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def for_terminal(text: str, *, lines: bool = True) -> str:
    """The text without escape sequences, control characters or bidi overrides.

    Tabs and newlines stay when `lines` is true (a statement's paragraphs); otherwise they
    become spaces, for one-line fields such as a title.
    """
    clean = _CONTROL.sub("", _SEQUENCE.sub("", text))
    if not lines:
        clean = " ".join(clean.split())
    return clean


def without_bidi(text: str) -> str:
    """The text without bidi controls (for mail subjects, where they reorder what is read)."""
    return _BIDI.sub("", text)
