"""The archive as users meet it: `monitor check` writes it, `monitor archive` exports and
verifies it, `monitor extract` re-reads it, the UI shows it, retention trims it."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import LoopbackServer
from pages import PARTNERSHIP, Noise, press_release
from ui_support import AsgiClient

from monitor.archive import archive_files, read_response, read_version
from monitor.archive.keeper import apply_retention
from monitor.cli.main import main
from monitor.review.app import create_ui
from monitor.sources.config import load_config
from monitor.state.store import Store

TITLE = "Example Corp and Sample Industries announce research partnership"
EDITED = [PARTNERSHIP[0].replace("multi-year", "one-year"), *PARTNERSHIP[1:]]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_config(tmp_path: Path, url: str, defaults: str = "") -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[defaults]\ntimeout = "2s"\nretries = 0\n{defaults}\n'
        f'[[sources]]\nname = "corp"\nurl = "{url}"\nkind = "page"\n',
        encoding="utf-8",
    )
    return path


def check(config: Path, state: Path) -> list[dict[str, object]]:
    result = run("check", "--config", str(config), "--state", str(state), "--format", "json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def two_versions(http_server: LoopbackServer, tmp_path: Path) -> tuple[Path, Path, str]:
    """A statement checked, edited and checked again: config, state folder, URL."""
    url = http_server.page("/news/partnership", press_release(TITLE, PARTNERSHIP))
    config = write_config(tmp_path, url)
    state = tmp_path / "state"
    assert [e["event"] for e in check(config, state)] == ["baseline"]
    http_server.page("/news/partnership", press_release(TITLE, EDITED))
    assert [e["event"] for e in check(config, state)] == ["changed"]
    return config, state, url


def test_each_version_is_archived_as_fetched_instead_of_in_the_database(
    two_versions: tuple[Path, Path, str],
) -> None:
    _config, state, url = two_versions
    store = Store.open(state)
    statement = store.statements()[0]
    snapshots = store.snapshots(statement.id)

    refs = [s.archived for s in snapshots]

    assert all(ref is not None for ref in refs)
    assert [read_response(state / "archive", r).payload for r in refs if r] == [
        press_release(TITLE, PARTNERSHIP).encode(),
        press_release(TITLE, EDITED).encode(),
    ]
    assert store.raw_page(statement.id, 1) is None  # not kept twice
    records = read_version(state / "archive", refs[1])  # type: ignore[arg-type]
    meta = next(r for r in records if r.record_type == "metadata").payload.decode()
    assert "version: 2\r\n" in meta and f"text-sha256: {snapshots[1].text_hash}" in meta
    assert f"statement-url: {url}" in meta
    request = next(r for r in records if r.record_type == "request")
    assert request.block.startswith(b"GET /news/partnership HTTP/1.1\r\n")
    assert b"statement-monitor" in request.block  # the User-Agent sent


def test_export_verify_and_extract_from_the_command_line(
    two_versions: tuple[Path, Path, str], tmp_path: Path
) -> None:
    config, state, url = two_versions
    out = tmp_path / "evidence" / "corp.warc.gz"

    exported = run("archive", "export", "corp", "--state", str(state), "--out", str(out))
    verified = run("archive", "verify", "--state", str(state), "--config", str(config))
    extracted = run("extract", "--state", str(state), "--version", "1", url)

    assert exported.exit_code == 0, exported.output
    assert "2 archived fetch(es)" in exported.output
    warcio = Path(sys.executable).parent / "warcio"
    check_run = subprocess.run([str(warcio), "check", str(out)], capture_output=True, timeout=60)
    assert check_run.returncode == 0, check_run.stdout
    assert len((tmp_path / "evidence" / "corp.cdxj").read_text().splitlines()) == 2
    assert verified.exit_code == 0 and verified.output.startswith("ok: 1 file(s)")
    assert extracted.exit_code == 0
    assert extracted.stdout.startswith(TITLE)
    assert "multi-year" in extracted.stdout and "one-year" not in extracted.stdout
    assert "the same text as stored" in extracted.stderr
    # by URL and date: only what was fetched since then
    later = run(
        "archive", "export", url, "--state", str(state), "--since", "2999-01-01", "--out", str(out)
    )
    assert later.exit_code == 1 and "no archived version matches" in later.output


def test_verify_fails_naming_the_record_after_one_flipped_byte(
    two_versions: tuple[Path, Path, str],
) -> None:
    config, state, url = two_versions
    store = Store.open(state)
    ref = store.snapshots(store.statements()[0].id)[0].archived
    assert ref is not None
    path = state / "archive" / ref.file
    data = bytearray(path.read_bytes())
    data[ref.offset + 200] ^= 0x04
    path.write_bytes(bytes(data))

    result = run("archive", "verify", "--state", str(state), "--config", str(config))

    assert result.exit_code == 1
    assert f"{ref.file} @ {ref.offset} ({url})" in result.output
    assert "FAILED" in result.output


def test_a_compressed_page_is_archived_compressed_and_read_back_decoded(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    html = press_release(TITLE, PARTNERSHIP).encode()
    wire = gzip.compress(html, mtime=0)
    http_server.route(
        "/news/gz",
        lambda _request: (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, wire),
    )
    config = write_config(tmp_path, http_server.url("/news/gz"))
    check(config, tmp_path / "state")
    store = Store.open(tmp_path / "state")
    statement = store.statements()[0]
    ref = store.snapshots(statement.id)[0].archived
    assert ref is not None

    response = read_response(tmp_path / "state" / "archive", ref)
    extracted = run("extract", "--state", str(tmp_path / "state"), "--version", "1", statement.url)

    assert response.payload == wire  # the bytes as they came over the wire
    assert response.http_header("Content-Encoding") == "gzip"
    assert "multi-year partnership" in extracted.stdout


def test_archive_all_keeps_fetches_that_changed_only_the_page(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = http_server.page("/news/p", press_release(TITLE, PARTNERSHIP))
    config = write_config(tmp_path, url, 'archive = "all"')
    state = tmp_path / "state"
    check(config, state)
    http_server.page("/news/p", press_release(TITLE, PARTNERSHIP, Noise(views=99999)))
    assert check(config, state) == []  # noise: no event
    check(config, state)  # the same bytes again: nothing new to keep

    store = Store.open(state)
    fetches = store.archived()

    assert [(f.version, f.capture_id is None) for f in fetches] == [(1, True), (1, False)]
    noisy = read_response(state / "archive", fetches[1].ref)
    assert b"99999" in noisy.payload
    assert run("archive", "verify", "--state", str(state)).exit_code == 0


def test_archive_off_keeps_the_raw_page_in_the_database(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = http_server.page("/news/p", press_release(TITLE, PARTNERSHIP))
    config = write_config(tmp_path, url, 'archive = "off"')
    check(config, tmp_path / "state")
    store = Store.open(tmp_path / "state")
    statement = store.statements()[0]

    assert not (tmp_path / "state" / "archive").exists()
    assert store.snapshots(statement.id)[0].archived is None
    assert "multi-year partnership" in (store.raw_page(statement.id, 1) or "")
    extracted = run("extract", "--state", str(tmp_path / "state"), "--version", "1", url)
    assert "multi-year partnership" in extracted.stdout


def test_the_statement_page_links_each_version_as_fetched_with_its_scripts_blocked(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    hostile = press_release(TITLE, PARTNERSHIP).replace(
        "</head>", "<script>document.title='pwned'</script></head>"
    )
    url = http_server.page("/news/p", hostile)
    config_path = write_config(tmp_path, url)
    state = tmp_path / "state"
    check(config_path, state)
    store, config = Store.open(state), load_config(config_path)
    client = AsgiClient(create_ui(lambda: store, lambda: config))

    page = client.get("/statement", params={"url": url})
    link = f"/original?url={url.replace(':', '%3A').replace('/', '%2F')}&amp;version=1"
    original = client.get("/original", params={"url": url, "version": "1", "source": "corp"})

    assert page.status_code == 200 and "As fetched" in page.text
    assert link in page.text
    assert original.status_code == 200
    assert original.text == hostile  # exactly what the server sent
    policy = original.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy and "'unsafe-inline'" not in policy.split("style-src")[0]
    assert original.headers["x-content-type-options"] == "nosniff"
    missing = client.get("/original", params={"url": url, "version": "7"})
    assert missing.status_code == 404


def test_retention_trims_old_versions_but_never_the_newest(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = http_server.page("/news/p", press_release(TITLE, PARTNERSHIP))
    config_path = write_config(tmp_path, url, "keep_versions = 2")
    state = tmp_path / "state"
    for words in ("multi-year", "two-year", "three-year"):
        text = [PARTNERSHIP[0].replace("multi-year", words), *PARTNERSHIP[1:]]
        http_server.page("/news/p", press_release(TITLE, text))
        check(config_path, state)
    store, config = Store.open(state), load_config(config_path)
    statement = store.statements()[0]

    trimmed = apply_retention(config, store)

    assert trimmed.versions == 1
    assert [s.version for s in store.snapshots(statement.id)] == [2, 3]
    assert trimmed.files == ()  # the day's file still holds versions 2 and 3
    # a year later with archive_keep: everything old goes, except the newest version,
    # and files nothing points into any more are deleted
    store.close()
    config_path.write_text(
        config_path.read_text().replace("keep_versions = 2", 'archive_keep = "30d"')
    )
    config = load_config(config_path)
    store = Store.open(state)
    stale = state / "archive" / "monitor-20250101-001.warc.gz"
    stale.write_bytes(b"")
    os.utime(stale, (0, 0))
    later = apply_retention(config, store, dt.datetime.now(dt.UTC) + dt.timedelta(days=365))
    assert later.versions == 1
    assert [s.version for s in store.snapshots(statement.id)] == [3]
    assert later.files == ("monitor-20250101-001.warc.gz",)
    assert [p.name for p in archive_files(state / "archive")] != []
    assert run("archive", "verify", "--state", str(state)).exit_code == 0


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_in_a_browser_the_page_as_fetched_shows_but_runs_and_loads_nothing(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    import socket
    import threading
    import time

    import uvicorn
    from playwright.sync_api import Dialog, sync_playwright

    beacon = http_server.url("/beacon.gif")
    hostile = (
        press_release(TITLE, PARTNERSHIP)
        .replace(
            "</head>",
            "<script>alert('ran'); document.title = 'pwned'</script>"
            "<style>h1 { color: rgb(200, 0, 0) }</style></head>",
        )
        .replace("</body>", f'<img src="{beacon}"><iframe src="{beacon}"></iframe></body>')
    )
    url = http_server.page("/news/p", hostile)
    config_path = write_config(tmp_path, url)
    check(config_path, tmp_path / "state")
    store, config = Store.open(tmp_path / "state"), load_config(config_path)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(create_ui(lambda: store, lambda: config), log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    dialogs: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()

            def on_dialog(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(f"{base}/statement?url={url}")
            page.get_by_role("link", name="As fetched").click()
            page.wait_for_load_state("load")
            shown = page.locator("h1").first
            assert shown.inner_text() == TITLE
            assert shown.evaluate("h => getComputedStyle(h).color") == "rgb(200, 0, 0)"
            assert page.title() != "pwned"
            assert "multi-year partnership" in page.inner_text("body")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert dialogs == []  # the script never ran
    assert http_server.hits("/beacon.gif") == 0  # nothing was loaded from the page's links


def test_a_redirected_statement_is_archived_at_its_final_url(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    final = http_server.page("/news/2026/partnership", press_release(TITLE, PARTNERSHIP))
    http_server.route("/p/123", lambda _request: (301, {"Location": "/news/2026/partnership"}, b""))
    config = write_config(tmp_path, http_server.url("/p/123"))
    check(config, tmp_path / "state")
    store = Store.open(tmp_path / "state")
    ref = store.snapshots(store.statements()[0].id)[0].archived
    assert ref is not None

    records = {r.record_type: r for r in read_version(tmp_path / "state" / "archive", ref)}

    assert records["response"].target_uri == final
    assert records["request"].block.startswith(b"GET /news/2026/partnership HTTP/1.1\r\n")
    meta = records["metadata"].payload.decode()
    assert f"requested-url: {http_server.url('/p/123')}\r\n" in meta
