"""`monitor report`, as the command line reads it: its options and help. The pages and
their templates (`monitor.review.export`) load only when it runs, so that `monitor report
--help` and shell completion answer at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from monitor.cli.options import (
    config_option,
    fail,
    open_optional_config,
    open_store,
    state_option,
)


@click.command("report")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the pages to (created when missing).",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
    help="Only changes and events from this date (UTC) on.",
)
@state_option
@config_option
@click.pass_context
def report_command(
    ctx: click.Context,
    out_dir: Path,
    since: dt.datetime | None,
    state_dir: Path,
    config_path: Path,
) -> None:
    """Write the review pages (dashboard, sources, statements, diffs) as static HTML files.

    The files open from disk with relative links and the stylesheet copied next to them,
    to attach or archive.
    """
    from monitor.review.export import export_report
    from monitor.state.store import StoreError

    config = open_optional_config(ctx, config_path)  # without it, the sources the state knows
    store = open_store(state_dir, config, create=False)
    try:
        result = export_report(
            store, config, out_dir, since=since.replace(tzinfo=dt.UTC) if since else None
        )
    except StoreError as exc:
        fail(str(exc))
        return
    except OSError as exc:
        fail(f"cannot write to {out_dir}: {exc.strerror or exc}")
        return
    click.echo(
        f"wrote {result.pages} pages ({result.diffs} diffs) to {result.out}; "
        f"open {result.out / 'index.html'}"
    )
