"""Finding the statement in a page: automatic extraction or a CSS selector (`article`), the
learned statement container (`container`), and statement links on listings (`discover`).

`extract_article(html, url)` is the public API of the design contract.
"""

from monitor.extract.article import Article, ExtractionError, extract_article, extract_statement

__all__ = ["Article", "ExtractionError", "extract_article", "extract_statement"]
