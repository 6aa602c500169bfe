"""`monitor` with parts of a check made free: how much speeding up a part could win at most.

    python benchmarks/headroom.py PART[,PART] -- <monitor arguments>

Runs the `monitor` command line after replacing the named parts of a check with stand-ins
that cost next to nothing, so that a timed run shows what is left when they are gone: an
upper bound on what any speed-up of those parts can win, found before the work of one is
spent. `cycle.py --what-if` runs its second cycle through this. The parts:

- `digest`: the learned container's digest of a page whose bytes changed. Its stand-in
  parses nothing: it answers "the statement is unchanged" for every page with a learned
  container that is not in `HEADROOM_EDITED` (a comma-separated list of the URLs the
  benchmark edited), so the events are the benchmark's truth, not a finding.
- `recording`: the store's write of a group of checks (`Store.save_checks`). Its stand-in
  writes nothing and returns the checks as if recorded.

The figures of such a run are not results: nothing was digested or stored.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

PARTS = ("digest", "recording")


def free_digest(edited: set[str]) -> None:
    """The container check answers from the benchmark's truth without parsing the page."""
    from monitor.check import pipeline

    async def same_container(page: Any, previous: Any, ctx: Any) -> bool:
        learned = previous.version and previous.learned_container is not None
        return bool(learned) and page.url not in edited

    pipeline._same_container = same_container


def free_recording() -> None:
    """Groups of checks are returned as recorded without a write."""
    from monitor.state.records import SourceUpdate
    from monitor.state.store import Store

    def save_checks(self: Store, updates: Sequence[SourceUpdate]) -> list[SourceUpdate]:
        return list(updates)

    Store.save_checks = save_checks  # type: ignore[method-assign]


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        sys.exit(__doc__)
    parts = sys.argv[1].split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        sys.exit(f"unknown parts {sorted(unknown)}: choose from {', '.join(PARTS)}")
    if "digest" in parts:
        free_digest(set(filter(None, os.environ.get("HEADROOM_EDITED", "").split(","))))
    if "recording" in parts:
        free_recording()
    from monitor.cli import main as monitor_main

    sys.argv = ["monitor", *sys.argv[3:]]
    monitor_main()


if __name__ == "__main__":
    main()
