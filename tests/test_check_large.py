"""A large `monitor check` (one process per core, each with its own share of the sources)
finds every edit once and stays quiet about noise, like a small one."""

from __future__ import annotations

import time

import pytest
from conftest import LoopbackServer, check_json, serving, source_table, write_config
from pages import PARTNERSHIP, Noise, press_release

SOURCES = 40  # enough for one process per core (monitor.cli.commands.shard_count)


pytestmark = pytest.mark.usefixtures("state_database")  # SQLite and PostgreSQL


def test_a_large_check_reports_each_edit_once_and_no_noise(http_server: LoopbackServer, tmp_path):
    def serve(edited: set[int], noise: Noise) -> None:
        for i in range(SOURCES):
            body = list(PARTNERSHIP)
            if i in edited:
                body[1] = body[1].replace("will", "may", 1)
            http_server.page(f"/s/{i}", press_release(f"Statement {i}", body, noise))

    config = write_config(
        tmp_path, "".join(source_table(f"s{i}", http_server.url(f"/s/{i}")) for i in range(SOURCES))
    )

    serve(set(), Noise())
    code, first = check_json(config, tmp_path / "state")
    assert code == 0
    assert sorted(e["source"] for e in first) == sorted(f"s{i}" for i in range(SOURCES))
    assert {e["event"] for e in first} == {"baseline"}

    serve({3, 17, 38}, Noise(rendered_at="2026-12-01 10:00:00 UTC", views=99, ad_slot="ad-7"))
    code, second = check_json(config, tmp_path / "state")

    assert code == 0
    assert sorted((e["event"], e["source"]) for e in second) == [
        ("changed", "s17"),
        ("changed", "s3"),
        ("changed", "s38"),
    ]
    assert all(e["changes"] for e in second)


@pytest.mark.slow  # the slow host's queue takes 4 s
def test_a_slow_host_does_not_hold_back_the_checks_of_another(tmp_path):
    """A run admits only a few checks per host at a time: the sources of a slow host, listed
    first, never take every place while another host's sources wait behind them."""
    with serving() as slow, serving() as fast:
        arrived: dict[str, float] = {}

        def slowly(_req):
            time.sleep(0.4)
            return (
                200,
                {"Content-Type": "text/html"},
                press_release("Joint statement", PARTNERSHIP).encode(),
            )

        def at_once(req):
            arrived[req.path] = time.monotonic()
            return (
                200,
                {"Content-Type": "text/html"},
                press_release("Joint statement", PARTNERSHIP).encode(),
            )

        tables = [source_table(f"slow{i}", slow.url(f"/s/{i}")) for i in range(10)]
        tables += [source_table(f"fast{i}", fast.url(f"/f/{i}")) for i in range(4)]
        for i in range(10):
            slow.route(f"/s/{i}", slowly)
        for i in range(4):
            fast.route(f"/f/{i}", at_once)
        # one connection per host, two at once in all: the slow host alone needs 4 s
        config = write_config(tmp_path, "".join(tables), "per_host = 1\nconcurrency = 2\n")
        started = time.monotonic()
        code, events = check_json(config, tmp_path / "state")

    assert code == 0 and len(events) == 14
    assert sorted(arrived) == [f"/f/{i}" for i in range(4)]
    # every fast page asked for at once, not after the slow host's queue (without the
    # per-host places, the first one waits for 7 slow pages: 2.8 s)
    assert max(arrived.values()) - started < 2.0, arrived


def test_sources_on_one_host_share_its_places_however_their_urls_spell_it(tmp_path):
    """A run admits a few checks per host at a time, keyed like the fetcher's connection
    slots: the host name in any case, its scheme's default port written out or not, and
    credentials in the URL all name one host; another port or scheme is another."""
    from monitor.check.pipeline import _Admission
    from monitor.sources.config import parse_config

    urls = [
        "https://Example.org/a",
        "https://example.org:443/b",
        "https://press@example.org/c",
        "https://example.org:8443/d",
        "http://example.org/e",
    ]
    text = "".join(source_table(f"s{i}", url) for i, url in enumerate(urls))
    sources = parse_config(text, tmp_path / "sources.toml", {}).sources
    admission = _Admission(per_host=1, concurrency=10)
    places = [admission.host_of(source) for source in sources]
    assert places[0] is places[1] is places[2]
    assert len({id(place) for place in places}) == 3
