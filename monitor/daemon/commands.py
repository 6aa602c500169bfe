"""`monitor run`, as the command line reads it: its options and help. The daemon
(`monitor.daemon.service`) loads only when it runs, so that `monitor run --help` and shell
completion answer at once."""

from __future__ import annotations

from typing import Any

import click

from monitor.cli.main import frozen_start_up
from monitor.cli.options import config_option, state_option

DEFAULT_LISTEN = "127.0.0.1:8787"


@click.command("run")
@config_option
@state_option
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    help="Address of the HTTP endpoint (/healthz, /metrics, the review UI).",
)
@click.option(
    "--token",
    envvar="MONITOR_TOKEN",
    show_envvar=True,
    default=None,
    help="Access token for the HTTP endpoint; required when listening beyond loopback. "
    "Prefer the environment variable: arguments are visible to other users.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line, for log shippers.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes extracting statements from pages and comparing and explaining their "
    "edits (default: one per CPU, at most 4; 0 does it in the main process).",
)
@click.option(
    "--worker-memory",
    default="2GB",
    show_default=True,
    envvar="MONITOR_WORKER_MEMORY",
    metavar="SIZE",
    help="Address space each extraction process may use (0: no limit); a page needing more "
    "fails its own check.",
)
def run_command(**options: Any) -> None:
    """Check every source on its schedule until stopped (SIGTERM); SIGHUP reloads.

    Serves /healthz, /metrics, /api/sources, /api/events and the review UI at --listen.
    """
    with frozen_start_up():  # the daemon's imports, as any start-up: see there
        from monitor.daemon.service import run
    run(**options)  # the options as `run` names and types them
