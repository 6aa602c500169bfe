"""CLI commands for alerts, registered by `monitor.cli.main` on the `monitor` group.

- `monitor outbox [--status pending|dead|sent|all] [--format text|json]`: list alerts
  (pending and dead by default) with notifier, event, attempts and last error.
- `monitor outbox retry [IDS...]`: dead alerts (all, or those ids) become pending again.
- `monitor outbox purge [--status dead|sent]`: delete dead (or sent) alerts.
- `monitor notify --test NAME`: send a test message through one notifier; prints
  success or the exact failure. Exit 0 when delivered, 1 when not.

Each takes `--config` (default sources.toml) and `--state` (default state/). A bad
configuration or an unusable state folder prints why and exits 2.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.alerts.errors import DeliveryError, UnknownNotifierError
from monitor.cli.options import (
    group_config_option,
    group_state_option,
    locations,
    open_config,
    open_store,
)
from monitor.clock import iso_utc
from monitor.terminal import for_terminal

if TYPE_CHECKING:  # the rest loads when a command runs, so that `--help` answers at once
    from monitor.alerts.channels import ChannelOptions
    from monitor.sources.config import Config
    from monitor.state.records import OutboxAlert
    from monitor.state.store import Store


def _open(
    ctx: click.Context, config_path: Path | None, state_dir: Path | None
) -> tuple[Config | None, Store]:
    """The configuration (None when no --config is given and the default file is missing:
    the outbox needs only the state) and the store, which is never created here."""
    config_file, state = locations(ctx, config_path, state_dir)
    given = config_path or (ctx.parent.params.get("config_path") if ctx.parent else None)
    # listing and requeueing alerts sends nothing: no secret is needed
    config = open_config(config_file, secrets=False) if given or config_file.exists() else None
    return config, open_store(state, config, create=False)


# ---------------------------------------------------------------------------------------------
# monitor outbox
# ---------------------------------------------------------------------------------------------


@click.group("outbox", invoke_without_command=True)
@group_state_option
@group_config_option
@click.option(
    "--status",
    type=click.Choice(["pending", "dead", "sent", "all"]),
    default=None,
    help="Which alerts to list (default: pending and dead).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def outbox_command(
    ctx: click.Context,
    config_path: Path | None,
    state_dir: Path | None,
    status: str | None,
    fmt: str,
) -> None:
    """List queued alerts: pending (retried) and dead (given up)."""
    if ctx.invoked_subcommand is not None:
        return
    config, store = _open(ctx, config_path, state_dir)
    try:
        alerts = _select(store, status)
    finally:
        store.close()
    if fmt == "json":
        for alert in alerts:
            click.echo(json.dumps(_alert_json(alert), ensure_ascii=False))
        return
    if not alerts:
        click.echo("The outbox is empty." if status is None else f"No {status} alerts.")
        return
    for alert in alerts:
        click.echo(for_terminal(_alert_line(alert, config)))


def _select(store: Store, status: str | None) -> list[OutboxAlert]:
    if status == "all":
        return store.outbox()
    if status is not None:
        return store.outbox(status=status)
    return sorted(store.outbox(status="pending") + store.outbox(status="dead"), key=lambda a: a.id)


def _alert_json(alert: OutboxAlert) -> dict[str, Any]:
    def when(value: dt.datetime | None) -> str | None:
        return iso_utc(value) if value is not None else None

    return {
        "id": alert.id,
        "delivery_id": alert.delivery_id,
        "notifier": alert.notifier,
        "status": alert.status,
        "attempts": alert.attempts,
        "created_at": when(alert.created_at),
        "next_attempt_at": when(alert.next_attempt_at) if alert.status == "pending" else None,
        "sent_at": when(alert.sent_at),
        "last_error": alert.last_error,
        "event": alert.event.to_json(),
    }


def _alert_line(alert: OutboxAlert, config: Config | None) -> str:
    """`#12 pending  team-hook  changed: Title (source)  3 attempts, next 12:00Z` + error."""
    from monitor.alerts.messages import one_line

    event = alert.event
    heading = one_line(event.title or event.url, 80)
    what = f"{event.event}: {heading} ({event.source})"
    known = config is None or alert.notifier in config.notifiers
    notifier = alert.notifier + ("" if known else " (not configured)")
    tries = f"{alert.attempts} attempt{'s' if alert.attempts != 1 else ''}"
    if alert.status == "pending":
        tries += f", next {alert.next_attempt_at:%Y-%m-%d %H:%M:%S}Z"
    elif alert.status == "sent" and alert.sent_at is not None:
        tries += f", sent {alert.sent_at:%Y-%m-%d %H:%M:%S}Z"
    line = f"#{alert.id} {alert.status:<7} {notifier}  {what}  [{tries}]"
    if alert.last_error:
        line += f"\n    last error: {alert.last_error}"
    return line


@outbox_command.command("retry")
@group_state_option
@group_config_option
@click.argument("ids", nargs=-1, type=int)
@click.pass_context
def outbox_retry(
    ctx: click.Context, config_path: Path | None, state_dir: Path | None, ids: tuple[int, ...]
) -> None:
    """Queue dead alerts again (all of them, or the IDS given)."""
    _config, store = _open(ctx, config_path, state_dir)
    refused = 0
    try:
        if ids:
            statuses = {a.id: a.status for a in store.outbox(limit=10**9)}
            for wanted in sorted(set(ids)):
                if wanted not in statuses:
                    click.echo(f"monitor: there is no alert #{wanted}", err=True)
                    refused += 1
                elif statuses[wanted] != "dead":
                    click.echo(f"alert #{wanted} is {statuses[wanted]}, not dead; left as it is")
        count = store.retry_dead(list(ids) if ids else None)
    finally:
        store.close()
    if count == 0:
        click.echo("No dead alerts to retry.")
    else:
        noun = "alert is" if count == 1 else "alerts are"
        click.echo(
            f"{count} dead {noun} pending again; `monitor run` or `monitor check` sends them."
        )
    if refused:  # an id that is no alert at all is a mistake worth an exit status
        raise SystemExit(1)


@outbox_command.command("purge")
@group_state_option
@group_config_option
@click.option(
    "--status",
    type=click.Choice(["dead", "sent"]),
    default="dead",
    show_default=True,
    help="Which alerts to delete.",
)
@click.pass_context
def outbox_purge(
    ctx: click.Context, config_path: Path | None, state_dir: Path | None, status: str
) -> None:
    """Delete dead (or sent) alerts from the outbox."""
    _config, store = _open(ctx, config_path, state_dir)
    try:
        count = store.purge_alerts(status=status)
    finally:
        store.close()
    click.echo(f"Deleted {count} {status} alert{'s' if count != 1 else ''}.")


# ---------------------------------------------------------------------------------------------
# monitor notify --test NAME
# ---------------------------------------------------------------------------------------------


async def send_test(
    config: Config, name: str, options: ChannelOptions | None = None
) -> tuple[str, list[str]]:
    """Send a test message through one notifier.

    Returns where it went and the template problems worked around; raises
    UnknownNotifierError or DeliveryError.
    """
    from monitor.alerts.channels import ChannelOptions
    from monitor.alerts.messages import MessageRenderer
    from monitor.alerts.outgoing import for_test

    notifier = config.notifiers.get(name)
    if notifier is None:
        raise UnknownNotifierError(name, list(config.notifiers))
    outgoing = for_test(name, MessageRenderer(config.defaults.templates))
    await notifier.send(outgoing, options or ChannelOptions())
    return notifier.describe(), list(outgoing.message.problems)


@click.command("notify")
@click.option("--test", "test_name", metavar="NAME", required=True, help="Notifier to test.")
@group_state_option
@group_config_option
@click.pass_context
def notify_command(
    ctx: click.Context, test_name: str, config_path: Path | None, state_dir: Path | None
) -> None:
    """Send a test message through the notifier NAME and report the outcome."""
    config_file, _state = locations(ctx, config_path, state_dir)
    config = open_config(config_file)
    try:
        where, problems = asyncio.run(send_test(config, test_name))
    except UnknownNotifierError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from None
    except DeliveryError as exc:
        click.echo(for_terminal(f"{test_name}: test message NOT delivered: {exc}"), err=True)
        raise SystemExit(1) from None
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"{test_name}: test message delivered ({where}).")
