"""Reaching real newsrooms: request settings, bot walls named as such, the network guard,
and pages rendered by a real Chromium. Loopback only: other addresses exist only in a fake
resolver, and a recording socket layer shows what would have been connected to."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpcore
import pytest
from conftest import LoopbackServer, serving
from test_check import check_json, page_source, run, write_config

from monitor.fetch.base import FetchRequest, Validators
from monitor.fetch.botwall import BotWallError
from monitor.fetch.client import FetchSettings, HttpFetcher, HTTPStatusError
from monitor.fetch.guard import IPAddress, NetworkGuard, NetworkRefused, ip_literal
from monitor.fetch.streams import AsyncioBackend

FAST = FetchSettings(timeout=2.0, total_timeout=3.0, retries=0, backoff=0.01)
ARTICLE = (
    "<html><head><title>Joint statement</title></head><body><main><article>"
    "<h1>Joint statement on research</h1>"
    + "".join(
        f"<p>The partners agree on point {i}: the work will continue in good faith and "
        "both sides will publish their findings openly.</p>"
        for i in range(6)
    )
    + "</article></main></body></html>"
)


# ---------------------------------------------------------------------------------------------
# Request settings
# ---------------------------------------------------------------------------------------------


def test_headers_cookies_and_user_agent_reach_the_server_and_stay_secret(
    http_server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWS_TOKEN", "tok-very-secret-123")
    url = http_server.page("/s", ARTICLE)
    extra = (
        'headers = { Authorization = "Bearer ${NEWS_TOKEN}", "Accept-Language" = "fr" }\n'
        'cookies = { session = "cookie-secret-456" }\nuser_agent = "Mozilla/5.0 test"\n'
    )
    config = write_config(tmp_path, page_source("corp", url, extra))
    code, events = check_json(config, tmp_path / "state")
    assert code == 0 and [e["event"] for e in events] == ["baseline"]
    headers = http_server.requests[-1][2]
    assert headers["Authorization"] == "Bearer tok-very-secret-123"
    assert headers["Accept-Language"] == "fr"
    assert headers["Cookie"] == "session=cookie-secret-456"
    assert headers["User-Agent"] == "Mozilla/5.0 test"
    # A failing fetch that echoes the secret in its error page does not show it either.
    http_server.route("/s", lambda _r: (500, {}, b"tok-very-secret-123"))
    result = run("check", "--config", str(config), "--state", str(tmp_path / "state"))
    shown = result.output + run("sources", "--config", str(config)).output
    assert "tok-very-secret-123" not in shown and "cookie-secret-456" not in shown


def test_a_proxy_with_credentials_carries_the_requests(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    target = http_server.url("/behind-proxy")
    with serving() as proxy:
        # A forward proxy receives the absolute URL as the request target.
        proxy.routes[target] = lambda _r: (200, {"Content-Type": "text/html"}, ARTICLE.encode())
        extra = f'proxy = "http://monitor:proxy-pass-789@127.0.0.1:{proxy.port}"\n'
        config = write_config(tmp_path, page_source("corp", target, extra))
        code, events = check_json(config, tmp_path / "state")
        assert code == 0 and events[0]["event"] == "baseline"
        method, path, headers = proxy.requests[-1]
        assert path == target
        assert headers["Proxy-Authorization"].startswith("Basic ")
        assert http_server.hits("/behind-proxy") == 0  # only through the proxy
        proxy.routes[target] = lambda _r: (502, {}, b"")
        code, events = check_json(config, tmp_path / "state")
        assert code == 1 and "proxy-pass-789" not in json.dumps(events)


# ---------------------------------------------------------------------------------------------
# Bot walls
# ---------------------------------------------------------------------------------------------

CHALLENGE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>" + (
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script></body></html>'
)
BOT_WALLS = [
    (
        "cloudflare-challenge",
        403,
        {"cf-ray": "8f1d2e3a4b5c6d7e-FRA", "Server": "cloudflare"},
        CHALLENGE,
        "Cloudflare",
    ),
    ("cloudflare-503-challenge", 503, {"cf-mitigated": "challenge"}, CHALLENGE, "Cloudflare"),
    ("cloudflare-rate-limit", 429, {"Set-Cookie": "__cf_bm=abc; path=/"}, b"", "Cloudflare"),
    (
        "akamai",
        403,
        {"Server": "AkamaiGHost"},
        b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY>You don't have permission to "
        b'access "http://news/" on this server.<P>Reference #18.2d3c4b17.1700000000</BODY>',
        "Akamai",
    ),
    (
        "datadome",
        403,
        {"X-DataDome": "protected", "Set-Cookie": "datadome=xyz; Path=/"},
        b'<html><script src="https://ct.captcha-delivery.com/c.js"></script></html>',
        "DataDome",
    ),
    (
        "perimeterx",
        403,
        {},
        b'<div id="px-captcha"></div><script>window._pxAppId="PXabc";</script>',
        "PerimeterX",
    ),
    (
        "imperva",
        403,
        {"X-Iinfo": "13-1234-0 0NNN RT(1700000000000 0)"},
        b"<html>Request unsuccessful. Incapsula incident ID: 123000450</html>",
        "Imperva",
    ),
    (
        "imperva-200-challenge",
        200,
        {"Content-Type": "text/html"},
        b'<html><head></head><body><iframe src="/_Incapsula_Resource?SWUDNSAI=31">'
        b"</iframe></body></html>",
        "Imperva",
    ),
    ("aws-waf", 405, {"x-amzn-waf-action": "challenge"}, b"", "AWS WAF"),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "service"),
    [case[1:] for case in BOT_WALLS],
    ids=[case[0] for case in BOT_WALLS],
)
async def test_bot_walls_are_named(
    http_server: LoopbackServer, status: int, headers: dict[str, str], body: bytes, service: str
) -> None:
    http_server.route("/wall", lambda _r: (status, {"Content-Type": "text/html", **headers}, body))
    async with HttpFetcher(FAST) as fetcher:
        with pytest.raises(BotWallError) as caught:
            await fetcher.fetch(FetchRequest(http_server.url("/wall")))
    message = str(caught.value)
    assert service in message and "render = true" in message and "proxy" in message


async def test_a_plain_403_stays_a_plain_http_error(http_server: LoopbackServer) -> None:
    http_server.page("/no", "<html><body>Forbidden</body></html>", status=403)
    async with HttpFetcher(FAST) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.fetch(FetchRequest(http_server.url("/no")))
    assert not isinstance(caught.value, BotWallError)
    assert str(caught.value).startswith("HTTP 403 Forbidden")


def test_a_bot_wall_is_an_error_event_never_a_change(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = http_server.page("/s", ARTICLE)
    config = write_config(tmp_path, page_source("corp", url))
    assert check_json(config, tmp_path / "state")[0] == 0
    http_server.route("/s", lambda _r: (403, {"cf-ray": "1-FRA"}, CHALLENGE))
    code, events = check_json(config, tmp_path / "state")
    assert code == 1 and [e["event"] for e in events] == ["error"]
    assert "Cloudflare" in events[0]["error"]


# ---------------------------------------------------------------------------------------------
# The network guard
# ---------------------------------------------------------------------------------------------


class Recording(httpcore.AsyncNetworkBackend):
    """The socket layer under the guard: records each address asked for, connects to
    loopback whatever it is (so fake public and private addresses can be served)."""

    def __init__(self) -> None:
        self.inner = AsyncioBackend()  # the socket layer the monitor itself uses
        self.connects: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append(host)
        return await self.inner.connect_tcp(
            "127.0.0.1", port, timeout, local_address, socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def fake_dns(table: dict[str, list[str]]):
    """A resolver from a table; a list with several entries answers them one per call
    (a rebinding name)."""
    calls: dict[str, int] = {}

    async def resolve(host: str, port: int) -> list[IPAddress]:
        literal = ip_literal(host)
        if literal is not None:
            return [literal]
        answers = table[host]
        index = min(calls.get(host, 0), len(answers) - 1)
        calls[host] = calls.get(host, 0) + 1
        return [ip_literal(answers[index])]  # type: ignore[list-item]

    return resolve


async def fetch_guarded(
    url: str, dns: dict[str, list[str]], allow: tuple[str, ...] = (), origin: str | None = None
) -> tuple[Any, Recording]:
    backend = Recording()
    guard = NetworkGuard(allow, resolver=fake_dns(dns))
    async with HttpFetcher(FAST, guard=guard, network_backend=backend) as fetcher:
        try:
            return await fetcher.fetch(FetchRequest(url, Validators(), origin=origin)), backend
        except Exception as exc:  # returned, so the test can look at both
            return exc, backend


async def test_a_redirect_to_the_metadata_address_is_refused_without_connecting(
    http_server: LoopbackServer,
) -> None:
    http_server.route(
        "/r", lambda _r: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    )
    outcome, backend = await fetch_guarded(http_server.url("/r"), {})
    assert isinstance(outcome, NetworkRefused)
    assert "169.254.169.254 is a cloud metadata address" in str(outcome)
    assert "allow_networks" in str(outcome)
    assert "169.254.169.254" not in backend.connects


def test_the_metadata_redirect_is_an_error_event_and_nothing_is_stored(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.route(
        "/r", lambda _r: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    )
    config = write_config(tmp_path, page_source("corp", http_server.url("/r")))
    code, events = check_json(config, tmp_path / "state")
    assert code == 1 and [e["event"] for e in events] == ["error"]
    assert "cloud metadata address" in events[0]["error"]


@pytest.mark.parametrize(
    ("target", "allow", "refused"),
    [
        ("http://intranet.test:{port}/x", (), True),  # public source, private target
        ("http://intranet.test:{port}/x", ("10.0.0.0/8",), False),  # listed network
        ("http://127.0.0.1:{port}/x", (), True),  # public source, loopback target
        ("http://169.254.169.254:{port}/x", ("169.254.0.0/16",), True),  # metadata: not by range
        ("http://169.254.169.254:{port}/x", ("169.254.169.254",), False),  # listed exactly
        ("http://news.test:{port}/x", (), False),  # public to public
    ],
)
async def test_a_public_source_reaches_only_public_or_listed_networks(
    http_server: LoopbackServer, target: str, allow: tuple[str, ...], refused: bool
) -> None:
    http_server.page("/x", ARTICLE)
    location = target.format(port=http_server.port)
    http_server.route("/start", lambda _r: (302, {"Location": location}, b""))
    dns = {"news.test": ["93.184.216.34"], "intranet.test": ["10.1.2.3"]}
    start = f"http://news.test:{http_server.port}/start"
    outcome, backend = await fetch_guarded(start, dns, allow)
    assert isinstance(outcome, NetworkRefused) is refused
    # a redirect to the same host and port goes on over the connection already open
    same_origin = location.startswith(f"http://news.test:{http_server.port}/")
    assert len(backend.connects) == (1 if refused or same_origin else 2)


async def test_dns_rebinding_is_caught_at_connect_time(http_server: LoopbackServer) -> None:
    # The source's own name answers public at first sight, then private.
    http_server.page("/x", ARTICLE)
    dns = {"news.test": ["93.184.216.34"], "flip.test": ["93.184.216.35", "10.9.9.9"]}
    http_server.route(
        "/start", lambda _r: (302, {"Location": f"http://flip.test:{http_server.port}/x"}, b"")
    )
    guard = NetworkGuard((), resolver=fake_dns(dns))
    await guard.resolver("flip.test", 80)  # a first lookup answers public
    backend = Recording()
    async with HttpFetcher(FAST, guard=guard, network_backend=backend) as fetcher:
        with pytest.raises(NetworkRefused, match="10.9.9.9"):
            await fetcher.fetch(FetchRequest(f"http://news.test:{http_server.port}/start"))
    assert "10.9.9.9" not in backend.connects


async def test_a_loopback_source_follows_its_own_links(http_server: LoopbackServer) -> None:
    http_server.page("/x", ARTICLE)
    http_server.route("/start", lambda _r: (302, {"Location": "/x"}, b""))
    outcome, backend = await fetch_guarded(http_server.url("/start"), {})
    assert outcome.final_url == http_server.url("/x")


async def test_links_with_credentials_are_refused(http_server: LoopbackServer) -> None:
    http_server.page("/x", ARTICLE)
    http_server.route(
        "/start",
        lambda _r: (302, {"Location": f"http://admin:pw@127.0.0.1:{http_server.port}/x"}, b""),
    )
    outcome, _backend = await fetch_guarded(http_server.url("/start"), {})
    assert "carries credentials" in str(outcome) and "pw" not in str(outcome)
    assert http_server.hits("/x") == 0
    # the source's own configured URL may carry them
    own = f"http://admin:pw@127.0.0.1:{http_server.port}/x"
    outcome, _backend = await fetch_guarded(own, {}, origin=own)
    assert outcome.status == 200


async def test_only_http_and_https_are_followed(http_server: LoopbackServer) -> None:
    http_server.route("/start", lambda _r: (302, {"Location": "file:///etc/passwd"}, b""))
    outcome, _backend = await fetch_guarded(http_server.url("/start"), {})
    assert "not an http(s) URL" in str(outcome)


# ---------------------------------------------------------------------------------------------
# Rendering in Debian's chromium
# ---------------------------------------------------------------------------------------------


SHELL = """<!DOCTYPE html><html><head><title>Newsroom</title></head><body>
<main id="app"></main><footer id="foot"></footer><img src="/logo.png">
<script>
fetch("/data.json").then(r => r.json()).then(data => {
  const article = document.createElement("article");
  article.innerHTML = "<h1></h1>" + data.paragraphs.map(() => "<p></p>").join("");
  article.querySelector("h1").textContent = data.title;
  article.querySelectorAll("p").forEach((p, i) => p.textContent = data.paragraphs[i]);
  document.getElementById("app").replaceChildren(article);
  document.getElementById("foot").textContent = "Page generated " + data.stamp;
});
</script></body></html>"""


def serve_app(server: LoopbackServer, word: str, stamp: str) -> str:
    """A page whose statement and footer its script writes into the DOM from JSON data."""
    paragraphs = [
        f"The partners announce a {word} programme of joint research on clean energy storage.",
        *(
            f"Point {i}: both organisations commit staff and funding, and will publish "
            "every result openly for other researchers to build upon."
            for i in range(5)
        ),
    ]
    data = {"title": "Joint statement on energy research", "paragraphs": paragraphs, "stamp": stamp}
    server.page("/data.json", json.dumps(data), content_type="application/json")
    return server.page("/s", SHELL)


@pytest.mark.slow
def test_a_script_written_statement_needs_render_and_then_is_tracked(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = serve_app(http_server, "new", "10:00:01")
    plain = write_config(tmp_path, page_source("corp", url))
    code, events = check_json(plain, tmp_path / "plain")
    assert code == 1 and "no statement" in events[0]["error"]

    rendered = write_config(
        tmp_path, page_source("corp", url, 'render = true\nwait_for = "article"')
    )
    code, events = check_json(rendered, tmp_path / "state")
    assert code == 0 and [e["event"] for e in events] == ["baseline"]
    assert http_server.hits("/logo.png") == 0  # images are never downloaded

    serve_app(http_server, "new", "10:05:42")  # only the footer's time
    code, events = check_json(rendered, tmp_path / "state")
    assert code == 0 and events == []

    serve_app(http_server, "broad", "10:10:13")  # one word of the statement
    code, events = check_json(rendered, tmp_path / "state")
    assert code == 0 and [e["event"] for e in events] == ["changed"]
    change = events[0]["changes"][0]
    assert "new" in change["before"] and "broad" in change["after"]


@pytest.mark.slow
def test_a_rendered_redirect_to_the_metadata_address_is_refused(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.route(
        "/r", lambda _r: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    )
    config = write_config(tmp_path, page_source("corp", http_server.url("/r"), "render = true"))
    code, events = check_json(config, tmp_path / "state")
    assert code == 1 and "cloud metadata address" in events[0]["error"]


def test_a_missing_browser_is_a_clear_error(http_server: LoopbackServer, tmp_path: Path) -> None:
    url = http_server.page("/s", ARTICLE)
    config = write_config(
        tmp_path, page_source("corp", url, "render = true"), 'browser = "/nonexistent/chromium"'
    )
    result = run("check", "--config", str(config), "--state", str(tmp_path / "state"))
    assert result.exit_code != 0
    assert "chromium" in result.output and "apt-get install chromium" in result.output


async def test_the_pipeline_asks_with_the_source_settings_through_any_fetcher(
    store: Any, tmp_path: Path
) -> None:
    """The fetcher seam: a MockFetcher answers, and sees one request built from the source."""
    from monitor.check.pipeline import CheckContext, check_source
    from monitor.fetch.mock import MockFetcher, html_page
    from monitor.sources.config import parse_config

    config = parse_config(
        '[defaults]\nheaders = { "Accept-Language" = "de" }\n'
        '[[sources]]\nname = "corp"\nurl = "https://news.example.org/s"\n'
        'headers = { "X-Key" = "k-123456789" }\nrender = true\nwait_for = "article"\n',
        tmp_path / "sources.toml",
        {},
    )
    fetcher = MockFetcher(lambda request: html_page(request.url, ARTICLE))
    result = await check_source(config.sources[0], CheckContext(config, store, fetcher))
    assert [e.event for e in result.events] == ["baseline"]
    (request,) = fetcher.requests
    assert request.headers == {"Accept-Language": "de", "X-Key": "k-123456789"}
    assert request.render is not None and request.render.wait_for == "article"
    assert request.origin == "https://news.example.org/s"
    assert "k-123456789" in request.secrets


@pytest.mark.slow
async def test_the_browser_is_started_again_after_it_died(http_server: LoopbackServer) -> None:
    from monitor.fetch.base import RenderOptions
    from monitor.fetch.browser import BrowserFetcher

    url = http_server.page("/s", ARTICLE)
    async with BrowserFetcher(FAST) as browser:
        await browser.fetch(FetchRequest(url, render=RenderOptions()))
        await browser._browser.close()  # as if it had crashed: the connection is gone
        page = await browser.fetch(FetchRequest(url, render=RenderOptions()))
    assert "Joint statement on research" in page.text and browser.launches == 2
