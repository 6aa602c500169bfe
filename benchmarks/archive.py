"""Benchmark: what the evidence archive costs per version, on disk and in time.

Run from the repository root:

    /work/main/.venv/bin/python benchmarks/archive.py [--versions N] [--page-kb K] [--json]

Writes N versions of a newsroom page (the tests' press release with its chrome, and a
"related stories" list sized to `--page-kb`, 60 KB by default, a typical newsroom page) with
`ArchiveWriter`, each edited slightly, and reports:

- bytes per version in the WARC file (request + response + metadata records, each its own
  gzip member), beside the zlib copy `keep_raw` used to keep in SQLite;
- write time per version (median and 95th percentile), fsync included, which is what a
  check waits for before it records the version;
- the first write into an existing 100-version file (the writer checks the file's tail);
- `verify` and `export` throughput over the whole archive.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the realistic page generator the tests use

from pages import PARTNERSHIP, Noise, press_release  # noqa: E402

from monitor.archive import (  # noqa: E402
    ArchiveWriter,
    HttpExchange,
    VersionInfo,
    archive_files,
    export,
    verify,
)

TITLE = "Example Corp and Sample Industries announce research partnership"
HEADERS = (
    ("Date", "Thu, 03 Dec 2026 10:00:00 GMT"),
    ("Content-Type", "text/html; charset=utf-8"),
    ("Server", "nginx"),
    ("Cache-Control", "max-age=60"),
    ("ETag", '"5f2b-1a2b3c"'),
)
REQUEST = (
    ("Host", "newsroom.example.org"),
    ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"),
    ("Accept-Encoding", "gzip, deflate"),
    ("User-Agent", "statement-monitor/0.1 (+https://github.com/statement-monitor)"),
)


def page(n: int, kilobytes: int) -> bytes:
    text = [PARTNERSHIP[0].replace("multi-year", f"{n}-year"), *PARTNERSHIP[1:]]
    related: list[str] = []
    while True:
        noise = Noise(views=1000 + n, related=related)
        html = press_release(TITLE, text, noise).encode()
        if len(html) >= kilobytes * 1000:
            return html
        i = len(related)
        related.extend(
            f"{topic} update {i + k}: {TITLE.split()[i % 8]} and partners, part {k}"
            for k, topic in enumerate(("Research", "Policy", "Markets", "Safety") * 10)
        )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--page-kb", type=int, default=60)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "archive"
        writer = ArchiveWriter(folder)
        times: list[float] = []
        sizes: list[int] = []
        raw_sizes: list[int] = []
        refs = []
        for n in range(args.versions):
            body = page(n, args.page_kb)
            exchange = HttpExchange(
                url="https://newsroom.example.org/news/partnership",
                status=200,
                reason="OK",
                response_headers=(*HEADERS, ("Content-Length", str(len(body)))),
                request_headers=REQUEST,
                body=body,
                fetched_at=dt.datetime.now(dt.UTC),
            )
            info = VersionInfo(text_sha256="0" * 64, version=n + 1, source="corp", title=TITLE)
            started = time.perf_counter()
            ref = writer.write(exchange, info).ref
            times.append(time.perf_counter() - started)
            sizes.append(ref.length)
            raw_sizes.append(len(zlib.compress(body, 6)))
            refs.append(ref)
        page_bytes = len(page(0, args.page_kb))

        started = time.perf_counter()
        fresh = ArchiveWriter(folder)  # a new process: checks the tail of the day's file
        fresh.write(exchange, info)
        first_write = time.perf_counter() - started

        total = sum(p.stat().st_size for p in archive_files(folder))
        started = time.perf_counter()
        report = verify(folder, refs)
        verify_s = time.perf_counter() - started
        assert report.ok, report.problems
        started = time.perf_counter()
        export(folder, refs, Path(tmp) / "out.warc.gz")
        export_s = time.perf_counter() - started

    result = {
        "versions": args.versions,
        "page_bytes": page_bytes,
        "bytes_per_version": round(statistics.mean(sizes)),
        "sqlite_raw_bytes_per_version": round(statistics.mean(raw_sizes)),
        "write_ms_median": round(statistics.median(times) * 1000, 2),
        "write_ms_p95": round(percentile(times, 0.95) * 1000, 2),
        "first_write_into_existing_file_ms": round(first_write * 1000, 2),
        "verify_mb_per_s": round(total / verify_s / 1e6, 1),
        "verify_ms_per_version": round(verify_s / args.versions * 1000, 3),
        "export_ms_per_version": round(export_s / args.versions * 1000, 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.versions} versions of a {page_bytes / 1000:.1f} KB page")
    print(
        f"  on disk: {result['bytes_per_version']} B per version in the WARC "
        f"(request + response + metadata), {result['sqlite_raw_bytes_per_version']} B as "
        "the zlib raw copy in SQLite"
    )
    print(
        f"  write (fsync included): median {result['write_ms_median']} ms, "
        f"p95 {result['write_ms_p95']} ms; first write into an existing file "
        f"{result['first_write_into_existing_file_ms']} ms"
    )
    print(
        f"  verify: {result['verify_ms_per_version']} ms per version "
        f"({result['verify_mb_per_s']} MB/s of WARC); export: "
        f"{result['export_ms_per_version']} ms per version"
    )


if __name__ == "__main__":
    main()
