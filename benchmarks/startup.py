"""Start-up time of the `monitor` command: `--help`, `--version`, completion, commands' `--help`.

    .venv/bin/python benchmarks/startup.py [--runs 20]

Each command runs `--runs` times as a fresh process (`python -m monitor ...`); the median
and the slowest wall time are printed, then the import time of `monitor.cli.main` as
`python -X importtime` reports it (cumulative microseconds of its top entry), then the wall
time and peak RSS of a fresh process importing what `monitor check` imports before its first
request (the pipeline, the shards, the commands), median of the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from loopback import compiled_checkout, measured

ROOT = Path(__file__).resolve().parent.parent

CASES: list[tuple[str, list[str], dict[str, str]]] = [
    ("monitor --help", ["--help"], {}),
    ("monitor --version", ["--version"], {}),
    ("completion (bash)", [], {"_MONITOR_COMPLETE": "bash_source"}),
    ("monitor check --help", ["check", "--help"], {}),
    ("monitor run --help", ["run", "--help"], {}),
    ("monitor archive --help", ["archive", "--help"], {}),
]


def wall(args: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall seconds of `runs` fresh processes."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "monitor", *args],
            env=full_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        times.append(time.perf_counter() - started)
    return times


# What `monitor check` imports before its first request.
CHECK_IMPORTS = (
    "from monitor.check.pipeline import check_sources; "
    "from monitor.cli.shards import check_in_shards; import monitor.cli.commands"
)


def check_imports(runs: int) -> tuple[list[float], float]:
    """Wall seconds of `runs` fresh processes importing CHECK_IMPORTS, and the peak RSS in
    MiB of the largest."""
    done = [
        measured([sys.executable, "-c", f"{CHECK_IMPORTS}; print('imported')"]) for _ in range(runs)
    ]
    if any(run.stdout.strip() != "imported" for run in done):
        sys.exit("importing the check machinery failed")
    return [run.wall for run in done], max(run.peak_rss_mb for run in done)


def import_time() -> int:
    """Cumulative microseconds of `import monitor.cli.main` (python -X importtime)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import monitor.cli.main"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == "monitor.cli.main":
            return int(parts[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    compiled_checkout()  # as installed: not every run compiling the modules changed lately
    baseline = wall(["-c", "pass"], {}, 1)  # warm the page cache
    del baseline
    bare = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - started)
    print(f"{'python -c pass':<24} median {statistics.median(bare) * 1000:6.0f} ms")
    for label, command, env in CASES:
        times = wall(command, env, args.runs)
        print(
            f"{label:<24} median {statistics.median(times) * 1000:6.0f} ms, "
            f"slowest {max(times) * 1000:6.0f} ms ({args.runs} runs)"
        )
    print(f"import monitor.cli.main   {import_time() / 1000:.1f} ms (python -X importtime)")
    times, peak = check_imports(args.runs)
    print(
        f"{'check imports':<24} median {statistics.median(times) * 1000:6.0f} ms, "
        f"slowest {max(times) * 1000:6.0f} ms, peak RSS {peak:.0f} MiB ({args.runs} runs)"
    )


if __name__ == "__main__":
    main()
