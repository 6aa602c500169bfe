"""Soak test of `monitor run`: many loopback sources on a short interval for N minutes.

Serves `--sources` realistic statement pages (tests/pages.py) from a separate process, spread
over `--ports` loopback ports so the per-host spacing and caps behave as with many sites.
Every request renders fresh noise (timestamp, view counter), so every check fetches and
extracts; a share of the pages (`--edit-share`) also gets a real edit every few minutes,
which stores a new version and queues an alert to a webhook on the same server.

Prints checks/s, p50/p99 check latency (from the daemon's JSON log lines), errors, and the
resident memory of the daemon (and of its extraction workers) at the start of measurement
(after the warm-up), the middle and the end, with the growth after warm-up.

    python benchmarks/soak.py [--minutes 10] [--sources 500] [--interval 30s] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the realistic page generator the tests use

from service_support import descendants, rss_kib  # noqa: E402  (process helpers of the tests)

PARAGRAPHS = [
    "Example Corp and Sample Industries today announced a multi-year research partnership "
    "focused on the safety evaluation of large models, with shared funding and staff.",
    "The partnership will publish its findings openly and invite independent researchers to "
    "review the methods and the results every quarter.",
    "Both companies commit to sharing evaluation tools with academic groups at no cost, "
    "starting with the benchmark suites used internally today.",
    "A joint steering board of six members, three from each company, will set the research "
    "agenda and report to both boards twice a year.",
]


# ---------------------------------------------------------------------------------------------
# The page server (its own process, so its CPU is not the daemon's)
# ---------------------------------------------------------------------------------------------


def serve_pages(sockets: list[socket.socket], pages: int, edit_share: float, edit_every: float):
    """Run a Starlette app on every socket: /p/{n} pages and a /hook webhook receiver."""
    import uvicorn
    from pages import Noise, press_release
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse
    from starlette.routing import Route

    started = time.monotonic()
    edited = {n for n in range(pages) if (n * 7919) % 1000 < edit_share * 1000}
    views = [0] * pages

    async def page(request: Request) -> HTMLResponse:
        n = int(request.path_params["n"])
        views[n] += 1
        paragraphs = list(PARAGRAPHS)
        if n in edited:  # a real edit every `edit_every` seconds
            revision = int((time.monotonic() - started) // edit_every)
            paragraphs[1] = paragraphs[1].replace("every quarter", f"every {revision + 2} months")
        noise = Noise(rendered_at=time.strftime("%Y-%m-%d %H:%M:%S"), views=views[n])
        return HTMLResponse(press_release(f"Statement number {n}", paragraphs, noise))

    async def hook(request: Request) -> PlainTextResponse:
        await request.body()
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/p/{n:int}", page), Route("/hook", hook, methods=["POST"])])
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=sockets)


def open_sockets(count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    return sockets


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    main: int
    workers: int


# ---------------------------------------------------------------------------------------------
# Reading the daemon's log
# ---------------------------------------------------------------------------------------------


@dataclass
class Checks:
    durations: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)


def read_checks(log_path: Path, since: float) -> Checks:
    """The check lines (`monitor.check`) logged after `since` (Unix time)."""
    checks = Checks()
    with log_path.open(encoding="utf-8", errors="replace") as log:
        for line in log:
            if '"monitor.check"' not in line:
                continue
            entry = json.loads(line)
            at = dt.datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
            if at < since:
                continue
            checks.durations.append(entry["duration"])
            checks.outcomes[entry["outcome"]] = checks.outcomes.get(entry["outcome"], 0) + 1
            checks.times.append(at)
    return checks


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def write_config(path: Path, ports: list[int], sources: int, interval: str) -> None:
    lines = [
        "[defaults]",
        f'interval = "{interval}"',
        'timeout = "10s"',
        "retries = 0",
        "concurrency = 50",
        "",
        "[notifiers.hook]",
        'type = "webhook"',
        f'url = "http://127.0.0.1:{ports[0]}/hook"',
        "",
    ]
    for n in range(sources):
        port = ports[n % len(ports)]
        lines += [
            "[[sources]]",
            f'name = "s{n:04d}"',
            f'url = "http://127.0.0.1:{port}/p/{n}"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured run time")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before measuring")
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--interval", default="30s")
    parser.add_argument("--ports", type=int, default=50, help="loopback origins to spread over")
    parser.add_argument("--edit-share", type=float, default=0.05)
    parser.add_argument("--edit-every", type=float, default=120.0, help="seconds between edits")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="keep the state and log in this folder")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="monitor-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    sockets = open_sockets(args.ports)
    ports = [s.getsockname()[1] for s in sockets]
    server = multiprocessing.get_context("fork").Process(
        target=serve_pages,
        args=(sockets, args.sources, args.edit_share, args.edit_every),
        daemon=True,
    )
    server.start()
    config = work / "sources.toml"
    write_config(config, ports, args.sources, args.interval)
    log_path = work / "daemon.log"
    command = [
        sys.executable,
        "-m",
        "monitor.cli.main",
        "run",
        "--config",
        str(config),
        "--state",
        str(work / "state"),
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    print(
        f"{args.sources} sources on {args.ports} loopback ports, interval {args.interval}, "
        f"{args.edit_share:.0%} edited every {args.edit_every:g} s; warm-up {args.warmup:g} s, "
        f"then {args.minutes:g} min measured (work folder {work})",
        flush=True,
    )
    samples: list[Sample] = []
    try:
        time.sleep(args.warmup)
        measured_from = time.time()
        end = time.monotonic() + args.minutes * 60
        while True:
            workers = sum(rss_kib(p) for p in descendants(daemon.pid))
            samples.append(Sample(time.monotonic(), rss_kib(daemon.pid), workers))
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited ({daemon.returncode}); see {log_path}")
            if time.monotonic() >= end:
                break
            time.sleep(min(10.0, max(0.0, end - time.monotonic())))
        health = _healthz(log_path)
        stopped = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(30)
        stop_seconds = time.monotonic() - stopped
    finally:
        if daemon.poll() is None:
            daemon.kill()
        server.terminate()
    report(read_checks(log_path, measured_from), samples, health, code, stop_seconds)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


def _healthz(log_path: Path) -> str:
    import httpx

    match = re.search(r"listening on http://(\S+?)\"", log_path.read_text())
    if not match:
        return "unknown"
    try:
        answer = httpx.get(f"http://{match.group(1)}/healthz", timeout=5)
    except httpx.HTTPError as exc:
        return f"no answer ({exc})"
    body = answer.json()
    return f"{answer.status_code} {body['status']}, pending alerts {body['pending_alerts']}"


def report(
    checks: Checks, samples: list[Sample], health: str, code: int, stop_seconds: float
) -> None:
    span = (max(checks.times) - min(checks.times)) if len(checks.times) > 1 else 1.0
    first, middle, last = samples[0], samples[len(samples) // 2], samples[-1]

    def mib(kib: int) -> str:
        return f"{kib / 1024:.1f} MiB"

    growth = (last.main - first.main) / first.main * 100 if first.main else 0.0
    total_growth = (
        (last.main + last.workers - first.main - first.workers)
        / max(1, first.main + first.workers)
        * 100
    )
    rate = len(checks.durations) / span
    print(f"checks:        {len(checks.durations)} in {span:.0f} s = {rate:.1f}/s")
    print(f"outcomes:      {checks.outcomes}")
    print(
        f"latency:       p50 {percentile(checks.durations, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(checks.durations, 0.99) * 1000:.0f} ms, "
        f"max {max(checks.durations, default=0) * 1000:.0f} ms"
    )
    print(
        f"RSS (daemon):  start {mib(first.main)}, middle {mib(middle.main)}, "
        f"end {mib(last.main)}: {growth:+.1f} % after warm-up"
    )
    print(
        f"RSS (workers): start {mib(first.workers)}, middle {mib(middle.workers)}, "
        f"end {mib(last.workers)}; daemon + workers {total_growth:+.1f} %"
    )
    print(f"healthz:       {health}")
    print(f"SIGTERM:       exit {code} after {stop_seconds:.1f} s")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    main()
