"""Benchmark: the web UI's diff page of a 100 KB statement, timed as an HTTP request.

Run from the repository root:

    /work/venv/bin/python benchmarks/ui.py [--runs N] [--size BYTES]

Builds a state (in a temporary folder) holding one statement of about 100 KB in 2 versions
with ~10 edits (the statement of benchmarks/diff.py), serves `create_ui` with uvicorn on
127.0.0.1, and prints the median time of `GET /diff?url=…` over several runs, measured by an
HTTP client on loopback: reading both versions from SQLite, comparing them, rendering the
page and sending it. The same request through the ASGI app in process (no sockets) is
printed too. The target is "well under 200 ms".
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

# Run as a script from anywhere: make the repository root importable.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from monitor.clock import utcnow  # noqa: E402
from monitor.diff import normalize  # noqa: E402
from monitor.events import Event, EventKind  # noqa: E402
from monitor.fetch import Validators  # noqa: E402
from monitor.review.app import create_ui  # noqa: E402
from monitor.sources.config import Config  # noqa: E402
from monitor.state.records import Fetched, NewSnapshot, NewVersion, SourceUpdate  # noqa: E402
from monitor.state.store import Store  # noqa: E402

URL = "https://example.org/news/long-statement"
IDENTITY = {"Accept-Encoding": "identity"}  # the page as is, without gzip


def _texts(size: int) -> tuple[str, str]:
    """The long statement and its edited version, from benchmarks/diff.py."""
    spec = importlib.util.spec_from_file_location("bench_diff", ROOT / "benchmarks" / "diff.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    old, new = module.statement(size)
    return str(old), str(new)


def _version(title: str, text: str) -> NewSnapshot:
    return NewSnapshot(title=title, text=text, normalized=normalize(text))


def build_state(state_dir: Path, size: int) -> tuple[Store, int]:
    """A state with one statement of about `size` characters in 2 versions."""
    old, new = _texts(size)
    store = Store.open(state_dir)
    for version, text in ((1, old), (2, new)):
        kind: EventKind = "baseline" if version == 1 else "changed"
        event = Event(kind, "bench", URL, title="A long statement", version=version)
        update = NewVersion(
            URL,
            _version("A long statement", text),
            base_version=version - 1,
            fetched=Fetched(Validators(), None),
            events=[event],
        )
        store.save_check(
            SourceUpdate("bench", URL, "page", checked_at=utcnow(), statements=[update])
        )
    return store, len(new)


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def median_ms(request: Callable[[], httpx.Response], runs: int) -> tuple[float, int]:
    """The median time of `runs` requests (after one warm-up), and the bytes sent."""
    first = request()
    size = int(first.headers.get("content-length") or len(first.content))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = request()
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return statistics.median(times) * 1000, size


def in_process(app: Starlette, path: str) -> Callable[[], httpx.Response]:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return await client.get(path, headers=IDENTITY)

    return lambda: asyncio.run(send())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed requests (median)")
    parser.add_argument("--size", type=int, default=100_000, help="statement size in chars")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-ui-bench-") as folder:
        store, chars = build_state(Path(folder), args.size)
        config = Config()
        app = create_ui(lambda: store, lambda: config)
        path = f"/diff?url={quote(URL, safe='')}"
        with serve(app) as base, httpx.Client(base_url=base) as client:
            plain_ms, plain_bytes = median_ms(lambda: client.get(path, headers=IDENTITY), args.runs)
            gzip_ms, gzip_bytes = median_ms(lambda: client.get(path), args.runs)
        asgi_ms, _ = median_ms(in_process(app, path), args.runs)
        store.close()
    print(
        f"GET /diff of a {chars / 1000:.0f} KB statement (2 versions, ~10 edits), "
        f"median of {args.runs} requests:\n"
        f"  HTTP on loopback (uvicorn)        {plain_ms:6.1f} ms  {plain_bytes / 1000:4.0f} KB\n"
        f"  HTTP on loopback, gzip            {gzip_ms:6.1f} ms  {gzip_bytes / 1000:4.0f} KB\n"
        f"  ASGI in process (no socket)       {asgi_ms:6.1f} ms"
    )


if __name__ == "__main__":
    main()
