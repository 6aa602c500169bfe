"""Shared by the benchmarks: a fast loopback page server and process measurement.

The server is a bare asyncio protocol with prebuilt responses (keep-alive, HTTP/1.1, ETags),
so its own cost stays small beside the tools being measured. It runs in its own process.
"""

from __future__ import annotations

import asyncio
import compileall
import functools
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The checkout these benchmarks belong to: the `monitor` commands they measure import its
# package, not whichever copy the virtual environment's editable install points at.
CHECKOUT = Path(__file__).resolve().parent.parent


def _response(status: int, body: bytes, etag: str | None = None) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
    if etag:
        head += f'ETag: "{etag}"\r\n'
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _serve(
    cycles: list[dict[str, bytes]],
    etags: bool,
    port_queue: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """Serve cycle 0 until /_cycle/N switches; /_first tells when the first page was asked."""
    replies: list[dict[str, tuple[bytes, bytes, bytes]]] = []
    for pages in cycles:
        table = {}
        for path, body in pages.items():
            tag = hashlib.sha256(body).hexdigest()[:16] if etags else None
            table[path] = (
                _response(200, body, tag),
                f'"{tag}"'.encode() if tag else b"",
                _response(304, b"", tag),
            )
        replies.append(table)
    missing = _response(404, b"not found")
    state = {"cycle": 0, "first": 0.0}

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:
                head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                self.transport.write(self.answer(head))  # type: ignore[attr-defined]

        def answer(self, head: bytes) -> bytes:
            path = head.split(b" ", 2)[1].decode()
            if path.startswith("/_cycle/"):
                state["cycle"], state["first"] = int(path.rsplit("/", 1)[1]), 0.0
                return _response(200, b"ok")
            if path == "/_first":
                return _response(200, repr(state["first"]).encode())
            if not state["first"]:
                state["first"] = time.time()
            found = replies[int(state["cycle"])].get(path)
            if found is None:
                return missing
            full, tag, not_modified = found
            if tag and b"if-none-match: " + tag.lower() in head.lower():
                return not_modified
            return full

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Protocol, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


@dataclass
class PageServer:
    """A running page server: `url(path)`, `switch(cycle)`, `first_request_at()`."""

    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url(path)) as answer:
            return answer.read()

    def switch(self, cycle: int) -> None:
        """Serve the pages of another cycle; also resets the first-request clock."""
        self._get(f"/_cycle/{cycle}")

    def first_request_at(self) -> float:
        """time.time() of the first page request since the last switch (0 when none)."""
        return float(self._get("/_first"))


@contextmanager
def page_server(cycles: list[dict[str, bytes]], *, etags: bool = False) -> Iterator[PageServer]:
    """Serve `cycles` (each a {path: body} dict) from another process while in the block."""
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    process = multiprocessing.Process(target=_serve, args=(cycles, etags, queue), daemon=True)
    process.start()
    try:
        yield PageServer(queue.get(timeout=60))
    finally:
        process.terminate()


@dataclass
class Run:
    """One measured command: wall and CPU seconds, peak RSS, its output.

    `peak_rss_mb` is ru_maxrss (KiB on Linux) / 1024: mebibytes (MiB), which the benchmarks
    print as "MB".
    """

    wall: float
    cpu: float
    peak_rss_mb: float
    stdout: str
    started_at: float  # time.time() at launch


def write_sources(path: Path, urls: list[str], defaults: str = "") -> Path:
    """A sources file at `path`: `defaults` (TOML lines) in its [defaults] table and one page
    source per URL, named s0, s1, ... in order."""
    lines = [f"[defaults]\n{defaults}"]
    lines += [f'[[sources]]\nname = "s{i}"\nurl = "{url}"\n' for i, url in enumerate(urls)]
    path.write_text("\n".join(lines))
    return path


# Forks the measured command (argv[2:]) and writes its usage as JSON to the file descriptor
# in argv[1]. Linux carries a process's peak RSS across exec, so a command forked straight
# from a benchmark holding its pages in memory (90 MB of 45 KB pages) would report at least
# that much; forked from this small process, it reports at least 8 MiB (the launcher's own),
# below every figure the benchmarks print.
_LAUNCHER = """
import json, os, sys, time
started_at, started = time.time(), time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        print(f"cannot run {sys.argv[2]}: {error}", file=sys.stderr)
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
cpu = usage.ru_utime + usage.ru_stime
report = [started_at, wall, os.waitstatus_to_exitcode(status), cpu, usage.ru_maxrss]
os.write(int(sys.argv[1]), json.dumps(report).encode())
"""


@functools.cache
def compiled_checkout() -> None:
    """Write the checkout's bytecode, as `pip install` writes an installed package's.

    Python writes a module's bytecode the first time it imports it, unless
    PYTHONDONTWRITEBYTECODE is set, as it is on this project's machines: there every
    `monitor` run of a checkout compiled each module changed since its bytecode was last
    written, anew (store.py and pipeline.py alone: 24 ms), where the tools it is compared
    with, installed by pip, load theirs.
    """
    compileall.compile_dir(CHECKOUT / "monitor", quiet=1)


def measured(command: list[str]) -> Run:
    """Run a command to its end; its own (and its children's) usage, not other commands'.

    Wall time is from its fork to its end (the launcher's own start-up left out). The
    checkout's bytecode is written first (`compiled_checkout`).
    """
    compiled_checkout()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        path = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        report_in, report_out = os.pipe()
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, str(report_out), *command]
        try:
            process = subprocess.Popen(
                launcher, stdout=out, stderr=err, text=True, env=env, pass_fds=(report_out,)
            )
        finally:
            os.close(report_out)
        process.wait()
        with os.fdopen(report_in) as report:
            started_at, wall, code, cpu, max_rss_kib = json.loads(report.read() or "[0,0,-1,0,0]")
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code not in (0, 1):
        sys.exit(f"{command[0]} failed ({code}):\n{stderr[-2000:]}")
    return Run(wall, cpu, max_rss_kib / 1024, stdout, started_at)
