"""Fuzz one check (issue 16): random statuses, headers, bodies and settings from a loopback
server. Whatever it answers, no exception escapes the check, a failed check leaves the
stored state as it was, and the run ends within its deadline."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LoopbackServer, serving
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pages import PARTNERSHIP, press_release

from monitor.check.pipeline import check_sources
from monitor.sources.config import parse_config
from monitor.state.store import Store

pytestmark = pytest.mark.slow

TITLE = "Example Corp and Sample Industries announce research partnership"
STATUSES = [200, 200, 200, 203, 204, 206, 301, 302, 304, 307, 400, 404, 410, 429, 500, 503, 599]
# Header values a server could send (http.server refuses CR/LF, as the wire would)
VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "Content-Type",
            "Content-Encoding",
            "Retry-After",
            "ETag",
            "Last-Modified",
            "Transfer-Encoding",
            "Content-Disposition",
            "Link",
            "Refresh",
        ]
    ),
    st.one_of(
        VALUE,
        st.sampled_from(
            [
                "text/html; charset=utf-8",
                "text/html; charset=x-nope",
                "application/octet-stream",
                "gzip",
                "br",
                "99999999999999999999",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "-1",
                "nan",
            ]
        ),
    ),
    max_size=4,
)
# Redirects stay on loopback: only paths, or schemeless garbage, never another host.
LOCATION = st.sampled_from(["/s", "/s?again=1", "", "::::", "/%zz", "/" + "a" * 3000])
BODY = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=3000).map(lambda t: f"<html><body><p>{t}</p></body></html>".encode()),
    st.sampled_from(
        [
            press_release(TITLE + "\x1b]0;title\x07", PARTNERSHIP).encode(),
            press_release(TITLE, PARTNERSHIP[:1]).encode("utf-16"),
            b"<html>" + b"<div>" * 5000,
            b"",
        ]
    ),
)
SETTINGS = st.fixed_dictionaries(
    {
        "timeout": st.sampled_from(["1s", "500ms"]),
        "max_bytes": st.sampled_from(["5MB", "2KB"]),
        "retries": st.sampled_from([0, 1]),
        "extra": st.sampled_from(
            ["", "selector = 'article p'", "selector = 'nothing-here'", "ignore = ['\\\\d+']"]
        ),
    }
)


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[LoopbackServer, Path]]:
    """One server for every example, and a state with the baseline of its statement."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-seed-"))
    with serving() as server:
        url = server.page("/s", press_release(TITLE, PARTNERSHIP))
        text = _config_text(url, {"timeout": "2s", "max_bytes": "5MB", "retries": 0, "extra": ""})
        config = parse_config(text, folder / "sources.toml", {})
        store = Store.open(folder / "state")
        (result,) = asyncio.run(check_sources(config, store, config.sources))
        assert [e.event for e in result.events] == ["baseline"]
        store.close()
        yield server, folder / "state"
    shutil.rmtree(folder)


def _config_text(url: str, s: dict[str, object]) -> str:
    return (
        f'[defaults]\ntimeout = "{s["timeout"]}"\nretries = {s["retries"]}\n'
        f'max_bytes = "{s["max_bytes"]}"\n\n'
        f'[[sources]]\nname = "corp"\nurl = "{url}"\nkind = "page"\n{s["extra"]}\n'
    )


def _stored(store: Store) -> list[tuple[str, int, str]]:
    out = []
    for record in store.statements():
        snapshot = store.snapshot(record.id)
        out.append((record.url, record.version, snapshot.text if snapshot else ""))
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    status=st.sampled_from(STATUSES),
    headers=HEADERS,
    location=LOCATION,
    body=BODY,
    config_settings=SETTINGS,
)
@example(  # the red team's crash: a float overflow in the wait message
    status=429,
    headers={"Retry-After": "99999999999999999999"},
    location="",
    body=b"slow down",
    config_settings={"timeout": "1s", "max_bytes": "5MB", "retries": 1, "extra": ""},
)
def test_one_check_survives_any_answer(seeded, status, headers, location, body, config_settings):
    server, seed = seeded
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        shutil.copytree(seed, state)
        store = Store.open(state)
        reply = {**headers}
        if status in (301, 302, 307):
            reply["Location"] = location
        server.route("/s", lambda _r: (status, reply, body))
        url = server.url("/s")
        config = parse_config(_config_text(url, config_settings), Path(tmp) / "s.toml", {})
        before = _stored(store)

        async def run():  # the deadline: retries x timeout, plus generous slack
            return await asyncio.wait_for(check_sources(config, store, config.sources), 30)

        (result,) = asyncio.run(run())  # raises if anything escaped or the deadline passed
        assert result.source == "corp"
        if not result.ok:
            assert [e.event for e in result.events] == ["error"]
            assert _stored(store) == before
        store.close()
