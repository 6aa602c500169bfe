"""Time two `monitor check` cycles over N generated statement pages served on loopback.

Between the cycles, every page gets a new footer timestamp, view counter and "most read"
sidebar (noise), and 10 % of the pages get a real edit of their body (one word changed,
removed or added). Reports wall time, CPU time and peak RSS of each `monitor check`, and
detected versus true changes.

    python benchmarks/cycle.py [--pages 1000] [--edit-share 0.1] [--keep DIR]

The page server runs in its own process so that it does not share the monitor's CPU
accounting; both run on this machine, so compare figures from one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the realistic page generator the tests use

from pages import Noise, press_release  # noqa: E402

WORDS = [
    "partnership",
    "research",
    "platform",
    "capacity",
    "review",
    "board",
    "annual",
    "report",
    "community",
    "public",
    "interest",
    "infrastructure",
    "stewardship",
    "commitment",
    "innovation",
    "institutions",
    "programme",
    "agreement",
    "companies",
    "technology",
    "responsible",
    "independent",
    "customers",
    "developers",
    "safety",
]


@dataclass(frozen=True)
class Edit:
    page: int
    kind: str


def article(page: int, rng: random.Random) -> list[str]:
    """Five to nine paragraphs of 40-80 words, fixed per page number."""
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 80))).capitalize() + "."
        for _ in range(rng.randint(5, 9))
    ]


def edited(paragraphs: list[str], rng: random.Random) -> tuple[list[str], str]:
    """The body with one small real edit: a word changed, removed or added."""
    out = list(paragraphs)
    index = rng.randrange(len(out))
    words = out[index].split()
    position = rng.randrange(1, len(words) - 1)
    kind = rng.choice(["changed", "removed", "added"])
    if kind == "changed":
        words[position] = "UNEXPECTEDLY"
    elif kind == "removed":
        del words[position]
    else:
        words.insert(position, "notably")
    out[index] = " ".join(words)
    return out, kind


def build_site(
    pages: int, edit_share: float, seed: int
) -> tuple[list[dict[str, bytes]], list[Edit]]:
    """The bytes of every page for cycle 1 and cycle 2, and the true edits between them."""
    rng = random.Random(seed)
    edited_pages = set(rng.sample(range(pages), int(pages * edit_share)))
    first: dict[str, bytes] = {}
    second: dict[str, bytes] = {}
    edits: list[Edit] = []
    for page in range(pages):
        body = article(page, random.Random(seed * 100_003 + page))
        title = f"Statement {page}: partnership update"
        first[f"/s/{page}"] = press_release(title, body).encode()
        later = Noise(
            rendered_at=f"2026-11-27 {page % 24:02d}:{page % 60:02d}:07 UTC",
            views=rng.randint(1000, 99999),
            most_read=[f"Story {rng.randint(0, 999)}", f"Story {rng.randint(0, 999)}"],
            ad_slot=f"ad-{rng.randint(1, 9)}",
        )
        if page in edited_pages:
            body, kind = edited(body, rng)
            edits.append(Edit(page, kind))
        second[f"/s/{page}"] = press_release(title, body, later).encode()
    return [first, second], edits


def serve(cycles: list[dict[str, bytes]], port_queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Serve cycle 1 until /_next is requested, then cycle 2."""
    current = {"cycle": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/_next":
                current["cycle"] = 1
                body = b"ok"
            else:
                body = cycles[current["cycle"]].get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def run_check(monitor: Path, config: Path, state: Path) -> dict[str, float | list[dict]]:
    """Run one `monitor check` and measure it (wall, CPU, peak RSS of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [str(monitor), "check", "--config", str(config), "--state", str(state), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        sys.exit(f"monitor check failed ({result.returncode}):\n{result.stderr}")
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_rss_mb": after.ru_maxrss / 1024,  # the largest child so far, in KB on Linux
        "events": [json.loads(line) for line in result.stdout.splitlines() if line.strip()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--edit-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the state folder here")
    args = parser.parse_args()

    cycles, edits = build_site(args.pages, args.edit_share, args.seed)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(cycles, queue), daemon=True)
    server.start()
    port = queue.get(timeout=30)
    work = Path(tempfile.mkdtemp(prefix="monitor-cycle-"))
    try:
        config = work / "sources.toml"
        lines = ['[defaults]\nconcurrency = 32\nper_host = 32\ntimeout = "30s"\n']
        for page in range(args.pages):
            lines.append(
                f'[[sources]]\nname = "s{page}"\nurl = "http://127.0.0.1:{port}/s/{page}"\n'
            )
        config.write_text("\n".join(lines))
        monitor = Path(sys.executable).parent / "monitor"
        state = args.keep or work / "state"
        first = run_check(monitor, config, state)
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import urllib.request as u; u.urlopen('http://127.0.0.1:{port}/_next')",
            ],
            check=True,
        )
        second = run_check(monitor, config, state)
        db_size = (state / "monitor.db").stat().st_size
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)

    truth = {f"http://127.0.0.1:{port}/s/{e.page}" for e in edits}
    changed = {e["url"] for e in second["events"] if e["event"] == "changed"}  # type: ignore[union-attr]
    errors = [e for e in second["events"] if e["event"] == "error"]  # type: ignore[union-attr]
    print(
        f"pages: {args.pages}, true edits: {len(truth)} (seed {args.seed}), CPUs: {os.cpu_count()}"
    )
    print(f"{'cycle':<8}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{'pages/s':>10}")
    for name, run in (("first", first), ("second", second)):
        wall = float(run["wall"])  # type: ignore[arg-type]
        print(
            f"{name:<8}{wall:>9.2f}{float(run['cpu']):>9.2f}"  # type: ignore[arg-type]
            f"{float(run['peak_rss_mb']):>13.0f}{args.pages / wall:>10.0f}"  # type: ignore[arg-type]
        )
    print(
        f"second cycle: detected {len(changed & truth)}/{len(truth)} edits, "
        f"false positives {len(changed - truth)}, missed {len(truth - changed)}, "
        f"errors {len(errors)}"
    )
    print(f"state database: {db_size / 1e6:.1f} MB after two cycles")


if __name__ == "__main__":
    main()
