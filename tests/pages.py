"""Realistic statement pages for tests and benchmarks: a press release wrapped in heavy chrome.

Everything but `paragraphs` and `title` is noise that a good monitor must ignore: the
navigation, a cookie banner, a "most read" sidebar, related posts, a view counter, ad
scripts, and a footer with the time the page was rendered.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Noise:
    """The parts of a page that change without the statement changing."""

    rendered_at: str = "2026-11-26 09:00:00 UTC"
    views: int = 1204
    most_read: Sequence[str] = (
        "Quarterly results beat expectations",
        "New office opens in Lisbon",
        "CEO keynote at the developer conference",
    )
    ad_slot: str = "ad-1"
    wrapper_class: str = "content"
    extra_wrapper: bool = False
    related: Sequence[str] = field(
        default_factory=lambda: ["Earlier partnership news", "Our commitment to safety"]
    )


def press_release(
    title: str,
    paragraphs: Sequence[str],
    noise: Noise | None = None,
    *,
    published: str = "2026-11-20",
    site: str = "Example Corp Newsroom",
    canonical: str | None = None,
) -> str:
    """A full HTML page holding one statement."""
    noise = noise or Noise()
    esc = html.escape
    body = "\n".join(f"        <p>{esc(p)}</p>" for p in paragraphs)
    most_read = "\n".join(
        f'<li><a href="/news/{i}">{esc(t)}</a></li>' for i, t in enumerate(noise.most_read)
    )
    related = "\n".join(
        f'<li><a href="/news/r{i}">{esc(t)}</a></li>' for i, t in enumerate(noise.related)
    )
    article = f"""
      <article class="post">
        <header><h1>{esc(title)}</h1>
          <p class="byline">By the Communications Team ·
            <time datetime="{published}">{published}</time></p>
        </header>
        <div class="post-body">
{body}
        </div>
      </article>"""
    if noise.extra_wrapper:
        article = f'<div class="wrap"><div class="inner">{article}</div></div>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{esc(title)} | {esc(site)}</title>
  <meta property="og:title" content="{esc(title)}">
  {f'<link rel="canonical" href="{esc(canonical)}">' if canonical else ""}
  <meta property="article:published_time" content="{published}T08:00:00Z">
  <script>window.dataLayer=[{{"page":"{noise.ad_slot}","ts":"{noise.rendered_at}"}}];</script>
  <style>.cookie{{position:fixed}}</style>
</head>
<body>
  <div class="cookie-banner" id="cookies">We use cookies to improve your experience.
    <button>Accept all</button> <button>Manage preferences</button></div>
  <header class="site-header">
    <nav><ul><li><a href="/">Home</a></li><li><a href="/news/">News</a></li>
      <li><a href="/about/">About us</a></li><li><a href="/careers/">Careers</a></li>
      <li><a href="/contact/">Contact</a></li></ul></nav>
  </header>
  <main class="{noise.wrapper_class}">
    {article}
    <aside class="sidebar">
      <h2>Most read</h2><ol>{most_read}</ol>
      <div class="views">{noise.views} views</div>
      <div class="ad" id="{noise.ad_slot}"><script src="/ads/{noise.ad_slot}.js"></script>
        Advertisement</div>
    </aside>
    <section class="related"><h2>Related posts</h2><ul>{related}</ul></section>
  </main>
  <footer class="site-footer">
    <p>© 2026 Example Corp. All rights reserved. <a href="/privacy/">Privacy</a>
       <a href="/terms/">Terms</a></p>
    <p class="rendered">Page generated {noise.rendered_at}</p>
  </footer>
</body>
</html>
"""


PARTNERSHIP = [
    "Example Corp and Sample Industries today announced a multi-year partnership to build "
    "open infrastructure for public-interest research, combining Example Corp's computing "
    "platform with Sample Industries' expertise in data stewardship.",
    "Under the agreement, Example Corp will provide dedicated capacity to research "
    "institutions across Europe and North America, while Sample Industries will lead an "
    "independent review board that publishes an annual report on how the capacity is used.",
    "\u201cThis partnership reflects our shared commitment to responsible innovation,\u201d "
    "said Jane Doe, chief executive of Example Corp. \u201cWe will measure our success by the "
    "research it makes possible, not by the revenue it brings.\u201d",
    "The companies expect the first research programmes to begin in the spring of 2027. "
    "Financial terms of the agreement were not disclosed.",
    "Both companies will continue to work with other partners, and the agreement does not "
    "give either company exclusive rights to the other's technology.",
]
# The same statement quietly edited: one word of its first paragraph.
PARTNERSHIP_EDITED = [PARTNERSHIP[0].replace("multi-year", "two-year"), *PARTNERSHIP[1:]]


def newsroom_index(
    items: Sequence[tuple[str, str]],
    *,
    popular: Sequence[tuple[str, str]] = (("/news/old-story", "An old but popular story here"),),
    rendered_at: str = "2026-11-26 09:00",
    feed_href: str | None = None,
) -> str:
    """A newsroom listing: `items` are (href, headline) in listing order, wrapped in chrome."""
    esc = html.escape
    cards = "\n".join(
        f'<article class="card"><h2><a href="{esc(href)}">{esc(title)}</a></h2>'
        f"<p>{esc(title)} — a short teaser for the statement.</p>"
        f'<a class="more" href="{esc(href)}">Read more</a>'
        f'<a class="tag" rel="tag" href="/tag/partnerships/">Partnerships</a></article>'
        for href, title in items
    )
    side = "\n".join(f'<li><a href="{esc(h)}">{esc(t)}</a></li>' for h, t in popular)
    feed = (
        f'<link rel="alternate" type="application/rss+xml" href="{esc(feed_href)}">'
        if feed_href
        else ""
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Newsroom</title>{feed}</head>
<body>
<header><nav><a href="/">Home</a> <a href="/about/">About the company</a>
  <a href="/products/cloud-platform-overview">Our cloud platform overview</a></nav></header>
<main>
  <h1>Newsroom</h1>
  <div class="listing">{cards}</div>
  <div class="pagination"><a href="/news/?page=2">Next page of announcements</a></div>
  <aside class="sidebar"><h3>Most popular</h3><ul>{side}</ul></aside>
</main>
<footer><a href="/privacy/">Privacy statement for the site</a>
  <a href="https://twitter.com/examplecorp">Follow us on social media</a>
  <p>Rendered {rendered_at}</p></footer>
</body></html>"""


def rss_feed(items: Sequence[tuple[str, str, str]], base: str) -> str:
    """An RSS 2.0 feed of (path, title, guid) items."""
    esc = html.escape
    entries = "\n".join(
        f"<item><title>{esc(title)}</title><link>{esc(base + path)}</link>"
        f'<guid isPermaLink="false">{esc(guid)}</guid>'
        f"<pubDate>Thu, 26 Nov 2026 08:00:00 GMT</pubDate>"
        f"<description>{esc(title)}: the first lines of the statement.</description></item>"
        for path, title, guid in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Example Corp news</title><link>{esc(base)}/</link>
<description>Statements</description>{entries}</channel></rss>"""
