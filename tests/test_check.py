"""`monitor check` end to end: real pages on loopback, the real store, the CLI as users run it."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import pytest
from click.testing import Result
from conftest import (
    LoopbackServer,
    check_json,
    checked_yesterday,
    open_state,
    run_cli,
    source_table,
    write_config,
)
from pages import PARTNERSHIP, PARTNERSHIP_EDITED, Noise, press_release

pytestmark = pytest.mark.usefixtures("state_database")  # SQLite and PostgreSQL

TITLE = "Example Corp and Sample Industries announce research partnership"


def page_source(name: str, url: str, extra: str = "") -> str:
    return source_table(name, url, "page", extra)


def run(*args: str) -> Result:
    return run_cli(*args)


@pytest.fixture
def statement(http_server: LoopbackServer, tmp_path: Path) -> tuple[LoopbackServer, Path, str]:
    url = http_server.page("/news/partnership", press_release(TITLE, PARTNERSHIP))
    config = write_config(tmp_path, page_source("corp", url))
    return http_server, config, url


def test_first_check_records_a_silent_baseline(statement, tmp_path):
    server, config, url = statement
    code, events = check_json(config, tmp_path / "state")
    assert code == 0
    assert [e["event"] for e in events] == ["baseline"]
    assert events[0]["url"] == url
    assert events[0]["title"] == TITLE
    store = open_state(tmp_path / "state")
    assert store.outbox() == []  # a baseline alerts nobody
    snap = store.snapshot(store.statements()[0].id)
    assert snap is not None and snap.version == 1
    assert "multi-year partnership" in snap.text
    assert "Most read" not in snap.text and "cookies" not in snap.text


def test_noise_only_changes_report_nothing(statement, tmp_path):
    server, config, url = statement
    check_json(config, tmp_path / "state")
    noisy = Noise(
        rendered_at="2026-11-27 17:45:12 UTC",
        views=98231,
        most_read=["A completely different headline", "Another story"],
        ad_slot="ad-77",
        wrapper_class="content-v2",
        extra_wrapper=True,
        related=["Something else entirely"],
    )
    server.page("/news/partnership", press_release(TITLE, PARTNERSHIP, noisy))
    code, events = check_json(config, tmp_path / "state")
    assert code == 0
    assert events == []
    store = open_state(tmp_path / "state")
    assert store.statements()[0].version == 1


def test_one_word_removed_is_reported_with_the_word(statement, tmp_path):
    server, config, url = statement
    check_json(config, tmp_path / "state")
    edited = list(PARTNERSHIP)
    edited[1] = edited[1].replace("an independent review board", "a review board")
    server.page("/news/partnership", press_release(TITLE, edited, Noise(views=5)))
    code, events = check_json(config, tmp_path / "state")
    assert code == 0
    assert [e["event"] for e in events] == ["changed"]
    event = events[0]
    assert event["version"] == 2
    assert 0.9 < event["similarity"] < 1.0
    assert event["changes"] == [
        {"op": "modified", "before": PARTNERSHIP[1], "after": edited[1]},
    ]


def test_changed_event_says_what_the_edit_means(statement, tmp_path):
    """A softened commitment and a moved date are named in the event's `meaning`."""
    server, config, url = statement
    check_json(config, tmp_path / "state")
    edited = list(PARTNERSHIP)
    edited[1] = edited[1].replace("Example Corp will provide", "Example Corp may provide")
    edited[3] = edited[3].replace("spring of 2027", "spring of 2028")
    server.page("/news/partnership", press_release(TITLE, edited))
    code, events = check_json(config, tmp_path / "state")
    assert code == 0
    (event,) = events
    assert event["meaning"] == [
        {
            "kind": "modality",
            "before": "will",
            "after": "may",
            "direction": "weaker",
            "sentence": edited[1],
        },
        {
            "kind": "date",
            "before": "in the spring of 2027",
            "after": "in the spring of 2028",
            "sentence": "The companies expect the first research programmes to begin in the"
            " spring of 2028.",
        },
    ]


def test_a_plain_edit_has_an_empty_meaning(statement, tmp_path):
    server, config, url = statement
    check_json(config, tmp_path / "state")
    edited = list(PARTNERSHIP)
    edited[1] = edited[1].replace("an independent review board", "a review board")
    server.page("/news/partnership", press_release(TITLE, edited))
    _, events = check_json(config, tmp_path / "state")
    assert [e["meaning"] for e in events] == [[]]


def test_diff_and_check_text_say_what_the_edit_means(statement, tmp_path):
    server, config, url = statement
    state = tmp_path / "state"
    run("check", "--config", str(config), "--state", str(state))
    edited = list(PARTNERSHIP)
    edited[1] = edited[1].replace("Example Corp will provide", "Example Corp may provide")
    server.page("/news/partnership", press_release(TITLE, edited))
    checked = run("check", "--config", str(config), "--state", str(state))
    assert '• "will" → "may" (weaker commitment)' in checked.stdout
    shown = run("diff", url, "--state", str(state))
    assert '• "will" → "may" (weaker commitment)' in shown.stdout
    as_json = json.loads(run("diff", url, "--state", str(state), "--format", "json").stdout)
    assert [(f["kind"], f["before"], f["after"]) for f in as_json["meaning"]] == [
        ("modality", "will", "may")
    ]


def test_changed_statement_is_shown_to_people_in_text(statement, tmp_path):
    server, config, url = statement
    state = tmp_path / "state"
    run("check", "--config", str(config), "--state", str(state))
    edited = [*PARTNERSHIP[:3], PARTNERSHIP[4]]  # the financial-terms paragraph removed
    server.page("/news/partnership", press_release(TITLE, edited))
    result = run("check", "--config", str(config), "--state", str(state))
    assert result.exit_code == 0
    assert "changed" in result.stdout
    assert "Financial terms of the agreement were not disclosed." in result.stdout
    assert "1 source checked" in result.stdout


def test_outage_is_an_error_and_never_a_change(statement, tmp_path):
    server, config, url = statement
    state = tmp_path / "state"
    check_json(config, state)
    server.page("/news/partnership", "<h1>Internal error</h1>", status=500)
    code, events = check_json(config, state)
    assert code == 1
    assert [e["event"] for e in events] == ["error"]
    assert "500" in events[0]["error"]
    # A maintenance page that holds no statement is an error too, not a change.
    server.page("/news/partnership", "<html><body><p>Back soon.</p></body></html>")
    code, events = check_json(config, state)
    assert code == 1 and [e["event"] for e in events] == ["error"]
    server.page("/news/partnership", press_release(TITLE, PARTNERSHIP, Noise(views=1)))
    code, events = check_json(config, state)
    assert code == 0 and events == []
    store = open_state(state)
    assert store.statements()[0].version == 1
    assert store.sources()[0].last_status == "ok"


def test_removed_statement_is_reported_once(statement, tmp_path):
    server, config, url = statement
    state = tmp_path / "state"
    check_json(config, state)
    server.page("/news/partnership", "gone", status=410, content_type="text/plain")
    code, events = check_json(config, state)
    assert code == 0
    assert [e["event"] for e in events] == ["removed"]
    assert events[0]["title"] == TITLE
    code, events = check_json(config, state)
    assert events == []
    assert open_state(state).statements()[0].status == "removed"


@pytest.mark.usefixtures("same_utc_day")
def test_conditional_get_skips_unchanged_pages(http_server, tmp_path):
    body = press_release(TITLE, PARTNERSHIP).encode()

    def handler(req):
        if req.headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"Content-Type": "text/html", "ETag": '"v1"'}, body

    http_server.route("/s", handler)
    config = write_config(tmp_path, page_source("corp", http_server.url("/s")))
    check_json(config, tmp_path / "state")
    code, events = check_json(config, tmp_path / "state")
    assert code == 0 and events == []
    assert http_server.requests[-1][2].get("If-None-Match") == '"v1"'


@pytest.mark.usefixtures("same_utc_day")
def test_a_server_answering_304_to_an_edited_page_is_asked_in_full_once_a_day(
    http_server, tmp_path
):
    # A CMS that keeps Last-Modified at the publication date answers 304 whatever changed.
    stamp = "Thu, 20 Nov 2026 08:00:00 GMT"
    pages = {"now": press_release(TITLE, PARTNERSHIP).encode()}

    def handler(req):
        if req.headers.get("If-Modified-Since") == stamp:
            return 304, {"Last-Modified": stamp}, b""
        return 200, {"Content-Type": "text/html", "Last-Modified": stamp}, pages["now"]

    http_server.route("/s", handler)
    config = write_config(tmp_path, page_source("corp", http_server.url("/s")))
    state = tmp_path / "state"
    check_json(config, state)
    pages["now"] = press_release(TITLE, PARTNERSHIP_EDITED).encode()
    # The same day: conditional, and the server's 304 hides the edit.
    assert check_json(config, state)[1] == []
    assert http_server.requests[-1][2].get("If-Modified-Since") == stamp
    # The first check of the next day asks in full: the edit is found.
    checked_yesterday(state)
    code, events = check_json(config, state)
    assert http_server.requests[-1][2].get("If-Modified-Since") is None
    assert [e["event"] for e in events] == ["changed"]
    assert "two-year" in json.dumps(events[0]["changes"])


def test_ignore_patterns_and_selector_are_applied(http_server, tmp_path):
    paragraphs = [*PARTNERSHIP[:2], "Last updated: 26 November 2026, 09:00"]
    url = http_server.page("/s", press_release(TITLE, paragraphs))
    extra = 'selector = ".post-body"\nignore = ["Last updated: .*"]'
    config = write_config(tmp_path, page_source("corp", url, extra))
    check_json(config, tmp_path / "state")
    http_server.page("/s", press_release(TITLE, [*PARTNERSHIP[:2], "Last updated: 27 Nov"]))
    code, events = check_json(config, tmp_path / "state")
    assert code == 0 and events == []
    snap = open_state(tmp_path / "state").snapshot(1)
    assert snap is not None and "Last updated" not in snap.text
    assert TITLE not in snap.text  # the selector keeps only the body


def test_history_and_diff_show_versions(statement, tmp_path):
    server, config, url = statement
    state = tmp_path / "state"
    check_json(config, state)
    edited = list(PARTNERSHIP)
    edited[3] = edited[3].replace("spring of 2027", "autumn of 2027")
    server.page("/news/partnership", press_release(TITLE, edited))
    check_json(config, state)

    history = run("history", "--state", str(state), url)
    assert history.exit_code == 0
    assert "1" in history.stdout and "2" in history.stdout

    text = run("diff", "--state", str(state), url)
    assert text.exit_code == 0
    assert "spring" in text.stdout and "autumn" in text.stdout

    as_json = json.loads(run("diff", "--state", str(state), "--format", "json", url).stdout)
    assert as_json["from"] == 1 and as_json["to"] == 2
    assert as_json["changes"][0]["op"] == "modified"

    page = run("diff", "--state", str(state), "--format", "html", url).stdout
    assert "<del" in page and "<ins" in page and "autumn" in page

    events = run("history", "--state", str(state), "--format", "json", "corp").stdout
    kinds = [json.loads(line)["event"] for line in events.splitlines()]
    assert kinds == ["changed", "baseline"]

    missing = run("diff", "--state", str(state), "--from", "7", url)
    assert missing.exit_code == 2 and "no version 7" in missing.stderr


def test_tracking_parameters_do_not_make_a_new_statement(http_server, tmp_path):
    http_server.page("/s", press_release(TITLE, PARTNERSHIP))
    plain = write_config(tmp_path, page_source("corp", http_server.url("/s")))
    check_json(plain, tmp_path / "state")
    tracked = write_config(
        tmp_path, page_source("corp", http_server.url("/s?utm_source=x&fbclid=1#top"))
    )
    code, events = check_json(tracked, tmp_path / "state")
    assert code == 0 and events == []


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"%PDF-1.7 binary", "application/pdf", "application/pdf"),
        (b"", "text/html", "no statement"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "text/html", "no statement"),
    ],
    ids=["pdf", "empty", "no-article"],
)
def test_pages_without_a_statement_are_errors(http_server, tmp_path, body, content_type, words):
    url = http_server.page("/s", body, content_type=content_type)
    config = write_config(tmp_path, page_source("corp", url))
    code, events = check_json(config, tmp_path / "state")
    assert code == 1
    assert [e["event"] for e in events] == ["error"]
    assert words in events[0]["error"]


def test_malformed_and_truncated_html_still_yields_the_statement(http_server, tmp_path):
    full = press_release(TITLE, PARTNERSHIP)
    truncated = full[: full.index("</article>")]  # cut off mid-document, tags left open
    broken = truncated.replace("</p>", "", 3).replace("<div class", "<div <<class", 1)
    url = http_server.page("/s", broken)
    config = write_config(tmp_path, page_source("corp", url))
    code, events = check_json(config, tmp_path / "state")
    assert code == 0 and [e["event"] for e in events] == ["baseline"]
    snap = open_state(tmp_path / "state").snapshot(1)
    assert snap is not None and "independent review board" in snap.text


def test_one_failing_source_does_not_stop_the_others(http_server, tmp_path):
    good = http_server.page("/good", press_release(TITLE, PARTNERSHIP))
    bad = http_server.page("/bad", "oops", status=500, content_type="text/plain")
    config = write_config(tmp_path, page_source("good", good) + page_source("bad", bad))
    code, events = check_json(config, tmp_path / "state")
    assert code == 1
    assert sorted((e["source"], e["event"]) for e in events) == [
        ("bad", "error"),
        ("good", "baseline"),
    ]


def test_named_sources_only(http_server, tmp_path):
    a = http_server.page("/a", press_release(TITLE, PARTNERSHIP))
    b = http_server.page("/b", press_release(TITLE, PARTNERSHIP[:2]))
    config = write_config(tmp_path, page_source("a", a) + page_source("b", b))
    code, events = check_json(config, tmp_path / "state", "b")
    assert code == 0 and [e["source"] for e in events] == ["b"]
    result = run("check", "--config", str(config), "--state", str(tmp_path / "s"), "bb")
    assert result.exit_code == 2
    assert "no source is named 'bb'" in result.stderr and "did you mean 'b'" in result.stderr


def _stall_mid_body(req):
    req.send_response(200)
    req.send_header("Content-Type", "text/html")
    req.send_header("Content-Length", "100000")
    req.end_headers()
    req.wfile.write(b"<html><body><p>The start of a page that never ends")
    req.wfile.flush()
    threading.Event().wait(5)  # longer than the 2 s read timeout
    req.close_connection = True


def _gzip_bomb(_req):
    body = gzip.compress(b"\0" * 30_000_000, compresslevel=9)
    return 200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, body


def _huge(_req):
    return 200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 50_000_000


def _redirect_loop(req):
    return 302, {"Location": req.path}, b""


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (_huge, "MB limit"),
        (_gzip_bomb, "MB limit"),
        (_stall_mid_body, "stopped sending"),
        (_redirect_loop, "redirect"),
        (lambda _r: (429, {"Retry-After": "3600"}, b"slow down"), "429"),
        (lambda _r: (200, {"Content-Type": "image/png"}, b"\x89PNG"), "image/png"),
    ],
    ids=["50MB", "gzip-bomb", "stall", "redirect-loop", "429", "image"],
)
def test_hostile_responses_are_errors_and_leave_the_state_intact(statement, tmp_path, fault, words):
    server, config, url = statement
    state = tmp_path / "state"
    check_json(config, state)
    server.route("/news/partnership", fault)
    code, events = check_json(config, state)
    assert code == 1
    assert [e["event"] for e in events] == ["error"]
    assert words in events[0]["error"]
    store = open_state(state)
    assert store.statements()[0].version == 1
    server.page("/news/partnership", press_release(TITLE, PARTNERSHIP, Noise(views=3)))
    assert check_json(config, state) == (0, [])


def test_a_quietly_edited_headline_is_a_change(statement, tmp_path):
    server, config, url = statement
    state = tmp_path / "state"
    check_json(config, state)
    new_title = TITLE.replace("announce", "explore")
    server.page("/news/partnership", press_release(new_title, PARTNERSHIP))
    code, events = check_json(config, state)
    assert [e["event"] for e in events] == ["changed"]
    assert events[0]["changes"] == [
        {"op": "modified", "part": "title", "before": TITLE, "after": new_title}
    ]
    assert events[0]["similarity"] == 1.0  # the body is untouched
