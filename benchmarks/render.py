"""Rendered fetching against plain HTTP: pages per second and peak RSS for loopback pages.

    .venv/bin/python benchmarks/render.py --pages 100

Serves N pages whose statement a script writes into the DOM, fetches them all once through
the HTTP fetcher and once through the browser (Debian's chromium, `browser_pages` pages at
once), and prints pages/s and the peak resident memory of this process plus its children
(the browser's processes included), sampled from /proc while each run goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import serving  # noqa: E402

from monitor.fetch import FetchRequest, FetchSettings, RenderOptions  # noqa: E402
from monitor.fetch.router import open_fetcher  # noqa: E402

PAGE = """<!DOCTYPE html><html><head><title>Statement {n}</title></head><body>
<main id="app"></main><script>
const p = {paragraphs};
document.getElementById("app").innerHTML =
  "<article><h1>Statement {n}</h1>" + p.map(t => "<p>" + t + "</p>").join("") + "</article>";
</script></body></html>"""


def tree_rss_kb(root: int) -> tuple[int, int]:
    """Resident memory of a process and all its descendants, in kB (from /proc): the sum of
    their RSS (counts pages they share once per process) and of their PSS (shares split)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total_rss = total_pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        total_rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        total_pss += int(line.split()[1])
        except OSError:
            pass
        todo += children.get(pid, [])
    return total_rss, total_pss


async def run(urls: list[str], render: bool, pages: int) -> tuple[float, tuple[int, int]]:
    settings = FetchSettings(browser_pages=pages)
    peak = (0, 0)
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            now = tree_rss_kb(os.getpid())
            peak = (max(peak[0], now[0]), max(peak[1], now[1]))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    options = RenderOptions() if render else None
    async with open_fetcher(settings) as fetcher:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(fetcher.fetch(FetchRequest(u, render=options)) for u in urls)
        )
        elapsed = time.perf_counter() - started
        assert all("<article>" in r.text for r in results) or not render
    done.set()
    await sampler
    return len(urls) / elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--browser-pages", type=int, default=2)
    args = parser.parse_args()
    with serving() as server:
        paragraphs = [
            f"Paragraph {i} of the statement, with enough words to read." for i in range(8)
        ]
        urls = [
            server.page(f"/s/{n}", PAGE.format(n=n, paragraphs=paragraphs).replace("'", '"'))
            for n in range(args.pages)
        ]
        for label, render in (("plain HTTP", False), ("rendered", True)):
            rate, peak = asyncio.run(run(urls, render, args.browser_pages))
            print(
                f"{label:>11}: {rate:7.1f} pages/s, peak RSS {peak[0] / 1024:6.0f} MB "
                f"(PSS {peak[1] / 1024:.0f} MB), this process and its children"
            )


if __name__ == "__main__":
    main()
