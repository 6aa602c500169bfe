"""The web UI in a real headless browser: Debian's chromium driven by playwright.

The app is served by uvicorn on 127.0.0.1 (a free port) in a background thread, over the
state built by `monitor check` (see ui_support). Covered: navigating from the dashboard to a
diff by clicking links, switching the inline / side-by-side views (CSS :target, no script),
a screenshot of the diff page kept in test-artifacts/, hostile statements that must show as
text and never run, no Content-Security-Policy violation by our own pages, and the static
export opened from disk.
"""

from __future__ import annotations

import re
import socket
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

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


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
