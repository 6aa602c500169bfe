"""Find the statement in a page: its title, body text (paragraphs kept) and publication date."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    """The statement found in a page. `text` keeps paragraphs, separated by blank lines."""

    title: str
    text: str
    published: dt.date | None = None


class ExtractionError(Exception):
    """No statement text could be found in the page (message meant for people)."""


def extract_article(html: str, url: str | None = None) -> Article:
    """Automatic main-content extraction; `text` is empty when the page holds no article."""
    raise NotImplementedError


def extract_statement(
    html: str,
    url: str | None = None,
    *,
    selector: str | None = None,
    ignore: Sequence[re.Pattern[str]] = (),
) -> Article:
    """The statement of one source: a CSS `selector` override, `ignore` regexes dropped.

    Raises ExtractionError when no body text remains.
    """
    raise NotImplementedError
