"""Operator regexes (`ignore`) run with a time limit.

A pattern such as `(a+)+$` backtracks exponentially on a long run of "a"s: with the
standard `re` module one page would hang a check (and its worker) for good. The `regex`
package takes a timeout per call, so a runaway pattern fails that check with a message
naming it, and the next check runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import regex

# Seconds one `ignore` pattern may spend on one page: real patterns take microseconds.
IGNORE_TIMEOUT = 1.0


class PatternTimeout(Exception):
    """An `ignore` pattern ran past its time limit on a page."""


@dataclass(frozen=True)
class IgnorePattern:
    """A compiled `ignore` pattern whose substitutions stop at `timeout` seconds."""

    compiled: regex.Pattern[str]
    timeout: float = IGNORE_TIMEOUT

    @property
    def pattern(self) -> str:
        return str(self.compiled.pattern)

    def sub(self, repl: str, text: str) -> str:
        """`text` with every match replaced by `repl`; PatternTimeout past the limit."""
        try:
            return str(self.compiled.sub(repl, text, timeout=self.timeout))
        except TimeoutError:
            raise PatternTimeout(
                f"the ignore pattern {self.pattern!r} took longer than {self.timeout:g}s on "
                "this page (it backtracks too much: simplify it, e.g. no nested repeats "
                "such as (a+)+)"
            ) from None


def compile_ignore(patterns: Iterable[str], timeout: float = IGNORE_TIMEOUT) -> list[IgnorePattern]:
    """The `ignore` patterns of a source, compiled (raises regex.error on a bad one)."""
    return [IgnorePattern(regex.compile(p), timeout) for p in patterns]
