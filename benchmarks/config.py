"""Benchmark: how long a sources file takes to load, valid or full of mistakes.

Run from the repository root:

    /work/main/.venv/bin/python benchmarks/config.py [--json]

Times `load_config` (what `monitor check` and a SIGHUP reload do first) on three files:

- 1,000 sources with a bad URL each (1,000 problems, each located by file and line);
- one source with 5,000 unknown keys (5,000 problems, each with a did-you-mean);
- a valid file of 10,000 sources.

A file with many problems lists the first 50 and a count; locating them reads the file's
lines once, so the time grows with the file, not with problems x lines.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.sources.config import ConfigError, load_config  # noqa: E402

DEFAULTS = '[defaults]\ninterval = "1h"\n\n'


def bad_urls(count: int) -> str:
    return DEFAULTS + "".join(
        f'[[sources]]\nname = "s{i}"\nurl = "ftp://example.org/{i}"\nkind = "page"\n\n'
        for i in range(count)
    )


def unknown_keys(count: int) -> str:
    keys = "".join(f'colour_{i} = "x"\n' for i in range(count))
    return DEFAULTS + f'[[sources]]\nname = "s"\nurl = "https://example.org/"\n{keys}'


def valid(count: int) -> str:
    return DEFAULTS + "".join(
        f'[[sources]]\nname = "s{i}"\nurl = "https://example{i % 50}.org/news/{i}"\n\n'
        for i in range(count)
    )


def timed(text: str, folder: Path) -> tuple[float, str]:
    path = folder / "sources.toml"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    try:
        config = load_config(path, {})
        outcome = f"valid, {len(config.sources)} sources"
    except ConfigError as exc:
        lines = str(exc).splitlines()
        outcome = f"refused, {len(lines)} lines: ... {lines[-1].strip()}"
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = {
        "1000 bad URLs": bad_urls(1000),
        "5000 unknown keys": unknown_keys(5000),
        "10000 valid sources": valid(10_000),
    }
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in cases.items():
            seconds, outcome = timed(text, Path(tmp))
            results[name] = {"seconds": round(seconds, 3), "outcome": outcome}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, result in results.items():
        print(f"{name:22} {result['seconds']:7.3f} s  {result['outcome']}")


if __name__ == "__main__":
    main()
