"""The daemon's HTTP endpoint under a hostile browser or network: a real `monitor run` on
loopback, asked with forged Host headers, off-site redirects and stolen cookies."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LoopbackServer
from pages import PARTNERSHIP, press_release
from service_support import ROOT, Daemon, page_source, write_config

from monitor.daemon.web import session_value

pytestmark = pytest.mark.slow  # a daemon subprocess per module

TOKEN = "tok-for-the-web-risks-test-0123456789"
PUBLIC = "https://monitor.example.org/"


def _daemon(tmp: Path, name: str, server: LoopbackServer, env: dict[str, str]) -> Daemon:
    url = server.page("/s", press_release("Example Corp announces", PARTNERSHIP))
    folder = tmp / name
    folder.mkdir()
    config = write_config(
        folder / "sources.toml",
        page_source("corp", url),
        defaults=f'public_url = "{PUBLIC}"',
        interval="1h",
    )
    return Daemon(config, folder / "state", folder / "daemon.log", env=env).start()


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Daemon]]:
    """A token-less daemon and one with a token, both with an https public_url."""
    from conftest import serving

    tmp = tmp_path_factory.mktemp("web")
    with serving() as server:
        open_ = _daemon(tmp, "open", server, {})
        gated = _daemon(tmp, "gated", server, {"MONITOR_TOKEN": TOKEN})
        try:
            yield open_, gated
        finally:
            open_.close()
            gated.close()


@pytest.mark.parametrize(
    ("host", "served"),
    [
        ("evil.example", False),
        ("evil.example:8787", False),
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example", False),
        ("", False),
        ("localhost", True),
        ("LOCALHOST:8787", True),
        ("127.0.0.1:8787", True),
        ("127.3.4.5", True),
        ("[::1]:8787", True),
        ("monitor.example.org", True),  # the host of public_url
    ],
)
@pytest.mark.parametrize("path", ["/", "/api/events", "/api/sources", "/metrics"])
def test_without_a_token_only_loopback_and_configured_hosts_are_served(
    daemons: tuple[Daemon, Daemon], host: str, served: bool, path: str
) -> None:
    open_, _ = daemons
    response = open_.get(path, headers={"Host": host})
    assert (response.status_code == 200) is served, (host, path, response.status_code)
    if not served:
        assert response.status_code == 421
        assert "events" not in response.text and "Example Corp" not in response.text


def test_healthz_answers_any_host(daemons: tuple[Daemon, Daemon]) -> None:
    open_, _ = daemons
    assert open_.get("/healthz", headers={"Host": "evil.example"}).status_code in (200, 503)


@pytest.mark.parametrize(
    "path",
    ["//evil.example/x", "///evil.example/x", "/\\evil.example/x", "//evil.example", "/ok/page"],
)
def test_the_token_login_redirects_only_to_a_local_path(
    daemons: tuple[Daemon, Daemon], path: str
) -> None:
    _, gated = daemons
    response = gated.get(f"{path}?token={TOKEN}&a=1")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert httpx.URL(gated.base_url).join(location).host == "127.0.0.1"
    assert location.endswith("?a=1") and TOKEN not in location


def test_the_cookie_holds_a_session_value_not_the_token_and_is_secure(
    daemons: tuple[Daemon, Daemon],
) -> None:
    _, gated = daemons
    response = gated.get(f"/api/sources?token={TOKEN}")
    cookie = response.headers["set-cookie"]
    assert TOKEN not in cookie
    assert f"token={session_value(TOKEN)}" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie  # public_url is https
    value = session_value(TOKEN)
    assert gated.get("/api/sources", cookies={"token": value}).status_code == 200
    # The raw token is no cookie; the session value is no Bearer token.
    assert gated.get("/api/sources", cookies={"token": TOKEN}).status_code == 401
    bearer = {"Authorization": f"Bearer {value}"}
    assert gated.get("/api/sources", headers=bearer).status_code == 401


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize(
    "path", ["/", "/api/sources", "/api/events", "/metrics", "/sources/corp/recheck", "/x"]
)
def test_the_token_gate_holds_on_every_path_and_method(
    daemons: tuple[Daemon, Daemon], method: str, path: str
) -> None:
    _, gated = daemons
    response = httpx.request(method, gated.base_url + path, timeout=5)
    assert response.status_code == 401, (method, path)
    assert TOKEN not in response.text


def test_the_token_is_never_in_the_log_metrics_or_errors(daemons: tuple[Daemon, Daemon]) -> None:
    _, gated = daemons
    gated.get(f"/?token={TOKEN}")
    gated.get(f"/api/events?since=nonsense&token={TOKEN}")
    metrics = gated.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    bad = gated.get("/api/events?since=nonsense", headers={"Authorization": f"Bearer {TOKEN}"})
    assert metrics.status_code == 200 and bad.status_code == 400
    for text in (metrics.text, bad.text, gated.log()):
        assert TOKEN not in text
        assert session_value(TOKEN) not in text


def test_listening_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    config = write_config(tmp_path / "sources.toml", "", interval="1h")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli.main", "run", "--config", str(config),
         "--state", str(tmp_path / "state"), "--listen", "0.0.0.0:0"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "token" in done.stderr
