"""The web UI in a real headless browser: Debian's chromium driven by playwright.

The app is served by uvicorn on 127.0.0.1 (a free port) in a background thread, over the
state built by `monitor check` (see ui_support). Covered: navigating from the dashboard to a
diff by clicking links, switching the inline / side-by-side views (CSS :target, no script),
a screenshot of the diff page kept in test-artifacts/, hostile statements that must show as
text and never run, no Content-Security-Policy violation by our own pages, and the static
export opened from disk.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import uvicorn
from click.testing import CliRunner
from playwright.sync_api import Browser, ConsoleMessage, Dialog, expect, sync_playwright
from playwright.sync_api import Page as BrowserPage
from ui_support import IMG, QUOTES, SCRIPT, UiState, loopback, ui_state  # noqa: F401

from monitor.cli.main import main
from monitor.review.app import create_ui

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# A real Chromium: seconds per test, so `slow`.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def ui_url(ui_state: UiState) -> Iterator[str]:  # noqa: F811
    """The UI served by uvicorn on a free loopback port, for the module's tests."""
    store, config = ui_state.store(), ui_state.config()
    app = create_ui(lambda: store, lambda: config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page with listeners: dialogs that opened, CSP violations, page errors."""

    def __init__(self, page: BrowserPage) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.csp_violations: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(message.text)

    def assert_clean(self) -> None:
        assert self.dialogs == [], "a script ran"
        assert self.errors == []
        assert self.csp_violations == []


@pytest.fixture
def page(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


def test_click_from_the_dashboard_to_a_diff_and_switch_views(
    page: Watched,
    ui_url: str,  # noqa: F811
) -> None:
    p = page.page
    p.goto(ui_url + "/")
    assert p.title() == "Dashboard · statement monitor"
    expect(p.locator("table.sources")).to_contain_text("failing (3 checks in a row)")
    # The stylesheet loaded (from /static, allowed by the policy): badges have a border.
    radius = p.locator(".badge").first.evaluate("e => getComputedStyle(e).borderTopLeftRadius")
    assert radius != "0px"

    p.get_by_role("link", name="corp", exact=True).first.click()
    p.wait_for_url(re.compile(r"/sources/corp$"))
    expect(p.get_by_role("heading", level=1)).to_have_text("corp")

    p.locator("table.statements a", has_text="research partnership").click()
    p.wait_for_url(re.compile(r"/statement\?"))
    expect(p.locator("ol.timeline > li")).to_have_count(3)
    ARTIFACTS.mkdir(exist_ok=True)
    p.screenshot(path=str(ARTIFACTS / "ui-statement.png"), full_page=True)

    p.get_by_role("link", name="Changes from version 2").click()
    p.wait_for_url(re.compile(r"/diff\?.*from=2.*to=3"))
    inline, side = p.locator(".view-inline"), p.locator(".view-side")
    expect(inline).to_be_visible()
    expect(side).to_be_hidden()
    expect(inline.locator("del", has_text="spring")).to_be_visible()
    expect(inline.locator("ins", has_text="autumn")).to_be_visible()
    expect(inline.get_by_text("moved here from ¶3")).to_be_visible()

    p.mouse.wheel(0, 40)  # a little down the page, as a reader would be
    p.wait_for_function("window.scrollY > 0")
    before = p.evaluate("window.scrollY")
    inline.get_by_role("link", name="Side by side").click()
    expect(side).to_be_visible()
    expect(inline).to_be_hidden()
    assert p.evaluate("window.scrollY") == before, "switching views jumped the page"
    expect(side.locator(".cell.old del", has_text="spring")).to_be_visible()
    expect(side.locator(".cell.new ins", has_text="autumn")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    p.screenshot(path=str(ARTIFACTS / "ui-diff-side-by-side.png"), full_page=True)

    side.get_by_role("link", name="Inline").click()
    expect(inline).to_be_visible()
    expect(side).to_be_hidden()
    p.screenshot(path=str(ARTIFACTS / "ui-diff.png"), full_page=True)

    p.get_by_role("link", name="← Earlier change").click()
    p.wait_for_url(re.compile(r"from=1.*to=2"))
    expect(p.locator(".view-inline del", has_text="independent")).to_be_visible()
    page.assert_clean()


def test_a_finding_links_to_its_paragraph_even_from_the_side_view(
    page: Watched,
    ui_state: UiState,  # noqa: F811
    ui_url: str,  # noqa: F811
) -> None:
    p = page.page
    url = quote(ui_state.corp_url, safe="")
    p.goto(f"{ui_url}/diff?url={url}&from=2&to=3#diff-side")
    expect(p.locator(".view-side")).to_be_visible()
    findings = p.locator("section.meaning li")
    expect(findings).to_have_count(2)
    expect(findings.first).to_have_text('"in the spring of 2027" → "in the autumn of 2027" (date)')
    findings.first.get_by_role("link").click()
    # The paragraph is the target: the inline view shows again, scrolled to it, outlined.
    target = p.locator(".para:target")
    expect(target).to_have_count(1)
    expect(target).to_contain_text("autumn of 2027")
    expect(target).to_be_in_viewport()
    expect(p.locator(".view-inline")).to_be_visible()
    outline = target.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    page.assert_clean()


def test_compare_form_picks_any_two_versions(page: Watched, ui_url: str) -> None:  # noqa: F811
    p = page.page
    p.goto(ui_url + "/")
    p.locator("table.events a", has_text="research partnership").first.click()
    p.select_option("select[name=from]", "1")
    p.select_option("select[name=to]", "3")
    p.get_by_role("button", name="Compare").click()
    p.wait_for_url(re.compile(r"/diff\?.*from=1.*to=3"))
    expect(p.locator("p.meta").nth(1)).to_contain_text("version 1")
    expect(p.locator("p.meta").nth(1)).to_contain_text("version 3")
    page.assert_clean()


def test_events_filter_form(page: Watched, ui_url: str) -> None:  # noqa: F811
    p = page.page
    p.goto(ui_url + "/events")
    p.select_option("select[name=source]", "broken")
    p.get_by_role("button", name="Filter").click()
    p.wait_for_url(re.compile(r"source=broken"))
    rows = p.locator("table.events tbody tr")
    expect(rows).to_have_count(1)  # three failed checks in a row: one row, counted
    expect(rows.locator(".badge")).to_have_text("error")
    expect(rows.locator(".count")).to_have_text("×3")
    page.assert_clean()


@pytest.mark.parametrize("path", ["/", "/events", "statement", "diff", "/sources/hostile"])
def test_hostile_text_is_shown_as_text_and_never_runs(
    page: Watched,
    ui_url: str,  # noqa: F811
    ui_state: UiState,  # noqa: F811
    path: str,
) -> None:
    p = page.page
    if path in ("statement", "diff"):
        path = f"/{path}?url={quote(ui_state.hostile_url, safe='')}"
    p.goto(ui_url + path)
    assert p.locator("script").count() == 0
    assert p.locator("main img").count() == 0
    assert p.locator("main b").count() == 0  # the "'><b> did not open a bold element
    body = p.locator("main").inner_text()
    for hostile in (SCRIPT, IMG, QUOTES):
        assert hostile in body
    first = p.get_by_text(SCRIPT, exact=False).first
    expect(first).to_be_visible()
    if path.startswith("/diff"):
        expect(p.locator(".view-inline ins", has_text=IMG).first).to_be_visible()
        p.get_by_role("link", name="Side by side").first.click()
        expect(p.locator(".view-side .cell.new", has_text=QUOTES).first).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        p.screenshot(path=str(ARTIFACTS / "ui-hostile-diff.png"), full_page=True)
    page.assert_clean()


def test_diff_page_reads_on_a_phone(
    browser: Browser,
    ui_url: str,  # noqa: F811
    ui_state: UiState,  # noqa: F811
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        watched = Watched(context.new_page())
        p = watched.page
        p.goto(f"{ui_url}/diff?url={quote(ui_state.corp_url, safe='')}")
        width = p.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"
        p.screenshot(path=str(ARTIFACTS / "ui-diff-phone.png"), full_page=True)
        p.goto(ui_url + "/")
        assert p.evaluate("document.documentElement.scrollWidth") <= 390
        p.screenshot(path=str(ARTIFACTS / "ui-dashboard-phone.png"), full_page=True)
        watched.assert_clean()
    finally:
        context.close()


def test_static_export_opens_from_disk(
    page: Watched,
    ui_state: UiState,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        ["report", "--out", str(out), "--state", str(ui_state.state_dir),
         "--config", str(ui_state.config_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    p = page.page
    p.goto((out / "index.html").as_uri())
    radius = p.locator(".badge").first.evaluate("e => getComputedStyle(e).borderTopLeftRadius")
    assert radius != "0px", "the copied stylesheet did not load from disk"
    p.get_by_role("link", name="corp", exact=True).first.click()
    p.locator("table.statements a", has_text="research partnership").click()
    p.get_by_role("link", name="Changes from version 2").click()
    assert p.url.startswith("file://") and "/diffs/" in p.url
    expect(p.locator(".view-inline ins", has_text="autumn")).to_be_visible()
    p.get_by_role("link", name="Side by side").first.click()
    expect(p.locator(".view-side")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    p.screenshot(path=str(ARTIFACTS / "export-diff.png"), full_page=True)
    page.assert_clean()


# --- the dashboard under a running daemon: buttons, search, unread marks, layout --------------

LONG_SELECTOR = (
    "article.press-release > div.press-release-body-container > section.statement-text-wrapper"
    " > div.paragraphs-of-the-statement-as-published-by-the-press-office p.lead-paragraph"
)
DAEMON_TOKEN = "a-long-token-for-the-browser-tests-0123456789"


def nav_on_one_line(p: BrowserPage) -> bool:
    tops = p.locator("header.site nav a").evaluate_all(
        "links => links.map(a => Math.round(a.getBoundingClientRect().top))"
    )
    return len(set(tops)) == 1


def column_share(p: BrowserPage, table: str, index: int) -> float:
    """How much of a table's width one column takes (from its header cell)."""
    return float(
        p.locator(table).evaluate(
            f"t => t.querySelectorAll('thead th')[{index}].getBoundingClientRect().width"
            " / t.getBoundingClientRect().width"
        )
    )


@pytest.mark.slow
def test_dashboard_under_the_daemon_buttons_search_unread_and_layout(
    browser: Browser, tmp_path: Path
) -> None:
    from conftest import serving
    from pages import PARTNERSHIP, press_release
    from service_support import ROOT, Daemon, wait_until
    from ui_support import CORP_TITLE, CORP_V2, CORP_V3

    with serving() as server:
        corp = server.page("/news/partnership", press_release(CORP_TITLE, PARTNERSHIP))
        verbose = server.page("/news/verbose", press_release("Verbose", PARTNERSHIP))
        broken = server.page("/news/broken", "<h1>Internal error</h1>", status=500)
        config = tmp_path / "sources.toml"
        config.write_text(
            '[defaults]\ntimeout = "2s"\nretries = 0\ninterval = "1h"\n'
            f'[[sources]]\nname = "corp"\nurl = "{corp}"\nkind = "page"\n'
            f'[[sources]]\nname = "verbose"\nurl = "{verbose}"\nkind = "page"\n'
            f'selector = "{LONG_SELECTOR}"\n'
            f'[[sources]]\nname = "broken"\nurl = "{broken}"\nkind = "page"\n',
            encoding="utf-8",
        )
        state = tmp_path / "state"
        for text in (PARTNERSHIP, CORP_V2, CORP_V2):  # a change, and three failures in a row
            server.page("/news/partnership", press_release(CORP_TITLE, text))
            # In a process of its own: the browser's event loop runs in this thread.
            done = subprocess.run(
                [sys.executable, "-m", "monitor", "check", "--config", str(config),
                 "--state", str(state)],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                text=True, timeout=60, check=False,
            )  # fmt: skip
            assert done.returncode == 1, done.stdout + done.stderr  # 1: two sources fail
        daemon = Daemon(config, state, tmp_path / "daemon.log", env={"MONITOR_TOKEN": DAEMON_TOKEN})
        try:
            daemon.start()
            auth = {"Authorization": f"Bearer {DAEMON_TOKEN}"}

            def api_sources() -> dict[str, dict[str, object]]:
                body = daemon.get("/api/sources", headers=auth).json()
                return {s["name"]: s for s in body["sources"]}

            context = browser.new_context(viewport={"width": 1280, "height": 900})
            watched = Watched(context.new_page())
            p = watched.page
            p.goto(f"{daemon.base_url}/?token={DAEMON_TOKEN}")
            assert p.url == daemon.base_url + "/"
            expect(p.locator("table.sources tbody tr")).to_have_count(3)
            assert "new since your last visit" not in p.locator("main").inner_text()

            # A long error is cut, the whole a click away; it does not take the table's width.
            clipped = p.locator("tr.source-error details.clip").first
            expect(clipped.locator(".full")).to_be_hidden()
            clipped.locator("summary").click()
            expect(clipped.locator(".full")).to_contain_text(LONG_SELECTOR)
            ARTIFACTS.mkdir(exist_ok=True)
            p.screenshot(path=str(ARTIFACTS / "ui-dashboard.png"), full_page=True)
            assert column_share(p, "table.sources", 0) > 0.15  # the source column
            assert column_share(p, "table.sources", 1) < 0.4  # the status column
            ARTIFACTS.mkdir(exist_ok=True)
            p.screenshot(path=str(ARTIFACTS / "ui-dashboard.png"), full_page=True)

            # Pause: no checks until resumed, shown on the dashboard, kept across a reload.
            row = p.locator("tr", has=p.get_by_role("link", name="corp", exact=True))
            row.get_by_role("button", name="Pause").click()
            p.wait_for_url(re.compile(r"done=pause"))
            expect(p.get_by_role("status")).to_have_text(
                "corp is paused: no checks until it is resumed."
            )
            expect(row.locator(".badge-paused")).to_be_visible()
            assert api_sources()["corp"]["paused"] is True
            daemon.send(signal.SIGHUP)
            daemon.wait_for_log(r"reloaded .*sources scheduled")
            assert api_sources()["corp"]["paused"] is True
            p.reload()
            row.get_by_role("button", name="Resume").click()
            p.wait_for_url(re.compile(r"done=resume"))
            assert api_sources()["corp"]["paused"] is False

            # Check now: the edit is found at once, and marked unread on the next visit.
            server.page("/news/partnership", press_release(CORP_TITLE, CORP_V3))
            row.get_by_role("button", name="Check corp now").click()
            p.wait_for_url(re.compile(r"done=recheck"))

            def changes() -> int:
                events = daemon.get("/api/events?source=corp&kind=changed", headers=auth)
                return len(events.json()["events"])

            wait_until(lambda: changes() == 2, what="the check asked for")
            p.goto(daemon.base_url + "/")
            expect(p.locator("tr.unread")).to_have_count(1)
            expect(p.locator(".stats")).to_contain_text("1 new since your last visit")
            p.reload()
            expect(p.locator("tr.unread")).to_have_count(0)

            # Search by a word of the URL: the source and its statement.
            p.fill("input[name=q]", "partnership")
            p.get_by_role("button", name="Search").click()
            p.wait_for_url(re.compile(r"\?q=partnership"))
            expect(p.locator("table.sources tbody tr")).to_have_count(1)
            expect(p.locator("ul.results")).to_contain_text(CORP_TITLE)

            # The events table gives the "What" column the width; errors are one row.
            p.goto(daemon.base_url + "/events")
            assert column_share(p, "table.events", 4) > 0.35
            expect(p.locator("tr.event-error .count")).to_have_text(["×3", "×3"])
            watched.assert_clean()
            context.close()

            for width in (390, 360):
                phone = browser.new_context(
                    viewport={"width": width, "height": 844}, device_scale_factor=2
                )
                watched = Watched(phone.new_page())
                p = watched.page
                p.goto(f"{daemon.base_url}/?token={DAEMON_TOKEN}")
                assert nav_on_one_line(p), f"the header wraps at {width} px"
                assert p.evaluate("document.documentElement.scrollWidth") <= width
                expect(p.locator("button.recheck").first).to_be_visible()
                if width == 390:
                    p.screenshot(path=str(ARTIFACTS / "ui-dashboard-phone.png"), full_page=True)
                watched.assert_clean()
                phone.close()
            code, _ = daemon.stop()
            assert code == 0
        finally:
            daemon.close()
