"""Finding the statement in a page: automatic extraction or a CSS selector (`article`), the
learned statement container (`container`), and statement links on listings (`discover`).

`extract_article(html, url)` is the public API of the design contract.

The extracting functions load `article` (lxml, BeautifulSoup, trafilatura, htmldate) on
first use, not when the package is imported: a check whose pages did not change needs only
`container`, and `monitor check` starts sooner and smaller without the rest. What they
return (`Article`, `ExtractionError`) comes from the light `base`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from monitor.extract.base import Article, ExtractionError

if TYPE_CHECKING:
    from monitor.extract.article import extract_article, extract_statement

__all__ = ["Article", "ExtractionError", "extract_article", "extract_statement"]
_LAZY_NAMES = ("extract_article", "extract_statement")  # loaded with the extractor, on use


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module("monitor.extract.article"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
