"""The `monitor` command line: check, sources, statements, history, diff, init."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor import diff
from monitor.check.pipeline import CheckResult, check_sources
from monitor.cli.options import (
    EXIT_OK,
    EXIT_SOURCE_FAILED,
    config_option,
    fail,
    format_option,
    open_config,
    open_store,
    state_option,
)
from monitor.cli.shards import check_in_shards
from monitor.events import Event
from monitor.review import report
from monitor.sources.config import Config, Source, did_you_mean
from monitor.state.store import Snapshot, StatementRecord, Store


def make_console() -> Console:
    """Output for people: the terminal's width, or wide enough for tables when piped."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


class LazyGroup(click.Group):
    """A command group whose heavier commands are imported only when they are run.

    `monitor check` is the hot path of cron jobs and benchmarks; the daemon's web stack,
    the report exporter and the notifiers' libraries need not load for it.
    """

    lazy: dict[str, str] = {
        "run": "monitor.daemon.service:run_command",
        "report": "monitor.review.export:report_command",
        "outbox": "monitor.alerts.commands:outbox_command",
        "notify": "monitor.alerts.commands:notify_command",
        "archive": "monitor.archive.commands:archive_command",
        "extract": "monitor.archive.commands:extract_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, name = self.lazy[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="statement-monitor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Watch announcement pages and report when a statement is edited or published."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------


@main.command()
@config_option
@state_option
@format_option
@click.argument("source_names", nargs=-1, metavar="[SOURCE]...")
def check(
    config_path: Path, state_dir: Path, output_format: str, source_names: tuple[str, ...]
) -> None:
    """Check every source (or the named ones) once, report what changed, and exit.

    Exit status: 0 when every source was checked, 1 when some source failed,
    2 for bad usage or a bad configuration.
    """
    config = open_config(config_path)
    sources = select_sources(config, source_names)
    store = open_store(state_dir)
    console = make_console()
    with check_progress(len(sources), enabled=output_format == "text") as advance:
        shards = shard_count(len(sources))
        if shards > 1:
            store.close()  # SQLite connections must not cross a fork; reopened on next use
            results = check_in_shards(config, state_dir, sources, shards, on_progress=advance)
        else:
            results = asyncio.run(check_sources(config, store, sources, on_result=advance))
    for result in results:
        for event in result.events:
            if output_format == "json":
                click.echo(json.dumps(event.to_json(), ensure_ascii=False))
            else:
                print_event(console, event)
    if output_format == "text":
        print_summary(console, results)
    # Every pending alert, this run's and those left from earlier runs, is tried before exit.
    if config.notifiers:
        deliver_alerts(store, config, console if output_format == "text" else None)
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_SOURCE_FAILED)


def deliver_alerts(store: Store, config: Config, console: Console | None) -> None:
    """Try every pending alert once; problems go to stderr, a summary to people."""
    from monitor.alerts.outbox import deliver_due  # the notifiers' libraries load only here

    delivery = asyncio.run(deliver_due(store, config, ignore_backoff=True))
    for problem in delivery.problems:
        click.echo(f"monitor: {problem}", err=True)
    if console is not None and (delivery.sent or delivery.failed or delivery.dead):
        console.print(delivery.summary())


# Below this many sources, starting more processes (each imports the extractors) costs more
# than it saves.
SHARD_MIN_SOURCES = 16


def shard_count(sources: int) -> int:
    """How many processes check this many sources: one per core for large checks."""
    if sources < SHARD_MIN_SOURCES:
        return 1
    return max(1, min(os.cpu_count() or 1, sources // SHARD_MIN_SOURCES))


def select_sources(config: Config, names: Sequence[str]) -> list[Source]:
    """The named sources (all enabled ones when none is named); unknown names exit 2."""
    if not names:
        return [s for s in config.sources if s.enabled]
    known = {s.name: s for s in config.sources}
    chosen = []
    for name in names:
        if name not in known:
            fail(f"no source is named {name!r} in {config.path}{did_you_mean(name, known)}")
        chosen.append(known[name])
    return chosen


@contextmanager
def check_progress(total: int, *, enabled: bool) -> Iterator[Any]:
    """A progress bar on stderr for long checks, only when stderr is a terminal."""
    if not enabled or total < 2 or not sys.stderr.isatty():
        yield None
        return
    progress = Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("check", total=total)
        yield lambda _result: progress.advance(task)


_EVENT_STYLE = {
    "baseline": "dim",
    "new": "bold green",
    "changed": "bold yellow",
    "moved": "bold cyan",
    "removed": "bold red",
    "error": "red",
    "recovered": "green",
}


def print_event(console: Console, event: Event) -> None:
    """One event for people: kind, source, title and URL, then the changes."""
    style = _EVENT_STYLE.get(event.event, "")
    title = escape(event.title or "")
    head = f"[{style}]{event.event:<8}[/] {escape(event.source)}  {title}"
    console.print(head.rstrip())
    details = [escape(event.url)]
    if event.version is not None:
        details.append(f"version {event.version}")
    if event.similarity is not None:
        details.append(f"similarity {event.similarity:.3f}")
    if event.moved_from:
        details.append(f"moved from {escape(event.moved_from)}")
    console.print("         " + " · ".join(details), style="dim")
    if event.error:
        console.print(f"         {escape(event.error)}", style="red")
    if event.event == "changed" and event.changes:
        comparison = diff.Comparison(event.similarity or 0.0, event.changes)
        console.print(Padding(report.render_rich(comparison), (0, 0, 0, 9)))


def print_summary(console: Console, results: Sequence[CheckResult]) -> None:
    counts: dict[str, int] = {}
    for result in results:
        for event in result.events:
            counts[event.event] = counts.get(event.event, 0) + 1
    failed = sum(1 for r in results if not r.ok)
    parts = [f"{len(results)} source{'s' if len(results) != 1 else ''} checked"]
    parts += [f"{n} {kind}" for kind, n in sorted(counts.items())]
    if failed:
        parts.append(f"{failed} failed")
    console.print(", ".join(parts), style="bold" if not failed else "bold red")


# ---------------------------------------------------------------------------------------------
# sources, history, diff
# ---------------------------------------------------------------------------------------------


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


@main.command()
@config_option
@state_option
def sources(config_path: Path, state_dir: Path) -> None:
    """List the sources with their last check, status and last change."""
    config = open_config(config_path)
    store = open_store(state_dir)
    known = {record.name: record for record in store.sources()}
    table = Table("source", "kind", "last check", "status", "last change", "url")
    for source in config.sources:
        record = known.get(source.name)
        status = "not checked" if record is None else (record.last_status or "")
        if record is not None and record.last_status == "error":
            status = f"error ({record.consecutive_failures}×): {record.last_error}"
        table.add_row(
            source.name,
            source.kind,
            _when(record.last_check_at if record else None),
            escape(status),
            _when(record.last_change_at if record else None),
            escape(source.url),
        )
    make_console().print(table)


@main.command()
@state_option
@format_option
@click.argument("source")
def statements(state_dir: Path, output_format: str, source: str) -> None:
    """The statements a source tracks, with first seen, last changed and status."""
    store = open_store(state_dir)
    if store.source(source) is None:
        fail(f"no source named {source!r} has been checked yet")
    records = store.statements(source)
    if output_format == "json":
        for record in records:
            click.echo(
                json.dumps(
                    {
                        "url": record.url,
                        "title": record.title,
                        "status": record.status,
                        "version": record.version,
                        "first_seen": record.first_seen_at.isoformat(),
                        "last_changed": (
                            record.last_changed_at.isoformat() if record.last_changed_at else None
                        ),
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("title", "status", "versions", "first seen", "last changed", "url")
    for record in records:
        table.add_row(
            escape(record.title or ""),
            record.status,
            str(record.version),
            _when(record.first_seen_at),
            _when(record.last_changed_at),
            escape(record.url),
        )
    make_console().print(table)


@main.command()
@state_option
@format_option
@click.argument("target")
def history(state_dir: Path, output_format: str, target: str) -> None:
    """The versions of a statement (TARGET is its URL) or the events of a source (its name)."""
    store = open_store(state_dir)
    if store.source(target) is not None:
        events = store.events(source=target, limit=200)
        if output_format == "json":
            for stored in events:
                click.echo(json.dumps(stored.event.to_json(), ensure_ascii=False))
            return
        table = Table("when", "event", "version", "title", "url")
        for stored in events:
            table.add_row(
                _when(stored.at),
                stored.kind,
                str(stored.version or ""),
                escape(stored.title or ""),
                escape(stored.url),
            )
        make_console().print(table)
        return
    statement, _source = find_statement(store, target)
    snapshots = store.snapshots(statement.id)
    if output_format == "json":
        for snap in snapshots:
            click.echo(
                json.dumps(
                    {
                        "url": statement.url,
                        "version": snap.version,
                        "fetched_at": snap.fetched_at.isoformat(),
                        "title": snap.title,
                        "text_hash": snap.text_hash,
                    },
                    ensure_ascii=False,
                )
            )
        return
    console = make_console()
    console.print(f"{escape(statement.title or '')}\n{escape(statement.url)} · {statement.status}")
    table = Table("version", "fetched", "title", "paragraphs", "similarity to previous")
    previous: Snapshot | None = None
    for snap in snapshots:
        similarity = ""
        if previous is not None:
            similarity = f"{diff.compare(previous.text, snap.text).similarity:.3f}"
        table.add_row(
            str(snap.version),
            _when(snap.fetched_at),
            escape(snap.title),
            str(len(diff.split_paragraphs(snap.text))),
            similarity,
        )
        previous = snap
    console.print(table)


def find_statement(store: Store, target: str) -> tuple[StatementRecord, str]:
    """The tracked statement at a URL and its source's name, or exit 2 with a message."""
    found = store.find_statement(target)
    if found is None:
        fail(f"no source or tracked statement matches {target!r}")
    return found


@main.command(name="diff")
@state_option
@click.option(
    "--from", "from_version", type=int, help="Old version (default: the one before --to)."
)
@click.option("--to", "to_version", type=int, help="New version (default: the latest).")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "html"]), default="text"
)
@click.argument("url")
def diff_command(
    state_dir: Path,
    from_version: int | None,
    to_version: int | None,
    output_format: str,
    url: str,
) -> None:
    """Show what changed in a statement between two versions."""
    store = open_store(state_dir)
    statement, source = find_statement(store, url)
    to_version = to_version or statement.version
    from_version = from_version or max(1, to_version - 1)
    old = store.snapshot(statement.id, from_version)
    new = store.snapshot(statement.id, to_version)
    if old is None or new is None:
        missing = from_version if old is None else to_version
        fail(f"{statement.url} has no version {missing} (versions 1 to {statement.version})")
    comparison = diff.compare(old.text, new.text)
    if output_format == "json":
        payload = {
            "url": statement.url,
            "from": from_version,
            "to": to_version,
            **report.diff_to_json(comparison),
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
    elif output_format == "html":
        click.echo(
            report.render_diff_html(
                title=new.title,
                url=statement.url,
                source=source,
                from_version=from_version,
                to_version=to_version,
                from_time=old.fetched_at,
                to_time=new.fetched_at,
                comparison=comparison,
                old_text=old.text,
                new_text=new.text,
            )
        )
    else:
        console = make_console()
        console.print(
            f"{escape(new.title)}\n{escape(statement.url)}\n"
            f"version {from_version} ({_when(old.fetched_at)}) → {to_version} "
            f"({_when(new.fetched_at)}) · similarity {comparison.similarity:.3f}"
        )
        if comparison.unchanged:
            console.print("no change in the statement text")
        else:
            console.print(report.render_rich(comparison))


@main.command()
@click.argument("path", default="sources.toml", type=click.Path(dir_okay=False, path_type=Path))
def init(path: Path) -> None:
    """Write the example sources file (with every key explained) to PATH."""
    if path.exists():
        fail(f"{path} exists already; not overwriting it")
    example = resources.files("monitor.sources").joinpath("example-sources.toml").read_text("utf-8")
    path.write_text(example, encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run: monitor check --config {path}")


if __name__ == "__main__":
    main()
