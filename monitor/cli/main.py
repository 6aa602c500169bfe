"""The `monitor` command group and its lazy loading (shared options: `monitor.cli.options`).

Nothing heavy is imported here: `monitor --help`, `--version` and shell completion load
only click. Each command lives in the module named in `COMMANDS` and is imported when it
runs (`check` needs the extractors, `run` the web stack, `notify` the channels' libraries).
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

# name: (module:function, one line of help for `monitor --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("monitor.cli.commands:check", "Check every source (or the named ones) once."),
    "sources": ("monitor.cli.commands:sources", "List the sources with their last check."),
    "statements": ("monitor.cli.commands:statements", "The statements a source tracks."),
    "history": ("monitor.cli.commands:history", "Versions of a statement, events of a source."),
    "diff": ("monitor.cli.commands:diff_command", "What changed between two versions."),
    "show": ("monitor.cli.commands:show", "The full text of one version of a statement."),
    "init": ("monitor.cli.commands:init", "Write the example sources file."),
    "report": ("monitor.review.commands:report_command", "Write the review pages as files."),
    "outbox": ("monitor.alerts.commands:outbox_command", "List, retry or purge queued alerts."),
    "notify": ("monitor.alerts.commands:notify_command", "Send a test message via a notifier."),
    "run": ("monitor.daemon.commands:run_command", "Run the daemon: checks, alerts, web UI."),
    "nodes": ("monitor.cli.commands:nodes", "The daemons sharing the state, alive or gone."),
    "archive": ("monitor.archive.commands:archive_command", "Export or verify the WARC archive."),
    "extract": ("monitor.archive.commands:extract_command", "Re-extract a stored version."),
}


class LazyGroup(click.Group):
    """A command group whose commands are imported only when they are run.

    `monitor --help` lists them from `COMMANDS` without importing any.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name][0].split(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a state database that fails under it exits 2 with its message.

        A damaged file or a full disk can surface in any read of any command: said here
        once, as the store words it (never a traceback, never SQL).
        """
        try:
            return super().invoke(ctx)
        except Exception as exc:
            store = sys.modules.get("monitor.state.store")  # loaded only if a state was used
            if store is None or not isinstance(exc, store.StoreError):
                raise
            click.echo(f"monitor: {exc}", err=True)
            ctx.exit(2)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@contextmanager
def frozen_start_up() -> Iterator[None]:
    """A command's start-up work (imports, reading the configuration) with Python's cyclic
    garbage collector paused; what it made is then frozen: moved out of the collector's
    sight for good (`monitor check`, `monitor run`).

    Start-up makes hundreds of thousands of objects that live until exit and almost no
    garbage, and the collector runs after every 700 new objects, each run more costly as
    the objects pile up: during the imports of `monitor check` it ran about 240 times (0.06 s)
    to free 846 objects. Frozen, those objects cost nothing in the collections that follow
    (nor in the one at exit: 0.2 s of CPU with 1,000 sources), and processes forked after
    start-up share their memory pages instead of copying those the collector writes to.
    Frozen before the collector is back on: its first run would otherwise scan them all.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _version(ctx: click.Context, _param: Any, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from monitor import __version__

    click.echo(f"monitor, version {__version__}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the version and exit.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Watch announcement pages and report when a statement is edited or published.

    Shell completion: eval "$(_MONITOR_COMPLETE=bash_source monitor)" (zsh_source,
    fish_source for the other shells).
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler()
    # Log lines quote pages and receivers' answers: no escape sequence reaches the terminal.
    handler.setFormatter(_TerminalFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    quiet_http_logs()


def quiet_http_logs() -> None:
    """httpx logs every request's full URL at INFO (webhook paths, Apprise tokens, resolved
    source secrets): its lines are kept to warnings, whatever -v asks."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


class _TerminalFormatter(logging.Formatter):
    """Log lines without escape sequences or control characters (monitor.terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        from monitor.terminal import for_terminal

        return for_terminal(super().format(record))


if __name__ == "__main__":
    main()
