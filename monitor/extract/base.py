"""What extraction gives and how a check asks for it, light to import.

A process that only hands pages to another for extraction (a shard of `monitor check`, see
`monitor.cli.extraction`) reads results and errors through these names without loading the
extractor itself (lxml, trafilatura, htmldate: about 0.12 s of CPU).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    """The statement found in a page. `text` keeps paragraphs, separated by blank lines."""

    title: str
    text: str
    published: dt.date | None = None
    canonical_url: str | None = None  # the page's <link rel="canonical">, made absolute


class ExtractionError(Exception):
    """No statement text could be found in the page (message meant for people)."""


# What `read_statement` loads at its first call.
_EXTRACTOR_MODULES = (
    "monitor.extract.article",
    "monitor.extract.container",
    "monitor.extract.patterns",
)


def load_extractor() -> None:
    """Load now what `read_statement` would load at its first call (in a process about to
    fork, or about to serve extractions)."""
    for module in _EXTRACTOR_MODULES:
        importlib.import_module(module)


def read_statement(
    html: str, url: str, selector: str | None, ignore: Sequence[str]
) -> tuple[Article, tuple[str, str] | None]:
    """A page's statement, and the path and digest of its container where one is learned.

    What a check does with a page whose statement may have changed. The extractor loads at
    the first call, in the process that makes it.
    """
    from monitor.extract.article import extract_statement
    from monitor.extract.container import learn_container
    from monitor.extract.patterns import compile_ignore

    patterns = compile_ignore(ignore)  # with a time limit: a runaway pattern fails the check
    article = extract_statement(html, url, selector=selector, ignore=patterns)
    # With a selector the body's place is given; learning applies to automatic extraction.
    learned = learn_container(html, article) if selector is None and article.text else None
    return article, learned
