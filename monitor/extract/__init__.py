"""Finding the statement in a page: automatic extraction or a CSS selector (`article`), the
learned statement container (`container`), and statement links on listings (`discover`).

`extract_article(html, url)` is the public API of the design contract.

The names below load `article` (lxml, BeautifulSoup, trafilatura, htmldate) on first use,
not when the package is imported: a check whose pages did not change needs only
`container`, and `monitor check` starts sooner and smaller without the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.extract.article import Article, ExtractionError, extract_article, extract_statement

__all__ = ["Article", "ExtractionError", "extract_article", "extract_statement"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("monitor.extract.article"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
