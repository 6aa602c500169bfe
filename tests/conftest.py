"""Shared fixtures and helpers: a real HTTP server on 127.0.0.1 whose routes each test sets,
the one way tests write a sources file (`write_config`) and run the CLI (`run_cli`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from pg_support import PostgresMissing, PostgresServer, empty_database, start_postgres

from monitor.cli.main import main
from monitor.clock import utcnow
from monitor.state.schema import sources_table, statements_table
from monitor.state.store import Store

# Tests fail fast: short timeouts, no retries.
TEST_DEFAULTS = '[defaults]\ntimeout = "2s"\nretries = 0\nmax_bytes = "5MB"\n'

# A route answers with (status, headers, body) or, for faults such as stalling
# mid-body, by writing to the raw request handler itself and returning None.
Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[[BaseHTTPRequestHandler], Reply | None]


@dataclass
class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with routes set by the test."""

    host: str = "127.0.0.1"
    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def page(
        self,
        path: str,
        body: str | bytes,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve a fixed body at path; returns its absolute URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        extra = {"Content-Type": content_type, **(headers or {})}
        self.routes[path] = lambda _req: (status, extra, data)
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for _method, p, _h in self.requests if p == path)


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output quiet

        def _answer(self) -> None:
            path = self.path
            server.requests.append((self.command, path, dict(self.headers.items())))
            handler = server.routes.get(path) or server.routes.get(path.split("?", 1)[0])
            if handler is None:
                reply: Reply | None = (404, {"Content-Type": "text/plain"}, b"not found")
            else:
                reply = handler(self)
            if reply is None:
                return
            status, headers, body = reply
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                # the client may give up (size cap, timeout): expected in tests
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        do_GET = _answer
        do_HEAD = _answer
        do_POST = _answer

    return RequestHandler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up mid-answer (size caps, timeouts) are what many tests do on
        # purpose; anything else is still printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _QuietServer6(_QuietServer):
    address_family = socket.AF_INET6


@contextlib.contextmanager
def serving(*, ipv6: bool = False) -> Iterator[LoopbackServer]:
    """Run a loopback HTTP server (on [::1] with `ipv6`) for the duration of the block."""
    state = LoopbackServer(host="[::1]" if ipv6 else "127.0.0.1")
    server_class = _QuietServer6 if ipv6 else _QuietServer
    httpd = server_class(("::1" if ipv6 else "127.0.0.1", 0), _make_handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    # a short poll interval: shutdown at teardown waits for one poll
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A loopback HTTP server; set routes with `.page(path, html)` or `.route(path, fn)`."""
    with serving() as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole run.

    Where PostgreSQL is not installed its tests are skipped, except under CI
    (MONITOR_TEST_POSTGRES=required), where that is a failure.
    """
    try:
        server = start_postgres()
    except PostgresMissing as exc:
        if os.environ.get("MONITOR_TEST_POSTGRES") == "required":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Each database the state can live in, brand new: None for the embedded SQLite, else
    the URL of a PostgreSQL database made for this test (no schema yet)."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture(scope="session")
def shared_postgres_database(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """One PostgreSQL database for the run, migrated once; `database_url` empties it."""
    url = postgres.create_database()
    Store.open(tmp_path_factory.mktemp("pg-state"), url).close()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Each database the state can live in, empty: None for the embedded SQLite (a new
    file per test), else the URL of the run's PostgreSQL database, its tables emptied (ids
    from 1 again). Making and migrating a database per test cost a third of a second."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("shared_postgres_database")
    empty_database(url)
    return url


@pytest.fixture
def state_database(database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Every `monitor` command of the test (and `open_state`) on each database: SQLite in
    the state folder, then a fresh PostgreSQL database through MONITOR_DATABASE_URL.

    A module runs wholly on both with `pytestmark = pytest.mark.usefixtures("state_database")`.
    """
    if database_url is None:
        monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("MONITOR_DATABASE_URL", database_url)
    return database_url


def open_state(state: Path) -> Store:
    """The store the test's commands used: the state folder's, or MONITOR_DATABASE_URL's."""
    return Store.open(state, os.environ.get("MONITOR_DATABASE_URL"))


# Longer than any test that needs its checks on one UTC day takes.
SAME_DAY_MARGIN = dt.timedelta(seconds=30)


@pytest.fixture
def same_utc_day() -> None:
    """A test whose checks must fall on one UTC day (the second one conditional: the first
    check of a day is a full GET) starts after midnight when midnight is close."""
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    if midnight - now < SAME_DAY_MARGIN:
        time.sleep((midnight - now).total_seconds() + 1)


def checked_yesterday(state: Path) -> None:
    """The state as if every source and statement had last been checked a day ago."""
    yesterday = utcnow() - dt.timedelta(days=1)
    store = open_state(state)
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.update(statements_table).values(last_checked_at=yesterday))
            conn.execute(sa.update(sources_table).values(last_check_at=yesterday))
    finally:
        store.close()


@pytest.fixture
def store(tmp_path: Path, database_url: str | None) -> Iterator[Store]:
    """A fresh state database, on SQLite and on PostgreSQL."""
    opened = Store.open(tmp_path / "state", database_url)
    yield opened
    opened.close()


def write_config(folder: Path, body: str, defaults: str = "") -> Path:
    """`folder/sources.toml` with the tests' `[defaults]` (plus `defaults` lines) and `body`
    (sources and notifiers as TOML); returns its path."""
    path = folder / "sources.toml"
    path.write_text(f"{TEST_DEFAULTS}{defaults}\n{body}", encoding="utf-8")
    return path


def source_table(name: str, url: str, kind: str = "page", extra: str = "") -> str:
    """One `[[sources]]` table."""
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\nkind = "{kind}"\n{extra}\n'


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """`monitor ARGS...` in this process, as a user would type it."""
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def check_json(
    config: Path, state: Path, *names: str, env: dict[str, str] | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """`monitor check --format json`: its exit status and the events it printed."""
    result = run_cli(
        "check", "--config", str(config), "--state", str(state), "--format", "json", *names, env=env
    )
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, events
