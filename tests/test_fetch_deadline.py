"""`fetch_deadline`: the whole fetch of one URL, retries and the waits between them included,
through `monitor check` against slow servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import LoopbackServer, check_json, run_cli, source_table, write_config

PAGE = (
    "<html><head><title>Joint statement</title></head><body><article>"
    + "".join(f"<p>Paragraph {i} of the statement the ministers agreed on.</p>" for i in range(8))
    + "</article></body></html>"
)


def config_with(folder: Path, defaults: str, body: str) -> Path:
    """A sources file with these `[defaults]` lines only (the tests' own retry nothing)."""
    path = folder / "sources.toml"
    path.write_text(f"[defaults]\n{defaults}\n{body}", encoding="utf-8")
    return path


def drip(handler: BaseHTTPRequestHandler) -> None:
    """Announce a page, then send a byte every 0.2 s: no read ever waits long enough for the
    per-request `timeout`, so only a deadline on the whole fetch ends it."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    with contextlib.suppress(OSError):
        for _ in range(100):  # 20 s at most, long after the test is over
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)


def test_a_server_dripping_its_page_costs_one_fetch_deadline(http_server: LoopbackServer, tmp_path):
    http_server.route("/slow", drip)
    http_server.page("/fine", PAGE)
    config = config_with(
        tmp_path,
        'timeout = "5s"\nretries = 2',
        source_table("slow", http_server.url("/slow"), extra='fetch_deadline = "1.5s"')
        + source_table("fine", http_server.url("/fine")),
    )

    code, events = check_json(config, tmp_path / "state")

    assert code == 1
    by_source = {e["source"]: e for e in events}
    assert by_source["fine"]["event"] == "baseline"  # the run went on
    error = by_source["slow"]["error"]
    assert by_source["slow"]["event"] == "error"
    assert "fetch deadline of 1.5 s (fetch_deadline)" in error, error
    assert http_server.hits("/slow") == 1  # the deadline was shared: no second attempt


def test_a_retry_whose_wait_would_pass_the_deadline_is_not_waited_for(
    http_server: LoopbackServer, tmp_path
):
    http_server.page("/busy", "busy", status=503, headers={"Retry-After": "30"})
    config = config_with(
        tmp_path,
        'retries = 3\nfetch_deadline = "5s"',
        source_table("busy", http_server.url("/busy")),
    )

    code, events = check_json(config, tmp_path / "state")

    assert code == 1 and [e["event"] for e in events] == ["error"]
    error = events[0]["error"]
    assert "HTTP 503" in error and "no retry: the wait would pass the fetch deadline" in error
    assert http_server.hits("/busy") == 1


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        ("defaults", "nan", "finite"),
        ("defaults", "inf", "finite"),
        ("defaults", '"0s"', "more than zero"),
        ("source", "-5", "more than zero"),
        ("source", '"soon"', "not a duration"),
    ],
)
def test_a_bad_fetch_deadline_is_refused_before_anything_runs(tmp_path, where, value, words):
    line = f"fetch_deadline = {value}"
    config = write_config(
        tmp_path,
        source_table("a", "http://127.0.0.1:9/", extra=line if where == "source" else ""),
        defaults=line if where == "defaults" else "",
    )

    result = run_cli("check", "--config", str(config), "--state", str(tmp_path / "state"))

    assert result.exit_code == 2
    assert "fetch_deadline" in result.stderr and words in result.stderr
    assert not (tmp_path / "state").exists()
