"""`monitor` with parts of a check made free: how much speeding up a part could win at most.

    python benchmarks/headroom.py PART[,PART] -- <monitor arguments>

Runs the `monitor` command line after replacing the named parts of a check with stand-ins
that cost next to nothing, so that a timed run shows what is left when they are gone: an
upper bound on what any speed-up of those parts can win, found before the work of one is
spent. `cycle.py --what-if` runs its second cycle through this. The parts:

- `digest`: the learned container's digest of a page whose bytes changed. Its stand-in
  parses nothing: it answers "the statement is unchanged" for every page with a learned
  container that is not in `HEADROOM_EDITED` (a comma-separated list of the URLs the
  benchmark edited), so the events are the benchmark's truth, not a finding.
- `recording`: the store's write of a group of checks (`Store.save_checks`). Its stand-in
  writes nothing and returns the checks as if recorded.
- `startup`: the imports of `monitor check` (the pipeline, the shards, the extractor and the
  archive writer), what a long-lived process would have done before it is asked for a
  check. A process started before the clock (`serving`, or `--serve SOCKET PART[,PART]`)
  imports them and waits; each timed run is a small client (`_ASK`, Python without its
  site packages: about 10 ms) that hands it its arguments and standard streams, and the
  waiting process forks the check from its warm state and sends back its exit code. The
  timed run's CPU and peak RSS are then the client's alone: only its wall time counts.

The figures of such a run are not results: nothing was digested, stored or imported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

PARTS = ("digest", "recording", "startup")


def free_digest(edited: set[str]) -> None:
    """The container check answers from the benchmark's truth without parsing the page."""
    from monitor.check import pipeline

    async def same_container(page: Any, previous: Any, ctx: Any) -> bool:
        learned = previous.version and previous.learned_container is not None
        return bool(learned) and page.url not in edited

    pipeline._same_container = same_container


def free_recording() -> None:
    """Groups of checks are returned as recorded without a write."""
    from monitor.state.records import SourceUpdate
    from monitor.state.store import Store

    def save_checks(self: Store, updates: Sequence[SourceUpdate]) -> list[SourceUpdate]:
        return list(updates)

    Store.save_checks = save_checks  # type: ignore[method-assign]


def make_free(parts: Sequence[str]) -> None:
    """Replace the named parts of a check in this process (`startup` is the caller's)."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        sys.exit(f"unknown parts {sorted(unknown)}: choose from {', '.join(PARTS)}")
    if "digest" in parts:
        free_digest(set(filter(None, os.environ.get("HEADROOM_EDITED", "").split(","))))
    if "recording" in parts:
        free_recording()


def serve(path: str, parts: Sequence[str]) -> None:
    """Import what `monitor check` imports, then fork a check for each client at `path`
    (its arguments, then its standard streams passed over the socket), until killed."""
    make_free(parts)
    import monitor.cli.commands  # noqa: F401  (the command itself, as the CLI loads it)
    import monitor.cli.shards  # noqa: F401
    from monitor.check.pipeline import load_for_changes
    from monitor.cli import main as monitor_main

    load_for_changes()  # the extractor and the archive writer
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    print("ready", flush=True)
    while True:
        client, _ = listener.accept()
        with client:
            message, streams, _, _ = socket.recv_fds(client, 1 << 20, 3)
            pid = os.fork()
            if pid == 0:  # the check, with the client's arguments and streams
                listener.close()
                for number, stream in enumerate(streams):
                    os.dup2(stream, number)
                sys.argv = ["monitor", *message.decode().split("\0")]
                try:
                    monitor_main()
                    code = 0
                except SystemExit as done:
                    code = done.code if isinstance(done.code, int) else 1
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
            for stream in streams:
                os.close(stream)
            _, status = os.waitpid(pid, 0)
            client.sendall(str(os.waitstatus_to_exitcode(status)).encode())


# The timed run with `startup` free: hands the waiting process (`serve`) its arguments and its
# standard streams, and exits with the check's exit code; without an answer, with 70, which the
# benchmark reports (1 would pass for a check with failed sources).
_ASK = """
import socket, sys
try:
    with socket.socket(socket.AF_UNIX) as server:
        server.connect(sys.argv[1])
        socket.send_fds(server, ["\\0".join(sys.argv[2:]).encode()], [0, 1, 2])
        code = server.recv(16)
except OSError as error:
    print(f"headroom.py: no answer from the waiting process: {error}", file=sys.stderr)
    code = b""
sys.exit(int(code) if code else 70)
"""


@contextlib.contextmanager
def serving(parts: Sequence[str]) -> Iterator[list[str]]:
    """A waiting process with the check's imports done (`serve`); yields the command that
    runs `monitor` through it (append the monitor arguments)."""
    folder = Path(tempfile.mkdtemp(prefix="headroom-"))
    path = str(folder / "warm.sock")
    script = str(Path(__file__).resolve())
    process = subprocess.Popen(
        [sys.executable, script, "--serve", path, ",".join(parts)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(script).parent.parent)},
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            sys.exit("headroom.py --serve failed to start")
        yield [sys.executable, "-S", "-c", _ASK, path]
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3].split(","))
    elif len(sys.argv) >= 3 and sys.argv[2] == "--":
        parts = sys.argv[1].split(",")
        if "startup" in parts:
            sys.exit("startup is made free by a waiting process: see --serve")
        make_free(parts)
        from monitor.cli import main as monitor_main

        sys.argv = ["monitor", *sys.argv[3:]]
        monitor_main()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
