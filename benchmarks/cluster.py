"""Several `monitor run` nodes on one PostgreSQL: do checks per second grow with the nodes?

2,000 loopback page sources (on 20 ports of 127.0.0.1) answer after 50 ms each. Every
source is due every few seconds, more than one node can check, so each run is saturated.
After every statement's baseline is stored, the page server counts the requests in a
window: that is the cluster's checks per second. Scenarios, one after the other:

- one node on SQLite (the embedded default), for comparison;
- one node on PostgreSQL;
- two nodes on the same PostgreSQL (the target: at least 1.8x one node).

Also, in this process: the cost of the claim each check takes (claim and release, one
after the other), on each database. PostgreSQL is a throwaway server (Debian's package)
with its default durability (fsync on). Every process shares this machine's cores: the
ratio is what to compare, the absolute figures depend on the machine and its load.

    .venv/bin/python benchmarks/cluster.py [--sources 2000] [--window 20] [--concurrency 20]

With `--concurrency 5` (5 requests at once per node, 50 ms each: at most 100 checks/s) a
node is bound by its connections, as nodes on machines of their own are: that measures
the cluster. At the default concurrency (20, at most 400 checks/s) a node was bound by its
connections too until our own HTTP/1.1 transport made it faster; since 2026-12-07 it is
bound by CPU there (120-150 checks/s on PostgreSQL), as every node is at
`--concurrency 100`, and on one 2-core machine the nodes, PostgreSQL and the page server
then share the same two cores: that measures this machine, not the cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT / "tests"))
sys.path.insert(0, str(CHECKOUT))

from pg_support import PostgresServer, start_postgres  # noqa: E402

PORTS = 20
LATENCY = 0.05
PAGE = (
    "<html><head><title>Joint statement {n}</title></head><body><article><h1>Joint "
    "statement {n}</h1>"
    + "".join(
        f"<p>Paragraph {i} of the statement: both companies commit to the shared plan, with "
        "independent review every quarter and open publication of the results.</p>"
        for i in range(8)
    )
    + "</article></body></html>"
)


# ---------------------------------------------------------------------------------------------
# The page server: its own process, 50 ms per answer, counting requests
# ---------------------------------------------------------------------------------------------


def _serve(ports: list[int], count: multiprocessing.Value, ready: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                await asyncio.sleep(LATENCY)
                body = PAGE.format(n=path.strip("/")).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                with count.get_lock():
                    count.value += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [
            await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024) for port in ports
        ]
        ready.set()
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def free_ports(n: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


# ---------------------------------------------------------------------------------------------
# One scenario
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    nodes: int
    checks_per_second: float
    shares: list[int]


def write_config(
    path: Path, ports: list[int], sources: int, interval: str, concurrency: int = 20
) -> None:
    lines = [
        "[defaults]",
        f'interval = "{interval}"',
        'timeout = "5s"',
        "retries = 0",
        f"concurrency = {concurrency}",
        f"per_host = {min(10, concurrency)}",
        'host_spacing = "0s"',
        'lease_timeout = "10s"',
        'check_timeout = "60s"',
        "",
    ]
    for n in range(sources):
        port = ports[n % len(ports)]
        lines += [
            "[[sources]]",
            f'name = "s{n}"',
            f'url = "http://127.0.0.1:{port}/{n}"',
            'kind = "page"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def scenario(
    name: str,
    nodes: int,
    database: str | None,
    ports: list[int],
    count: multiprocessing.Value,  # type: ignore[type-arg]
    sources: int,
    window: float,
    concurrency: int,
) -> Result:
    import sqlalchemy as sa

    folder = Path(tempfile.mkdtemp(prefix="monitor-cluster-"))
    config = folder / "sources.toml"
    write_config(config, ports, sources, interval="4s", concurrency=concurrency)
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    env.pop("MONITOR_TOKEN", None)
    processes = []
    for n in range(nodes):
        args = [sys.executable, "-m", "monitor", "run", "--config", str(config)]
        args += ["--state", str(folder / "state"), "--listen", "127.0.0.1:0", "--workers", "1"]
        args += ["--log-level", "warning"]
        if database:
            args += ["--database", database]
        log = (folder / f"node{n}.log").open("wb")
        processes.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env))
        time.sleep(1.0)  # the first node creates the schema
    url = database or f"sqlite:///{folder / 'state' / 'monitor.db'}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

    def stored() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM snapshots")).scalar() or 0)
        except Exception:
            return 0

    try:
        deadline = time.monotonic() + 600
        while stored() < sources and time.monotonic() < deadline:
            time.sleep(1.0)
        time.sleep(5.0)  # every node settled on its share
        before, started = count.value, time.monotonic()
        time.sleep(window)
        rate = (count.value - before) / (time.monotonic() - started)
        with engine.connect() as conn:
            shares = [
                int(row[0])
                for row in conn.execute(
                    sa.text("SELECT count(*) FROM check_leases GROUP BY node ORDER BY 1 DESC")
                )
            ]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        engine.dispose()
    return Result(name, nodes, rate, shares)


# ---------------------------------------------------------------------------------------------
# The claim alone
# ---------------------------------------------------------------------------------------------


def claim_cost(url: str | None, folder: Path, checks: int = 500) -> float:
    """Milliseconds of one claim and its release, taken one after the other."""
    from monitor.clock import utcnow
    from monitor.state.cluster import Cluster
    from monitor.state.store import Store

    store = Store.open(folder, url)
    cluster = Cluster(store, "bench-node")
    times = []
    for n in range(checks):
        now = utcnow()
        started = time.perf_counter()
        cluster.claim_check(
            f"s{n}", now, now + dt.timedelta(seconds=60), now + dt.timedelta(seconds=30)
        )
        cluster.finish_check(f"s{n}")
        times.append(time.perf_counter() - started)
    store.close()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=20,
        help="requests at once per node (the `concurrency` setting; 20 is its default). "
        "Low, each node is bound by its connections, as nodes on machines of their own "
        "are; high (100), by the two cores all nodes share here",
    )
    args = parser.parse_args()

    postgres: PostgresServer = start_postgres(durable=True)
    ports = free_ports(PORTS)
    count = multiprocessing.Value("q", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(ports, count, ready), daemon=True)
    server.start()
    ready.wait(10)
    results = []
    try:
        folder = Path(tempfile.mkdtemp(prefix="monitor-claims-"))
        claim_sqlite = claim_cost(None, folder / "sqlite")
        pg_claims = postgres.create_database()
        claim_pg = claim_cost(pg_claims, folder / "pg")
        print(
            f"claim + release, median of 500: SQLite {claim_sqlite:.2f} ms, "
            f"PostgreSQL {claim_pg:.2f} ms",
            flush=True,
        )
        plan = [
            ("SQLite, 1 node", 1, None),
            ("PostgreSQL, 1 node", 1, postgres.create_database()),
            ("PostgreSQL, 2 nodes", 2, postgres.create_database()),
        ]
        for name, nodes, database in plan:
            result = scenario(
                name, nodes, database, ports, count, args.sources, args.window, args.concurrency
            )
            results.append(result)
            print(
                f"{name}: {result.checks_per_second:.0f} checks/s "
                f"(sources per node {result.shares})",
                flush=True,
            )
    finally:
        server.terminate()
        postgres.stop()
    one = next(r for r in results if r.name == "PostgreSQL, 1 node").checks_per_second
    two = next(r for r in results if r.name == "PostgreSQL, 2 nodes").checks_per_second
    print(f"two nodes / one node on PostgreSQL: {two / one:.2f}x (target 1.8x)")


if __name__ == "__main__":
    main()
