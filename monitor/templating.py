"""The one way templates are set up: Jinja2, strict about undefined names, autoescaping.

Review pages escape every template (scraped text is hostile, whatever the file's name);
alert messages have text templates too (subjects, plain-text mail), so there autoescaping
follows the file name (`.html`, `.htm`, `.xml`).
"""

from __future__ import annotations

import jinja2


def environment(loader: jinja2.BaseLoader, *, text_too: bool = False) -> jinja2.Environment:
    """A Jinja2 environment for `loader`; `text_too` keeps plain-text templates unescaped."""
    autoescape: bool | object = True
    if text_too:
        autoescape = jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml"), default_for_string=False, default=False
        )
    env = jinja2.Environment(
        loader=loader,
        autoescape=autoescape,  # type: ignore[arg-type]
        undefined=jinja2.StrictUndefined,  # a misspelt variable is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=text_too,
    )
    env.filters["percent"] = lambda value: f"{float(value) * 100:.1f}%"
    return env
