"""Rendering comparisons for people: terminal diff, HTML review page (hostile text), JSON."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.diff import Comparison, compare, split_paragraphs
from monitor.review.report import (
    Row,
    diff_context,
    diff_rows,
    diff_to_json,
    environment,
    fold_unchanged,
    render_diff_html,
    render_text,
)
from monitor.sources.urls import safe_href

OLD = """\
Acme Corp today announced that it will acquire Widget Inc.

The deal is worth $1,250 million.

Both boards approved the deal.

Closing is expected in May.

Media contact: press@acme.example

This paragraph will be removed."""

NEW = """\
Acme Corp today announced that it acquire Widget Inc.

The deal is worth $1,350 million.

Both boards approved the deal.

Closing is expected in May.

Media contact: press@acme.example

A brand new paragraph was added."""

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ATTR = '" onmouseover="x'


def page(
    old: str = OLD,
    new: str = NEW,
    *,
    title: str = "Acme buys Widget",
    url: str = "https://acme.example/news/widget",
) -> str:
    return render_diff_html(
        title=title,
        url=url,
        source="acme-news",
        from_version=1,
        to_version=2,
        from_time="2024-05-01 10:00",
        to_time="2024-05-02 10:00",
        comparison=compare(old, new),
        old_text=old,
        new_text=new,
    )


class Markup(HTMLParser):
    """What a browser would see as markup: tags, attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "article", "header", "h1", "p",
    "span", "a", "div", "section", "nav", "details", "summary", "del", "ins",
    "h2", "ul", "li",  # what the edit means (monitor.meaning), above the diff
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "lang", "charset", "name", "content", "http-equiv", "class", "dir", "href", "rel", "id",
    "aria-label", "aria-current", "aria-labelledby",
}  # fmt: skip


def assert_only_our_markup(html: str) -> Markup:
    markup = Markup(html)
    assert set(markup.tags) <= ALLOWED_TAGS
    assert "script" not in markup.tags
    names = {name for name, _ in markup.attributes}
    assert not [name for name in names if name.startswith("on")]
    assert names <= ALLOWED_ATTRIBUTES
    for name, value in markup.attributes:
        if name == "href":
            assert value is not None and value.startswith(("#", "https://", "http://"))
    return markup


# --- terminal ---------------------------------------------------------------------------------


def test_text_shows_removed_and_added_words_inline() -> None:
    text = render_text(compare(OLD, NEW))
    assert "modified ¶1" in text
    assert "Acme Corp today announced that it [-will -]acquire Widget Inc." in text
    assert "The deal is worth $[-1,250-]{+1,350+} million." in text


def test_text_shows_removed_and_added_paragraphs_as_lines() -> None:
    text = render_text(compare(OLD, NEW))
    assert "removed (was ¶6)\n- This paragraph will be removed." in text
    assert "added ¶6\n+ A brand new paragraph was added." in text
    assert text.endswith("\n")


def test_text_shows_a_moved_paragraph_with_its_positions() -> None:
    paras = split_paragraphs(OLD)
    moved = "\n\n".join([paras[1], paras[0], *paras[2:]])
    text = render_text(compare(OLD, moved))
    assert "moved ¶1 (was ¶2)" in text
    assert "The deal is worth $1,250 million." in text


def test_text_of_no_changes() -> None:
    assert render_text(compare(OLD, OLD)) == "no changes\n"


def test_color_text_has_ansi_styles_and_the_same_words() -> None:
    text = render_text(compare(OLD, NEW), color=True)
    assert "\x1b[" in text
    assert "[-will -]" in text
    assert "{+1,350+}" in text


def test_terminal_output_neutralises_control_characters_and_markup() -> None:
    old = "Clear the screen.\n\nKeep."
    new = "Clear the \x1b[2J screen [bold]now[/bold] \u202eevil.\n\nKeep."
    for color in (False, True):
        text = render_text(compare(old, new), color=color)
        assert "\x1b[2J" not in text
        assert "\u202e" not in text
        assert "\\x1b[2J" in text
        assert "[bold]now[/bold]" in text  # shown as typed, not interpreted as rich markup


# --- HTML: hostile text -------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", [SCRIPT, IMG, ATTR])
def test_hostile_paragraph_text_is_escaped_everywhere(hostile: str) -> None:
    old = OLD + f"\n\nRemoved {hostile} here."
    new = NEW.replace("Both boards", f"Both {hostile} boards") + f"\n\nAdded {hostile} here."
    html = page(old, new, title=f"Title {hostile}")
    assert SCRIPT not in html and IMG not in html and ATTR not in html
    assert "onerror=alert(1)>" not in html
    markup = assert_only_our_markup(html)
    shown = "".join(markup.text)
    # The text is there, as text: in the title, the modified, added and removed paragraphs.
    assert shown.count(hostile) >= 5


def test_escaped_forms_are_in_the_page_source() -> None:
    html = page(OLD, NEW + f"\n\n{SCRIPT} {IMG} {ATTR}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#34; onmouseover=&#34;x" in html


def test_hostile_url_never_becomes_a_script_link_or_breaks_an_attribute() -> None:
    for url in ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>x</script>"]:
        html = page(url=url)
        assert_only_our_markup(html)
        assert 'href="javascript' not in html.lower()
    html = page(url='https://acme.example/?q="><script>alert(1)</script>')
    markup = assert_only_our_markup(html)
    assert ("href", 'https://acme.example/?q="><script>alert(1)</script>') in markup.attributes
    assert "<script>" not in html


def test_safe_href() -> None:
    assert safe_href("https://a.example/x") == "https://a.example/x"
    assert safe_href("HTTP://a.example") == "HTTP://a.example"
    assert safe_href("javascript:alert(1)") is None
    assert safe_href("//evil.example") is None
    assert safe_href(None) is None


@settings(max_examples=60, deadline=None)
@given(st.text(), st.text())
def test_any_scraped_text_yields_only_our_markup(old: str, new: str) -> None:
    html = page(old, new, title=new[:40], url=old[:40])
    assert_only_our_markup(html)


# --- HTML: the review ---------------------------------------------------------------------------


def test_word_edits_are_del_and_ins_in_both_views() -> None:
    html = page()
    assert html.count("<del>will </del>") == 2  # inline and side by side
    assert html.count("<ins>1,350</ins>") == 2
    assert html.count("<del>1,250</del>") == 2
    assert "<ins>A brand new paragraph was added.</ins>" in html
    assert "<del>This paragraph will be removed.</del>" in html


def test_page_is_standalone_with_two_views_switchable_without_javascript() -> None:
    html = page()
    assert html.startswith("<!doctype html>")
    assert 'name="viewport"' in html
    assert "<script" not in html.lower()
    assert 'id="diff-inline"' in html and 'id="diff-side"' in html
    assert 'href="#diff-side"' in html and 'href="#diff-inline"' in html
    assert "#diff-side:target ~ .view-side" in html  # the CSS that switches views
    assert "default-src 'none'" in html  # and a CSP that forbids scripts anyway
    assert "similarity 9" in html
    assert "2 modified · 1 added · 1 removed" in html


def test_unchanged_paragraphs_are_dimmed_and_long_stretches_folded() -> None:
    middle = "\n\n".join(f"Unchanged paragraph {n}." for n in range(10))
    html = page(f"Start.\n\n{middle}\n\nEnd.", f"Start!\n\n{middle}\n\nEnd.")
    assert 'class="para same"' in html
    assert html.count("<details") == 2  # one per view
    assert "10 unchanged paragraphs (¶3–¶12)" in html


def test_moved_paragraph_is_marked_in_both_views() -> None:
    paras = split_paragraphs(OLD)
    html = page(OLD, "\n\n".join([*paras[1:], paras[0]]))
    assert "¶6 moved here from ¶1" in html
    assert "¶1 moved from here to ¶6" in html


def test_diff_block_is_a_reusable_fragment() -> None:
    variables = diff_context(
        title="T",
        url="https://a.example",
        source="s",
        from_version=1,
        to_version=2,
        from_time=None,
        to_time=None,
        comparison=compare(OLD, NEW),
        old_text=OLD,
        new_text=NEW,
    )
    fragment = environment().get_template("diff_block.html").render(variables)
    assert "<html" not in fragment and "<del>will </del>" in fragment
    source = environment().loader.get_source(environment(), "diff.html")[0]  # type: ignore[union-attr]
    assert '{% extends "base.html" %}' in source and '{% include "diff_block.html" %}' in source


# --- rows and folding -----------------------------------------------------------------------------


def test_rows_merge_both_versions_in_reading_order() -> None:
    old = "Alpha one.\n\nBravo two.\n\nCharlie three.\n\nDelta four."
    new = "Alpha one!\n\nCharlie three.\n\nBravo two.\n\nEcho five."
    rows = diff_rows(compare(old, new), split_paragraphs(old), split_paragraphs(new))
    assert [(r.kind, r.old_number, r.new_number) for r in rows] == [
        ("modified", 1, 1),
        ("moved_in", 3, 2),  # Charlie, shown where it now is
        ("same", 2, 3),  # Bravo kept its place in the alignment
        ("moved_out", 3, 2),  # where Charlie was
        ("removed", 4, None),
        ("added", None, 4),
    ]


def test_rows_refuse_a_comparison_of_other_texts() -> None:
    with pytest.raises(ValueError):
        diff_rows(compare("A.\n\nB.", "A.\n\nC."), ["A."], ["A.", "C.", "D."])


def test_folding_keeps_context_around_changes() -> None:
    same = [Row("same", n, n, "x", "x") for n in range(1, 6)]
    changed = Row("modified", 6, 6, "a", "b")
    blocks = fold_unchanged([*same, changed, *same], context=1)
    shape = [(len(b.rows), b.folded) for b in blocks]
    assert shape == [(4, True), (1, False), (1, False), (1, False), (4, True)]
    assert [len(b.rows) for b in fold_unchanged(same)] == [5]
    assert fold_unchanged(same)[0].folded


# --- JSON -------------------------------------------------------------------------------------


def test_diff_to_json() -> None:
    data = diff_to_json(compare(OLD, NEW))
    json.dumps(data)
    assert data["unchanged"] is False
    assert 0.9 < data["similarity"] < 1.0
    first = data["changes"][0]
    assert first["op"] == "modified"
    assert (first["old_index"], first["new_index"]) == (0, 0)
    assert {"op": "delete", "text": "will "} in first["words"]
    assert [c["op"] for c in data["changes"]] == ["modified", "modified", "removed", "added"]
    assert diff_to_json(Comparison(1.0)) == {"similarity": 1.0, "unchanged": True, "changes": []}


def test_moved_and_edited_paragraph_shows_its_edits_where_it_now_is():
    old = "Intro stays first.\n\nThe board met on Monday to approve the plan.\n\nA.\n\nB."
    new = "The board met on Tuesday to approve the plan.\n\nIntro stays first.\n\nA.\n\nB."
    comparison = compare(old, new)
    text = render_text(comparison)
    assert "moved and edited" in text and "[-Monday-]{+Tuesday+}" in text
    page = render_diff_html(
        title="T",
        url="https://example.org/s",
        source="s",
        from_version=1,
        to_version=2,
        from_time=None,
        to_time=None,
        comparison=comparison,
        old_text=old,
        new_text=new,
    )
    assert "moved here from ¶2 and edited" in page
    assert "<del>Monday</del>" in page and "<ins>Tuesday</ins>" in page
