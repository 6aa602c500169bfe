"""CPU time of one check of a page whose statement did not change, in one process.

    python benchmarks/unchanged.py [--pages 1000] [--rounds 5] [--page-kb 30-60] [--profile]

Serves the cycle benchmark's N generated pages on loopback (its own process), records them
once (`monitor check`), then changes the noise of every page (footer time, view counter,
"most read", ad slot) but no statement, and checks them all again in this process, on the
event loop `monitor check` runs on, without shard processes: fetch, container digest,
store. Reports the CPU time of that check divided by N (start-up and imports excluded),
the median over the rounds, each round from a fresh copy of the recorded state.
`--profile` prints where the time went.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))  # this checkout's package

from cycle import add_page_kb, build_site, page_kb  # noqa: E402
from loopback import measured, page_server, write_sources  # noqa: E402

from monitor.check.pipeline import check_sources  # noqa: E402
from monitor.cli.shards import run_event_loop  # noqa: E402
from monitor.sources.config import load_config  # noqa: E402
from monitor.state.store import Store  # noqa: E402


def check_in_process(config_path: Path, state: Path, profile: cProfile.Profile | None) -> float:
    """CPU seconds of one check of every source, in this process."""
    config = load_config(config_path)
    store = Store.open(state)
    try:
        started = time.process_time()
        if profile is not None:
            profile.enable()
        results = run_event_loop(check_sources(config, store, list(config.sources)))
        if profile is not None:
            profile.disable()
        cpu = time.process_time() - started
    finally:
        store.close()
    events = [e.event for r in results for e in r.events]
    if events:
        raise SystemExit(f"expected no events, got {sorted(set(events))}")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-host", type=int, default=4, help="as in [defaults]")
    parser.add_argument("--profile", action="store_true")
    add_page_kb(parser)
    args = parser.parse_args()

    # noise on every page, no edit
    cycles, _ = build_site(args.pages, 0.0, 7, page_kb(args.page_kb))
    monitor = str(Path(sys.executable).parent / "monitor")
    work = Path(tempfile.mkdtemp(prefix="monitor-unchanged-"))
    profile = cProfile.Profile() if args.profile else None
    try:
        with page_server(cycles) as server:
            config = write_sources(
                work / "sources.toml",
                [server.url(f"/s/{i}") for i in range(args.pages)],
                f"per_host = {args.per_host}\n",
            )
            server.switch(0)
            measured([monitor, "check", "--config", str(config), "--state", str(work / "first")])
            server.switch(1)
            per_page = []
            for _ in range(args.rounds):
                state = work / "round"
                shutil.rmtree(state, ignore_errors=True)
                shutil.copytree(work / "first", state)
                per_page.append(check_in_process(config, state, profile) / args.pages)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sizes = [len(page) / 1000 for page in cycles[1].values()]
    print(
        f"pages: {args.pages} of {min(sizes):.1f}-{max(sizes):.1f} KB, statements unchanged, "
        f"noise changed on every page; per_host {args.per_host}"
    )
    print(
        f"CPU per page, median of {args.rounds}: {statistics.median(per_page) * 1000:.2f} ms "
        f"(rounds: {', '.join(f'{p * 1000:.2f}' for p in per_page)})"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
