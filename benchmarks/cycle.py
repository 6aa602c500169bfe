"""Time two `monitor check` cycles over N generated statement pages served on loopback.

Each page is a statement of 5-9 paragraphs in a newsroom page of 30-60 KB (issue 15's
setting; `--page-kb 0` for the bare 4-9 KB page that earlier figures used): the furniture
around it (scripts, structured data, a mega menu, footer link columns) is the same in both
cycles. Between the cycles, every page gets a new footer timestamp, view counter and "most
read" sidebar (noise), and 10 % of the pages get a real edit of their body (one word
changed, removed or added). Reports wall time, CPU time and peak RSS of each `monitor
check`, and detected versus true changes.

    python benchmarks/cycle.py [--pages 1000] [--edit-share 0.1] [--vs-urlwatch]
                               [--vs-urlwatch-selector] [--server asyncio|nginx] [--rounds 3]
                               [--page-kb 30-60] [--what-if digest,recording,startup]

With --vs-urlwatch, urlwatch 2.29 is installed into its own virtual environment
(benchmarks/.urlwatch-venv, reused on later runs) and runs the same two cycles over the same
pages with its default whole-page settings (10 worker threads) in the same run. Each round
runs both tools, taking turns at going first; the table shows each figure's median over the
rounds, and the ratio is the median of the per-round ratios. With --vs-urlwatch-selector,
urlwatch also runs with a hand-set `css: article` filter on every job (exact, like us: it
then flags only the real edits), the fair comparison for speed.

`--server nginx` serves the pages from Debian's nginx on 127.0.0.1 (sendfile, ETag on; the
cycles are folders, switched by an atomic symlink) instead of the asyncio stand-in.

`--what-if digest,recording,startup` adds a row in the same rounds: our two cycles again, the
second with those parts of a check made free (`headroom.py`; `startup`: the check forked from
a process that had imported everything before the clock started, as a long-lived process
would); its time is an upper bound on what speeding them up can win.

The page server runs in its own process so that it does not share the monitor's CPU
accounting; both run on this machine, so compare figures from one run, not across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the realistic page generator the tests use

from headroom import serving  # noqa: E402
from loopback import PageServer, measured, page_server, write_sources  # noqa: E402
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


def furnished(page: str, rng: random.Random, size: int) -> str:
    """`page` grown to about `size` characters with the furniture of a real newsroom page.

    A news site's page is mostly furniture around a statement of a few kilobytes: an
    analytics script and structured data in the head, a mega menu of section links, and a
    footer of link columns with icons. It is the same in every cycle (what changes between
    cycles is the noise `press_release` already varies). Sizes as drawn by the caller; a size
    of 0 leaves the page bare.
    """
    if not size:
        return page

    def word() -> str:
        return rng.choice(WORDS)

    script = "".join(
        f"var {word()}_{i}=function(e,t){{return e.{word()}(t,{rng.randint(0, 9999)})}};"
        for i in range(60)
    )
    head = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":'
        f'"NewsArticle","publisher":{{"name":"Example Corp","logo":"/img/logo-{rng.randint(1, 9)}'
        f'.png"}}}}</script>\n<script>{script}</script>\n'
    )
    icon = '<svg viewBox="0 0 24 24" width="16" height="16"><path d="M12 2 L22 12 L12 22 Z"/></svg>'
    menu: list[str] = []
    footer: list[str] = []
    grown = len(page) + len(head)
    column = 0
    while grown < size:
        section = f"{word().capitalize()} {word()}"
        links = "".join(
            f'<li class="menu-item"><a href="/{word()}/{word()}-{rng.randint(1, 999)}/">'
            f"{word().capitalize()} {word()}</a></li>"
            for _ in range(12)
        )
        if column % 3 == 2:
            block = f'<div class="footer-column"><h3>{section}</h3>{icon}<ul>{links}</ul></div>'
            footer.append(block)
        else:
            block = f"<li><span>{section}</span><ul class='sub-menu'>{links}</ul></li>"
            menu.append(block)
        grown += len(block)
        column += 1
    page = page.replace("</head>", head + "</head>", 1)
    page = page.replace("</nav>", f'<ul class="mega-menu">{"".join(menu)}</ul></nav>', 1)
    links = f'<div class="footer-links">{"".join(footer)}</div>'
    return page.replace("</footer>", f"{links}</footer>", 1)


def add_page_kb(parser: argparse.ArgumentParser) -> None:
    """The --page-kb option: page sizes as issue 15 measures them, 30-60 KB by default."""
    parser.add_argument(
        "--page-kb",
        default="30-60",
        metavar="MIN-MAX",
        help="page sizes with their furniture, in KB (0: the bare generated page, 4-9 KB)",
    )


def page_kb(text: str) -> tuple[int, int]:
    """`--page-kb`'s "30-60" (or "45", or "0") as the sizes `build_site` takes."""
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def build_site(
    pages: int, edit_share: float, seed: int, sizes: tuple[int, int] = (0, 0)
) -> tuple[list[dict[str, bytes]], list[Edit]]:
    """The bytes of every page for cycle 1 and cycle 2, and the true edits between them.

    With `sizes` (in KB), each page carries furniture (`furnished`) up to a size drawn
    between the two, the same in both cycles.
    """
    rng = random.Random(seed)
    edited_pages = set(rng.sample(range(pages), int(pages * edit_share)))
    first: dict[str, bytes] = {}
    second: dict[str, bytes] = {}
    edits: list[Edit] = []
    for page in range(pages):
        body = article(page, random.Random(seed * 100_003 + page))
        title = f"Statement {page}: partnership update"
        size = random.Random(seed + page).randint(*sizes) * 1000 if sizes[1] else 0

        def page_of(html: str, page: int = page, size: int = size) -> bytes:
            return furnished(html, random.Random(seed * 7 + page), size).encode()

        first[f"/s/{page}"] = page_of(press_release(title, body))
        later = Noise(
            rendered_at=f"2026-11-27 {page % 24:02d}:{page % 60:02d}:07 UTC",
            views=rng.randint(1000, 99999),
            most_read=[f"Story {rng.randint(0, 999)}", f"Story {rng.randint(0, 999)}"],
            ad_slot=f"ad-{rng.randint(1, 9)}",
        )
        if page in edited_pages:
            body, kind = edited(body, rng)
            edits.append(Edit(page, kind))
        second[f"/s/{page}"] = page_of(press_release(title, body, later))
    return [first, second], edits


@dataclass
class Cycle:
    wall: float
    cpu: float
    peak_rss_mb: float
    changed: set[str]
    errors: int


class NginxServer:
    """Debian's nginx on 127.0.0.1 serving one folder per cycle; `switch` swaps a symlink."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def switch(self, cycle: int) -> None:
        link = self.folder / "next"
        link.symlink_to(self.folder / f"cycle-{cycle}")
        link.replace(self.folder / "root")  # atomic: nginx never sees a missing root


@contextlib.contextmanager
def nginx_server(cycles: list[dict[str, bytes]]) -> Iterator[NginxServer]:
    """The pages of every cycle on disk, served by nginx (sendfile, ETag) until the end."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("--server nginx needs Debian's nginx: apt-get install nginx-light")
    folder = Path(tempfile.mkdtemp(prefix="monitor-nginx-"))
    folder.chmod(0o755)  # nginx workers run as another user
    for number, pages in enumerate(cycles):
        for path, body in pages.items():
            target = folder / f"cycle-{number}" / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (folder / "nginx.conf").write_text(
        "daemon off; worker_processes 1; error_log stderr error; pid nginx.pid;\n"
        "events { worker_connections 1024; }\n"
        "http { default_type text/html; sendfile on; etag on; access_log off;\n"
        "  keepalive_requests 100000;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {folder}/root; }} }}\n"
    )
    server = NginxServer(folder, port)
    server.switch(0)
    process = subprocess.Popen([nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")])
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def monitor_cycle(config: Path, state: Path, monitor: Sequence[str] = ()) -> Cycle:
    """One `monitor check`, run by the command `monitor` (the checkout's `monitor` unless
    given: `headroom.py`'s, for a what-if)."""
    monitor = list(monitor) or [str(Path(sys.executable).parent / "monitor")]
    run = measured(
        [*monitor, "check", "--config", str(config), "--state", str(state), "--format", "json"]
    )
    events = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    changed = {e["url"] for e in events if e["event"] == "changed"}
    errors = sum(e["event"] == "error" for e in events)
    return Cycle(run.wall, run.cpu, run.peak_rss_mb, changed, errors)


def urlwatch_cycle(venv: Path, work: Path, jobs: str = "urls.yaml") -> Cycle:
    files = ("--urls", jobs, "--config", "urlwatch.yaml", "--cache", f"cache-{jobs}.db")
    run = measured(
        [
            str(venv / "bin" / "urlwatch"),
            *(str(work / f) if f.endswith(("yaml", ".db")) else f for f in files),
            "--hooks",
            str(work / "hooks.py"),
        ]
    )
    changed = set(re.findall(r"^\d+\. CHANGED: (\S+)$", run.stdout, re.MULTILINE))
    errors = len(re.findall(r"^\d+\. ERROR: ", run.stdout, re.MULTILINE))
    return Cycle(run.wall, run.cpu, run.peak_rss_mb, changed, errors)


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


def two_cycles(
    server: PageServer | NginxServer,
    run: Callable[[], Cycle],
    second: Callable[[], Cycle] | None = None,
) -> tuple[Cycle, Cycle]:
    """The first cycle (baseline) on cycle-1 pages, then the second on cycle-2 pages (by
    `second` when given)."""
    server.switch(0)
    first = run()
    server.switch(1)
    return first, (second or run)()


def median_cycle(runs: list[Cycle]) -> Cycle:
    return Cycle(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.peak_rss_mb for r in runs),
        runs[0].changed,
        runs[0].errors,
    )


def print_row(name: str, run: Cycle, truth: set[str]) -> None:
    print(
        f"{name:<28}{run.wall:>8.2f}{run.cpu:>8.2f}{run.peak_rss_mb:>9.0f}"
        f"{len(run.changed & truth):>6}{len(run.changed - truth):>6}{len(truth - run.changed):>7}"
        f"{run.errors:>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--edit-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vs-urlwatch", action="store_true")
    parser.add_argument("--vs-urlwatch-selector", action="store_true")
    parser.add_argument("--server", choices=["asyncio", "nginx"], default="asyncio")
    parser.add_argument("--rounds", type=int, default=1)
    add_page_kb(parser)
    parser.add_argument("--concurrency", type=int, default=20, help="as in [defaults]")
    parser.add_argument("--per-host", type=int, default=4, help="as in [defaults]")
    parser.add_argument(
        "--what-if",
        metavar="PART[,PART]",
        help="also run our cycles with these parts of cycle 2 made free (headroom.py: digest, "
        "recording, startup): an upper bound on what speeding them up can win, not a result",
    )
    args = parser.parse_args()

    venv = ensure_urlwatch() if args.vs_urlwatch or args.vs_urlwatch_selector else None
    cycles, edits = build_site(args.pages, args.edit_share, args.seed, page_kb(args.page_kb))
    page_sizes = [len(body) for body in cycles[1].values()]
    selector_name = "urlwatch 2.29, css: article"
    what_if_name = f"what if {args.what_if} were free"
    freed_parts = args.what_if.split(",") if args.what_if else []
    ours = ["statement monitor", *([what_if_name] if args.what_if else [])]
    runs: dict[str, list[tuple[Cycle, Cycle]]] = {
        name: [] for name in (*ours, "urlwatch 2.29", selector_name)
    }
    serve = nginx_server if args.server == "nginx" else page_server
    with serve(cycles) as server, contextlib.ExitStack() as stack:
        urls = [server.url(f"/s/{page}") for page in range(args.pages)]
        edited = [urls[e.page] for e in edits]
        if args.what_if:  # our second cycle through headroom.py, with those parts free
            os.environ["HEADROOM_EDITED"] = ",".join(edited)  # what the free digest answers
            if "startup" in freed_parts:
                freed = stack.enter_context(serving(freed_parts))
            else:
                freed = [sys.executable, str(Path(__file__).with_name("headroom.py"))]
                freed += [args.what_if, "--"]
        for round_number in range(args.rounds):
            work = Path(tempfile.mkdtemp(prefix="monitor-cycle-"))
            try:
                limits = f"concurrency = {args.concurrency}\nper_host = {args.per_host}\n"
                config = write_sources(work / "sources.toml", urls, limits)
                (work / "urls.yaml").write_text("\n---\n".join(f'url: "{u}"' for u in urls))
                (work / "selector.yaml").write_text(
                    "\n---\n".join(f'url: "{u}"\nfilter:\n  - css: article' for u in urls)
                )
                (work / "hooks.py").write_text("")
                # each tool: its first cycle, and its second when that runs otherwise
                mine = partial(monitor_cycle, config, work / "state")
                tools: list[tuple[str, Callable[[], Cycle], Callable[[], Cycle] | None]] = [
                    ("statement monitor", mine, None)
                ]
                if args.what_if:
                    state = work / "state-what-if"
                    free = partial(monitor_cycle, config, state, freed)
                    tools.append((what_if_name, partial(monitor_cycle, config, state), free))
                if venv is not None and args.vs_urlwatch:
                    tools.append(("urlwatch 2.29", partial(urlwatch_cycle, venv, work), None))
                if venv is not None and args.vs_urlwatch_selector:
                    selector = partial(urlwatch_cycle, venv, work, "selector.yaml")
                    tools.append((selector_name, selector, None))
                if round_number % 2:
                    tools.reverse()
                for name, first, second in tools:
                    runs[name].append(two_cycles(server, first, second))
                db_size = (work / "state" / "monitor.db").stat().st_size
            finally:
                shutil.rmtree(work, ignore_errors=True)

    truth = set(edited)
    print(
        f"pages: {args.pages}, true edits in cycle 2: {len(truth)}, seed {args.seed}, "
        f"rounds: {args.rounds}, CPUs: {os.cpu_count()}, "
        f"limits: concurrency {args.concurrency}, per_host {args.per_host}, "
        f"server: {args.server}, page sizes {min(page_sizes) / 1e3:.1f}-"
        f"{max(page_sizes) / 1e3:.1f} KB (mean {statistics.mean(page_sizes) / 1e3:.1f})"
    )
    if args.what_if:
        print(
            f"{what_if_name!r}: our cycle 2 again, with those parts of a check replaced by "
            "stand-ins that cost nothing (headroom.py): an upper bound on what speeding them up "
            "can win, not a result (its edits found are the benchmark's truth)"
            + (
                "; with startup free, its CPU and RSS are those of the client that asked for the "
                "check, not the check's"
                if "startup" in freed_parts
                else ""
            )
        )
    print(
        f"{'median of rounds':<28}{'wall s':>8}{'CPU s':>8}{'RSS MB':>9}{'TP':>6}{'FP':>6}"
        f"{'missed':>7}{'errors':>7}"
    )
    for name, pairs in runs.items():
        if pairs:
            print_row(f"{name}, cycle 1", median_cycle([p[0] for p in pairs]), set())
            print_row(f"{name}, cycle 2", median_cycle([p[1] for p in pairs]), truth)
    for mine_name, other in itertools.product(ours, ("urlwatch 2.29", selector_name)):
        if not runs[other]:
            continue
        ratios = [a[1].wall / b[1].wall for a, b in zip(runs[mine_name], runs[other], strict=True)]
        print(
            f"cycle 2 wall time, {'ours' if mine_name == ours[0] else mine_name} / {other}: "
            f"{statistics.median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    print(
        f"state database: {db_size / 1e6:.1f} MB after two cycles "
        f"({db_size / (2 * args.pages) / 1e3:.1f} KB per check)"
    )


if __name__ == "__main__":
    main()
