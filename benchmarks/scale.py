"""Unchanged pages and a large state: 304 throughput, start-up time, memory, database size.

    python benchmarks/scale.py [--sources 10000]

Serves N statement pages with ETags on loopback, runs a first `monitor check` (every
statement fetched and recorded), then a second in which every page answers
304 Not Modified. Reports, for the second check:

- start-up: from launching `monitor check` to the server seeing its first request (reading
  the configuration of N sources, opening the state, starting the workers);
- checks/s: N divided by the time from that first request to the end of the run;
- peak RSS of the largest `monitor` process (each shard process has its own), in MiB;
- the database size per stored snapshot;
- config load: reading and validating the sources file of N sources, in this process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the realistic page generator the tests use
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))  # this checkout's package

from loopback import measured, page_server, write_sources  # noqa: E402
from pages import PARTNERSHIP, press_release  # noqa: E402

from monitor.sources.config import load_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20, help="as in [defaults]")
    parser.add_argument("--per-host", type=int, default=10, help="as in [defaults]")
    args = parser.parse_args()

    pages = {
        f"/s/{i}": press_release(f"Statement {i} on the partnership", PARTNERSHIP).encode()
        for i in range(args.sources)
    }
    monitor = str(Path(sys.executable).parent / "monitor")
    work = Path(tempfile.mkdtemp(prefix="monitor-scale-"))
    try:
        with page_server([pages], etags=True) as server:
            config = write_sources(
                work / "sources.toml",
                [server.url(f"/s/{i}") for i in range(args.sources)],
                f"concurrency = {args.concurrency}\nper_host = {args.per_host}\n",
            )
            started = time.perf_counter()
            load_config(config)
            config_load = time.perf_counter() - started
            command = [monitor, "check", "--config", str(config), "--state", str(work / "state")]
            first = measured([*command, "--format", "json"])
            server.switch(0)  # resets the first-request clock
            second = measured([*command, "--format", "json"])
            first_request = server.first_request_at()
        events = [json.loads(line) for line in second.stdout.splitlines() if line.strip()]
        db_size = (work / "state" / "monitor.db").stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)

    startup = first_request - second.started_at
    checking = second.wall - startup
    print(
        f"sources: {args.sources}, limits: concurrency {args.concurrency}, per_host {args.per_host}"
    )
    print(
        f"first check (all fetched):  wall {first.wall:.1f} s, CPU {first.cpu:.1f} s, "
        f"peak RSS {first.peak_rss_mb:.0f} MiB"
    )
    print(
        f"second check (all 304):     wall {second.wall:.1f} s, CPU {second.cpu:.1f} s, "
        f"peak RSS {second.peak_rss_mb:.0f} MiB, events {len(events)}"
    )
    print(f"config load ({args.sources} sources): {config_load:.2f} s")
    print(f"  start-up to first request: {startup:.2f} s")
    print(f"  checks/s after start-up:   {args.sources / checking:.0f}")
    print(
        f"database: {db_size / 1e6:.1f} MB, {db_size / args.sources / 1e3:.1f} KB per snapshot "
        "(raw page kept, compressed)"
    )


if __name__ == "__main__":
    main()
