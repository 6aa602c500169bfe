"""Helpers for the daemon tests: `monitor run` as a real subprocess, configs, DB counts."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on http://(\S+)")

STATEMENT = [
    "Example Corp and Sample Industries today announced a multi-year research partnership "
    "focused on the safety evaluation of large models, with shared funding and staff.",
    "The partnership will publish its findings openly and invite independent researchers "
    "to review the methods and the results every quarter.",
    "Both companies commit to sharing evaluation tools with academic groups at no cost, "
    "starting with the benchmark suites used internally today.",
]


def write_config(
    path: Path, sources: str, *, defaults: str = "", notifiers: str = "", interval: str = "1s"
) -> Path:
    """A sources file with quick defaults: short interval, short timeout, no retries."""
    path.write_text(
        f'[defaults]\ninterval = "{interval}"\ntimeout = "2s"\nretries = 0\n{defaults}\n'
        f"{sources}\n{notifiers}",
        encoding="utf-8",
    )
    return path


def page_source(name: str, url: str, extra: str = "") -> str:
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\nkind = "page"\n{extra}\n'


@dataclass
class Daemon:
    """`python -m monitor.cli.main run` in a subprocess, its log in a file, its HTTP port known."""

    config: Path
    state: Path
    log_path: Path
    args: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    base_url: str = ""

    def start(self, *, wait: bool = True, listen: str = "127.0.0.1:0") -> Daemon:
        command = [
            sys.executable,
            "-m",
            "monitor.cli.main",
            "run",
            "--config",
            str(self.config),
            "--state",
            str(self.state),
            "--listen",
            listen,
            *self.args,
        ]
        # Only the token a test gives: one in the developer's environment must not leak in.
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_TOKEN"}
        env.update({"PYTHONPATH": str(ROOT), **self.env})
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env
            )
        if wait:
            address = self.wait_for_log(LISTENING, timeout=20)
            self.base_url = f"http://{address.group(1)}"
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: re.Pattern[str] | str, timeout: float = 10) -> re.Match[str]:
        """The first match of a pattern in the log, waiting for it to appear."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = regex.search(self.log())
            if match:
                return match
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the daemon exited early:\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"{regex.pattern!r} not in the log after {timeout} s:\n{self.log()}")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=5, **kwargs)

    def send(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def stop(self, timeout: float = 15) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds it took to exit)."""
        assert self.process is not None
        started = time.monotonic()
        self.send(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        assert self.process is not None
        self.send(signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        """Make sure nothing is left running (teardown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def rss_kib(pid: int) -> int:
    """Resident memory of one process, from /proc (KiB; 0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (Linux /proc): the fork server and extraction workers."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pids: Sequence[int]) -> list[int]:
    """Those of `pids` still running (zombies count as gone)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def wait_until(condition: Callable[[], Any], timeout: float = 10, what: str = "") -> Any:
    """Poll until `condition()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric_name, _, label_text = head.partition("{")
        if metric_name != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def db_rows(state: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the state database (the daemon may be running)."""
    with sqlite3.connect(f"file:{state / 'monitor.db'}?mode=ro", uri=True, timeout=10) as conn:
        return list(conn.execute(query, params))
