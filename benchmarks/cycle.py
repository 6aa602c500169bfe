"""Time two `monitor check` cycles over N generated statement pages served on loopback.

Between the cycles, every page gets a new footer timestamp, view counter and "most read"
sidebar (noise), and 10 % of the pages get a real edit of their body (one word changed,
removed or added). Reports wall time, CPU time and peak RSS of each `monitor check`, and
detected versus true changes.

    python benchmarks/cycle.py [--pages 1000] [--edit-share 0.1] [--vs-urlwatch]

With --vs-urlwatch, urlwatch 2.29 is installed into its own virtual environment
(benchmarks/.urlwatch-venv, reused on later runs) and runs the same two cycles over the same
pages with its default whole-page settings, in the same run.

The page server runs in its own process so that it does not share the monitor's CPU
accounting; both run on this machine, so compare figures from one run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
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
    """Serve cycle 1, or cycle 2 after a request for /_cycle/1, as fast as Python can.

    A bare asyncio protocol with prebuilt responses (keep-alive, HTTP/1.1), so that the
    server's own cost stays small beside the tools being measured.
    """
    responses = [{path: _response(200, body) for path, body in pages.items()} for pages in cycles]
    missing = _response(404, b"not found")
    current = [0]

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:
                head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1].decode()
                if path.startswith("/_cycle/"):
                    current[0] = int(path.rsplit("/", 1)[1])
                    reply = _response(200, b"ok")
                else:
                    reply = responses[current[0]].get(path, missing)
                self.transport.write(reply)  # type: ignore[attr-defined]

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Protocol, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def _response(status: int, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def measured(command: list[str]) -> tuple[float, float, float, str]:
    """Run a command; its wall time, CPU time and peak RSS in MB (with its children)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        # wait4 gives this child's own usage, so one tool's memory never shows in another's
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode not in (0, 1):
        sys.exit(f"{command[0]} failed ({process.returncode}):\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout


@dataclass
class Cycle:
    wall: float
    cpu: float
    peak_rss_mb: float
    changed: set[str]
    errors: int


def monitor_cycle(config: Path, state: Path) -> Cycle:
    monitor = Path(sys.executable).parent / "monitor"
    wall, cpu, rss, out = measured(
        [str(monitor), "check", "--config", str(config), "--state", str(state), "--format", "json"]
    )
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    changed = {e["url"] for e in events if e["event"] == "changed"}
    return Cycle(wall, cpu, rss, changed, sum(e["event"] == "error" for e in events))


def urlwatch_cycle(venv: Path, work: Path) -> Cycle:
    wall, cpu, rss, out = measured(
        [
            str(venv / "bin" / "urlwatch"),
            "--urls",
            str(work / "urls.yaml"),
            "--config",
            str(work / "urlwatch.yaml"),
            "--cache",
            str(work / "cache.db"),
            "--hooks",
            str(work / "hooks.py"),
        ]
    )
    changed = set(re.findall(r"^\d+\. CHANGED: (\S+)$", out, re.MULTILINE))
    errors = len(re.findall(r"^\d+\. ERROR: ", out, re.MULTILINE))
    return Cycle(wall, cpu, rss, changed, errors)


def ensure_urlwatch() -> Path:
    """urlwatch 2.29 in its own virtual environment (created once, then reused)."""
    venv = Path(__file__).resolve().parent / ".urlwatch-venv"
    if not (venv / "bin" / "urlwatch").exists():
        print("installing urlwatch 2.29 into", venv, file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "urlwatch==2.29"], check=True)
    return venv


def switch(port: int, cycle: int) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_cycle/{cycle}") as answer:
        answer.read()


def print_row(name: str, run: Cycle, truth: set[str], pages: int) -> None:
    print(
        f"{name:<22}{run.wall:>8.2f}{run.cpu:>8.2f}{run.peak_rss_mb:>9.0f}"
        f"{len(run.changed & truth):>6}{len(run.changed - truth):>6}{len(truth - run.changed):>7}"
        f"{run.errors:>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--edit-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vs-urlwatch", action="store_true")
    parser.add_argument("--concurrency", type=int, default=20, help="as in [defaults]")
    parser.add_argument("--per-host", type=int, default=4, help="as in [defaults]")
    args = parser.parse_args()

    venv = ensure_urlwatch() if args.vs_urlwatch else None
    cycles, edits = build_site(args.pages, args.edit_share, args.seed)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(cycles, queue), daemon=True)
    server.start()
    port = queue.get(timeout=30)
    urls = [f"http://127.0.0.1:{port}/s/{page}" for page in range(args.pages)]
    work = Path(tempfile.mkdtemp(prefix="monitor-cycle-"))
    results: dict[str, tuple[Cycle, Cycle]] = {}
    try:
        config = work / "sources.toml"
        lines = [f"[defaults]\nconcurrency = {args.concurrency}\nper_host = {args.per_host}\n"]
        lines += [f'[[sources]]\nname = "s{i}"\nurl = "{url}"\n' for i, url in enumerate(urls)]
        config.write_text("\n".join(lines))
        state = work / "state"
        first = monitor_cycle(config, state)
        switch(port, 1)
        results["statement monitor"] = (first, monitor_cycle(config, state))
        db_size = (state / "monitor.db").stat().st_size
        if venv is not None:
            (work / "urls.yaml").write_text("\n---\n".join(f'url: "{u}"' for u in urls) + "\n")
            (work / "hooks.py").write_text("")
            switch(port, 0)
            first = urlwatch_cycle(venv, work)
            switch(port, 1)
            results["urlwatch 2.29"] = (first, urlwatch_cycle(venv, work))
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)

    truth = {urls[e.page] for e in edits}
    print(
        f"pages: {args.pages}, true edits in cycle 2: {len(truth)}, seed {args.seed}, "
        f"CPUs: {os.cpu_count()}"
    )
    print(
        f"{'':<22}{'wall s':>8}{'CPU s':>8}{'RSS MB':>9}{'TP':>6}{'FP':>6}{'missed':>7}"
        f"{'errors':>7}"
    )
    for name, (first, second) in results.items():
        print_row(f"{name}, cycle 1", first, set(), args.pages)
        print_row(f"{name}, cycle 2", second, truth, args.pages)
    if venv is not None:
        ours, theirs = results["statement monitor"][1], results["urlwatch 2.29"][1]
        print(f"cycle 2 wall time, ours / urlwatch: {ours.wall / theirs.wall:.2f}x")
    print(
        f"state database: {db_size / 1e6:.1f} MB after two cycles "
        f"({db_size / (2 * args.pages) / 1e3:.1f} KB per check)"
    )


if __name__ == "__main__":
    main()
