"""`${ENV}` secrets inside source URLs never leave the fetch: the URL is kept as its template
everywhere it is stored, printed, logged, served or sent; only the request carries them."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest
from conftest import LoopbackServer, run_cli, source_table, write_config
from notify_support import Receiver
from pages import PARTNERSHIP, press_release

from monitor.sources.urls import UrlSecrets, redact_url

PASS = "s3cret-pass@word"
KEY = "key-0123456789abcdef"
ENV = {"SRC_PASS": PASS, "SRC_KEY": KEY}
TITLE = "Example Corp and Sample Industries announce research partnership"


def _leaks(text: str) -> list[str]:
    forms = {PASS, KEY, "s3cret-pass%40word", "s3cret-pass", "0123456789abcdef"}
    return [form for form in forms if form in text]


def test_no_output_channel_shows_a_secret_of_a_source_url(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.page("/s", press_release(TITLE, PARTNERSHIP))
    http_server.page("/gone", "down", status=500)
    hook, chat = Receiver(), Receiver()
    http_server.route("/hook", hook)
    http_server.route("/apprise", chat)
    base = f"http://reader:${{SRC_PASS}}@127.0.0.1:{http_server.port}"
    url = f"{base}/s?api_key=${{SRC_KEY}}&lang=en"
    broken = f"{base}/gone?api_key=${{SRC_KEY}}"
    config = write_config(
        tmp_path,
        source_table("corp", url)
        + source_table("down", broken)
        + f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook")}"\n'
        + f'[notifiers.chat]\ntype = "apprise"\nurls = ["json://127.0.0.1:{http_server.port}/apprise"]\n',
        defaults="error_alert_after = 1",
    )
    state, out = tmp_path / "state", tmp_path / "report"
    cfg = ["--config", str(config), "--state", str(state)]
    first = run_cli("-v", "check", *cfg, env=ENV)
    http_server.page(
        "/s", press_release(TITLE, [p.replace("multi-year", "ten-year") for p in PARTNERSHIP])
    )
    second = run_cli("-v", "check", *cfg, "--format", "json", env=ENV)
    assert "changed" in second.stdout, second.output

    # The page was fetched with the secrets resolved.
    method, path, headers = next(r for r in http_server.requests if r[1].startswith("/s"))
    assert path == f"/s?api_key={KEY}&lang=en"
    assert (
        headers["Authorization"] == "Basic " + base64.b64encode(f"reader:{PASS}".encode()).decode()
    )

    stored = tmp_path / "dump.sql"
    with sqlite3.connect(state / "monitor.db") as db:
        stored.write_text("\n".join(db.iterdump()), encoding="utf-8")
    run_cli("report", "--out", str(out), *cfg, env=ENV)
    statement = f"{base}/s?api_key=%24%7BSRC_KEY%7D&lang=en"  # as canonical_url keeps it
    channels = {
        "check text and -v log": first.output,
        "check json and -v log": second.output,
        "database": stored.read_text(encoding="utf-8"),
        "statements": run_cli("statements", "--state", str(state), "corp").output,
        "sources": run_cli("sources", *cfg, env=ENV).output,
        "sources json": run_cli("sources", *cfg, "--format", "json", env=ENV).output,
        "history": run_cli("history", "--state", str(state), statement).output,
        "outbox": run_cli("outbox", "--state", str(state)).output,
        "export": "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.*ml")),
        "webhook": "".join(body.decode() for _h, body in hook.received),
        "apprise": "".join(body.decode() for _h, body in chat.received),
    }
    assert hook.received and chat.received
    for name, text in channels.items():
        assert text.strip(), name
        assert _leaks(text) == [], (name, text[:2000])
    assert "${SRC_PASS}" in channels["database"]  # the template, as written
    assert (
        "HTTP 500" in channels["check text and -v log"]
        or "500" in channels["check text and -v log"]
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:pw@h.example/x", "https://u:***@h.example/x"),
        ("https://h.example/x?api_key=abc123&page=2", "https://h.example/x?api_key=***&page=2"),
        (
            "https://h.example/x?access_token=abc&sig=zz",
            "https://h.example/x?access_token=***&sig=***",
        ),
        ("https://h.example/x?page=2", "https://h.example/x?page=2"),
    ],
)
def test_error_texts_mask_passwords_and_query_tokens(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_template_resolves_encoded_and_masks_back() -> None:
    secrets = UrlSecrets.of("https://u:${P}@h.example/?k=${K}", {"P": "a@b/c", "K": "kkkk"})
    assert secrets is not None
    assert secrets.resolved == "https://u:a%40b%2Fc@h.example/?k=kkkk"
    assert (
        secrets.mask(f"error at {secrets.resolved}") == "error at https://u:${P}@h.example/?k=${K}"
    )


@pytest.mark.slow
def test_the_daemon_and_a_verbose_check_show_no_secret_either(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    import subprocess
    import sys
    from urllib.parse import quote

    from service_support import ROOT, Daemon, wait_until

    http_server.page("/s", press_release(TITLE, PARTNERSHIP))
    hook = Receiver()
    http_server.route(f"/hook/{KEY}", hook)  # a webhook URL whose path is its secret
    url = f"http://reader:${{SRC_PASS}}@127.0.0.1:{http_server.port}/s?api_key=${{SRC_KEY}}"
    config = write_config(
        tmp_path,
        source_table("corp", url)
        + f'[notifiers.hook]\ntype = "webhook"\nurl = "{http_server.url("/hook/" + KEY)}"\n',
        defaults='interval = "1h"',
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **ENV}
    verbose = subprocess.run(
        [sys.executable, "-m", "monitor.cli.main", "-vv", "check", "--config", str(config),
         "--state", str(tmp_path / "once")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert "baseline" in verbose.stdout, verbose.stderr
    daemon = Daemon(config, tmp_path / "state", tmp_path / "daemon.log", env=ENV)
    daemon.args = ["--log-level", "debug"]
    daemon.start()
    try:
        wait_until(lambda: daemon.get("/api/events").json()["events"], 20, "the baseline")
        statement = daemon.get("/api/events").json()["events"][0]["url"]
        pages = {
            "-vv check": verbose.stdout + verbose.stderr,
            "/api/sources": daemon.get("/api/sources").text,
            "/api/events": daemon.get("/api/events").text,
            "/": daemon.get("/").text,
            "/sources/corp": daemon.get("/sources/corp").text,
            "/statement": daemon.get(f"/statement?url={quote(statement, safe='')}").text,
            "/events": daemon.get("/events").text,
            "/feed.xml": daemon.get("/feed.xml").text,
        }
        pages["daemon log"] = daemon.log()
    finally:
        daemon.close()
    for name, text in pages.items():
        assert text.strip(), name
        assert _leaks(text) == [], (name, text[:2000])
    assert "reader:***@" in pages["/api/sources"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.org/services/T0/B0/XYZ", "https://hooks.example.org/…"),
        ("https://u:pw@hooks.example.org:8443/", "https://hooks.example.org:8443"),
        ("slack://TokenA/TokenB/TokenC", "slack://…/…"),
        ("json://[::1]:9000/x", "json://[::1]:9000/…"),
    ],
)
def test_url_site_shows_only_the_site_of_a_notifiers_url(url: str, shown: str) -> None:
    from monitor.sources.urls import url_site

    assert url_site(url) == shown
