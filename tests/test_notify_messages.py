"""Message templates: content, escaping, header safety, user overrides and broken templates."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from notify_support import changed_event

from monitor.alerts.messages import MessageRenderer, change_view, diff_link, one_line
from monitor.diff import Change
from monitor.events import Event

CHANGED = changed_event(url="https://news.example.org/a?b=1")


def event_of(**fields: object) -> Event:
    """An event from contract fields, at a fixed time."""
    return Event.from_json({"at": "2026-11-26T09:00:00Z", **fields})


def test_alert_text_and_html_show_what_was_removed_and_added() -> None:
    message = MessageRenderer().alert(
        CHANGED, public_url="https://monitor.example.org/", delivery_id="d-1"
    )

    assert message.subject == "[monitor] Changed: Joint statement on AI safety (newsroom)"
    assert message.problems == ()
    for line in (
        "Changed: Joint statement on AI safety",
        "Source: newsroom",
        "Statement: https://news.example.org/a?b=1",
        "Version: 2 (similarity 91.0%)",
        "- We will not share the model.",
        "+ We will share it.",
        "Removed paragraph:\n- The old paragraph <script>alert(1)</script>.",
        "Added paragraph:\n+ A brand new commitment.",
        "Full diff: https://monitor.example.org/diff?url=https%3A%2F%2Fnews.example.org%2Fa%3Fb%3D1&from=1&to=2",
    ):
        assert line in message.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "<script>" not in message.html
    assert 'We will <del style="background:#fdd;color:#900">not </del>share <del' in message.html
    assert ">the model</del><ins" in message.html and ">it</ins>." in message.html
    assert 'href="https://monitor.example.org/diff?url=https%3A%2F%2Fnews.example.org' in (
        message.html
    )


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("new", {"summary": "The start of it."}, "The start of it."),
        ("removed", {}, "The statement is no longer available at its address."),
        (
            "moved",
            {"moved_from": "https://old.example.org/s"},
            "Moved from: https://old.example.org/s",
        ),
        ("error", {"error": "HTTP 500 from the newsroom"}, "Error: HTTP 500 from the newsroom"),
    ],
)
def test_each_kind_of_event_reads_on_its_own(
    kind: str, extra: dict[str, str], expected: str
) -> None:
    event = event_of(event=kind, source="press", url="https://press.example.org/s", **extra)

    message = MessageRenderer().alert(event)

    assert message.subject == f"[monitor] {kind.capitalize()}: https://press.example.org/s (press)"
    assert expected in message.text


def test_scraped_title_cannot_inject_headers_or_markup() -> None:
    event = replace(CHANGED, title="Hi\r\nBcc: x@example.net\u2028<img src=x onerror=alert(1)>")

    message = MessageRenderer().alert(event)

    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.subject.startswith("[monitor] Changed: Hi Bcc: x@example.net <img")
    assert "<img" not in message.html and "&lt;img src=x onerror=alert(1)&gt;" in message.html


def test_a_javascript_url_is_never_a_link() -> None:
    event = event_of(event="new", source="s", url="javascript:alert(1)")

    html = MessageRenderer().alert(event).html

    assert 'href="javascript' not in html


def test_diff_link_needs_a_public_url() -> None:
    assert diff_link(None, CHANGED) is None
    new = event_of(event="new", source="s", url="https://x/y")
    assert diff_link("https://m.example.org", new) == (
        "https://m.example.org/statement?url=https%3A%2F%2Fx%2Fy"
    )
    changed = event_of(event="changed", source="s", url="https://x/y", version=3)
    assert diff_link("https://m.example.org/", changed) == (
        "https://m.example.org/diff?url=https%3A%2F%2Fx%2Fy&from=2&to=3"
    )


def test_modified_paragraphs_mark_only_the_edited_words() -> None:
    view = change_view(Change("modified", before="one two three", after="one 2 three"))

    assert [(s.op, s.text) for s in view.segments] == [
        ("equal", "one "),
        ("delete", "two"),
        ("insert", "2"),
        ("equal", " three"),
    ]


def test_one_line_flattens_and_shortens() -> None:
    assert one_line("a\r\n\tb\x00c") == "a b c"
    assert one_line("x" * 300, limit=10) == "x" * 9 + "…"


def test_digest_lists_every_alert() -> None:
    events = [
        CHANGED,
        event_of(event="new", source="press", url="https://press.example.org/n", title="New one"),
    ]

    message = MessageRenderer().digest(events)

    assert message.subject == "[monitor] 2 alerts: newsroom, press"
    assert "=== 1/2 ===\nChanged: Joint statement on AI safety" in message.text
    assert "=== 2/2 ===\nNew: New one" in message.text
    assert message.html.count("<h2") == 2


def test_user_templates_override_one_file_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "alert_subject.txt").write_text("ALERT {{ alert.kind }} {{ alert.source }}")

    message = MessageRenderer(tmp_path).alert(CHANGED)

    assert message.subject == "ALERT changed newsroom"
    assert "Removed paragraph:" in message.text  # the built-in body
    assert message.problems == ()


def test_broken_user_templates_fall_back_and_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "alert.html").write_text("<p>ok</p>\n{% if alert.kind %}\n<p>never closed</p>\n")
    (tmp_path / "alert.txt").write_text("Title: {{ alert.title }}\n{{ alert.no_such_field }}\n")
    builtin = MessageRenderer().alert(CHANGED)

    with caplog.at_level(logging.WARNING, logger="monitor.alerts.messages"):
        message = MessageRenderer(tmp_path).alert(CHANGED)

    assert (message.text, message.html) == (builtin.text, builtin.html)
    html_problem, text_problem = sorted(message.problems)
    assert html_problem.startswith(f"template {tmp_path / 'alert.html'}, line ")
    assert "syntax error: Unexpected end of template" in html_problem
    assert text_problem.startswith(f"template {tmp_path / 'alert.txt'}, line 2: UndefinedError: ")
    assert "no_such_field" in text_problem
    assert all(p.endswith("; used the built-in template instead") for p in message.problems)
    assert len([r for r in caplog.records if "used the built-in template" in r.message]) == 2


def test_a_missing_templates_folder_is_reported(tmp_path: Path) -> None:
    message = MessageRenderer(tmp_path / "nope").alert(CHANGED)

    assert message.problems == (
        f"templates folder {tmp_path / 'nope'} does not exist; using the built-in templates",
    )
