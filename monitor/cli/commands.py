"""The `monitor` commands that read and check the state: check, sources, statements,
history, diff, show, init. Loaded by `monitor.cli.main` only when one of them runs."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.main import frozen_start_up
from monitor.cli.options import (
    EXIT_ALERTS_UNDELIVERED,
    EXIT_OK,
    EXIT_SOURCE_FAILED,
    chosen_database,
    config_option,
    fail,
    format_option,
    make_console,
    open_config,
    open_store,
    state_option,
)
from monitor.cli.tables import TextTable, print_table
from monitor.terminal import for_terminal, shown

if TYPE_CHECKING:  # the checking and diffing machinery loads only for commands that use it
    from rich.console import Console  # and rich only for output to people

    from monitor.check.pipeline import CheckResult
    from monitor.events import Event
    from monitor.sources.config import Config, Source
    from monitor.state.records import Snapshot, StatementRecord
    from monitor.state.store import Store


@click.command()
@config_option
@state_option
@format_option
@click.option(
    "--timeout",
    "run_timeout",
    default="30m",
    show_default=True,
    metavar="DURATION",
    help="The longest the whole run may take; a check still running then is an error.",
)
@click.argument("source_names", nargs=-1, metavar="[SOURCE]...")
def check(
    config_path: Path,
    state_dir: Path,
    output_format: str,
    run_timeout: str,
    source_names: tuple[str, ...],
) -> None:
    """Check every source (or the named ones) once, report what changed, and exit.

    Exit status: 0 when every source was checked (and every alert delivered), 1 when
    some source failed, 2 for bad usage or a bad configuration, 3 when every source was
    checked but some alert could not be delivered (it stays queued for the next run).
    """
    with frozen_start_up():
        from monitor.sources.durations import parse_duration

        try:
            timeout = parse_duration(run_timeout)
        except ValueError as exc:
            fail(f"--timeout: {exc}")
        config = open_config(config_path)
        sources = select_sources(config, source_names)
        shards = shard_count(len(sources))
        extraction = None
        if shards > 1:
            # Before the pipeline's imports, so that it loads the extractor meanwhile on
            # another core (monitor.cli.extraction).
            from monitor.cli.extraction import start_extraction

            extraction = start_extraction(shards)
        from monitor.check.pipeline import check_sources
        from monitor.cli.shards import check_in_shards, prepare_shards, run_event_loop

        store = open_store(state_dir, config)
        console = make_console() if output_format == "text" else None  # rich only for people
        if shards > 1:
            prepare_shards(sources, extraction)
    with check_progress(len(sources), enabled=output_format == "text") as advance:
        if shards > 1:
            store.close()  # SQLite connections must not cross a fork; reopened on next use
            try:
                results = check_in_shards(
                    config,
                    store,
                    sources,
                    shards,
                    on_progress=advance,
                    timeout=timeout,
                    extraction=extraction,
                )
            finally:
                if extraction is not None:
                    extraction.close()
        else:
            results = run_event_loop(
                check_sources(config, store, sources, on_result=advance, timeout=timeout)
            )
    for result in results:
        for event in result.events:
            if console is None:
                click.echo(json.dumps(event.to_json(), ensure_ascii=False))
            else:
                print_event(console, event)
    if console is not None:
        print_summary(console, results)
    # Every pending alert, this run's and those left from earlier runs, is tried before exit.
    delivered = True
    if config.notifiers:
        delivered = deliver_alerts(store, config, console)
    if not all(r.ok for r in results):
        sys.exit(EXIT_SOURCE_FAILED)
    sys.exit(EXIT_OK if delivered else EXIT_ALERTS_UNDELIVERED)


def deliver_alerts(store: Store, config: Config, console: Console | None) -> bool:
    """Try every pending alert once; problems go to stderr, a summary to people.

    False when some alert could not be delivered (it stays queued, or is dead).
    """
    from monitor.alerts.outbox import deliver_due  # the notifiers' libraries load only here

    delivery = asyncio.run(deliver_due(store, config, ignore_backoff=True))
    for problem in delivery.problems:
        click.echo(f"monitor: {for_terminal(problem)}", err=True)
    if console is not None and (delivery.sent or delivery.failed or delivery.dead):
        console.print(delivery.summary())
    return delivery.ok


# Below this many sources, starting more processes (each opens the state and reads its
# part of it; the extractor is loaded before they start) costs more than it saves.
SHARD_MIN_SOURCES = 16


def shard_count(sources: int) -> int:
    """How many processes check this many sources: one per core for large checks."""
    if sources < SHARD_MIN_SOURCES:
        return 1
    return max(1, min(os.cpu_count() or 1, sources // SHARD_MIN_SOURCES))


def select_sources(config: Config, names: Sequence[str]) -> list[Source]:
    """The named sources (all enabled ones when none is named); unknown names exit 2."""
    from monitor.sources.config import did_you_mean

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
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    "restored": "bold green",
    "error": "red",
    "recovered": "green",
}


def print_event(console: Console, event: Event) -> None:
    """One event for people: kind, source, title and URL, then the changes."""
    from rich.padding import Padding

    from monitor import diff
    from monitor.meaning import describe
    from monitor.review import report

    style = _EVENT_STYLE.get(event.event, "")
    title = shown(event.title or "")
    head = f"[{style}]{event.event:<8}[/] {shown(event.source)}  {title}"
    console.print(head.rstrip())
    details = [shown(event.url)]
    if event.version is not None:
        details.append(f"version {event.version}")
    if event.similarity is not None:
        details.append(f"similarity {event.similarity:.3f}")
    if event.moved_from:
        details.append(f"moved from {shown(event.moved_from)}")
    console.print("         " + " · ".join(details), style="dim")
    if event.error:
        console.print(f"         {shown(event.error)}", style="red")
    for finding in event.meaning if event.event == "changed" else ():
        console.print(f"         • {shown(describe(finding))}", style="bold")
    if event.event == "changed" and event.changes:
        comparison = diff.Comparison(event.similarity or 0.0, event.changes)
        console.print(Padding(report.render_rich(comparison), (0, 0, 0, 9)))


def print_summary(console: Console, results: Sequence[CheckResult]) -> None:
    counts: dict[str, int] = {}
    for result in results:
        for event in result.events:
            counts[event.event] = counts.get(event.event, 0) + 1
    failed = sum(1 for r in results if not r.ok)
    # A failed source's own error event is what "failed" counts: not said twice. Errors of
    # single statements of sources that were checked are counted apart.
    counts.pop("error", None)
    statement_errors = sum(1 for r in results if r.ok for e in r.events if e.event == "error")
    parts = [f"{len(results)} source{'s' if len(results) != 1 else ''} checked"]
    parts += [f"{n} {kind}" for kind, n in sorted(counts.items())]
    if failed:
        parts.append(f"{failed} failed")
    if statement_errors:
        parts.append(f"{statement_errors} statement{'s' if statement_errors != 1 else ''} failed")
    console.print(", ".join(parts), style="bold" if not failed else "bold red")


# ---------------------------------------------------------------------------------------------
# sources, history, diff
# ---------------------------------------------------------------------------------------------


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


@click.command()
@config_option
@state_option
@format_option
def sources(config_path: Path, state_dir: Path, output_format: str) -> None:
    """List the sources with their last check, status and last change."""
    from monitor.clock import iso_utc

    config = open_config(config_path, secrets=False)
    # Listing the sources of a file not checked yet is fine: no state is created for it.
    exists = chosen_database(state_dir, config).exists()
    store = open_store(state_dir, config) if exists else None
    known = {record.name: record for record in store.sources()} if store else {}
    if output_format == "json":
        for source in config.sources:
            record = known.get(source.name)

            def when(value: Any) -> str | None:
                return iso_utc(value) if value else None

            row = {
                "name": source.name,
                "kind": source.kind,
                "url": source.url,
                "enabled": source.enabled,
                "last_check": when(record.last_check_at) if record else None,
                "last_success": when(record.last_success_at) if record else None,
                "last_change": when(record.last_change_at) if record else None,
                "status": (record.last_status if record else None) or "not checked",
                "consecutive_failures": record.consecutive_failures if record else 0,
                "last_error": record.last_error if record else None,
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    table = TextTable(
        ("source", "kind", "last check", "status", "last change", "url"), whole={"source", "url"}
    )
    for source in config.sources:
        record = known.get(source.name)
        status = "not checked" if record is None else (record.last_status or "")
        if record is not None and record.last_status == "error":
            status = f"error ({record.consecutive_failures}×): {record.last_error}"
        table.add(
            source.name,
            source.kind,
            _when(record.last_check_at if record else None),
            status,
            _when(record.last_change_at if record else None),
            source.url,
        )
    print_table(table, make_console())


def read_config_option(func: Any) -> Any:
    """`--config` on read commands: optional; when given, names are checked against it."""
    return click.option(
        "--config",
        "config_path",
        default=None,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The sources file (optional: to check source names against it).",
    )(func)


def open_for_reading(state_dir: Path, config_path: Path | None) -> Store:
    """The state for a command that only reads it; its database is named by --database,
    MONITOR_DATABASE_URL or, when --config is given, that file's `[defaults] database`."""
    config = open_config(config_path, secrets=False) if config_path is not None else None
    return open_store(state_dir, config, create=False)


def unknown_source(name: str, config_path: Path | None) -> str:
    """Why a name is not a source in the state: unknown to the file, or not checked yet."""
    from monitor.sources.config import did_you_mean

    if config_path is not None:
        config = open_config(config_path, secrets=False)
        names = [s.name for s in config.sources]
        if name not in names:
            return f"no source is named {name!r} in {config_path}{did_you_mean(name, names)}"
    return f"no source named {name!r} has been checked yet"


@click.command()
@read_config_option
@state_option
@format_option
@click.argument("source")
def statements(config_path: Path | None, state_dir: Path, output_format: str, source: str) -> None:
    """The statements a source tracks, with first seen, last changed and status."""
    store = open_for_reading(state_dir, config_path)
    if store.source(source) is None:
        fail(unknown_source(source, config_path))
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
    table = TextTable(
        ("title", "status", "versions", "first seen", "last changed", "url"), whole={"url"}
    )
    for record in records:
        table.add(
            record.title or "",
            record.status,
            str(record.version),
            _when(record.first_seen_at),
            _when(record.last_changed_at),
            record.url,
        )
    print_table(table, make_console())


@click.command()
@read_config_option
@state_option
@format_option
@click.argument("target")
def history(config_path: Path | None, state_dir: Path, output_format: str, target: str) -> None:
    """The versions of a statement (TARGET is its URL) or the events of a source (its name)."""
    from monitor import diff

    store = open_for_reading(state_dir, config_path)
    if store.source(target) is not None:
        events = store.events(source=target, limit=200)
        if output_format == "json":
            for stored in events:
                click.echo(json.dumps(stored.event.to_json(), ensure_ascii=False))
            return
        table = TextTable(("when", "event", "version", "title", "url"), whole={"url"})
        for stored in events:
            table.add(
                _when(stored.at),
                stored.kind,
                str(stored.version or ""),
                stored.title or "",
                stored.url,
            )
        print_table(table, make_console())
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
                        "paragraphs": len(diff.split_paragraphs(snap.text)),
                        "text_hash": snap.text_hash,
                    },
                    ensure_ascii=False,
                )
            )
        return
    console = make_console()
    tracked_by = ", ".join(statement.sources)
    console.print(
        f"{shown(statement.title or '')}\n{shown(statement.url)} · {statement.status}"
        + (f" · tracked by {tracked_by}" if tracked_by else "")
    )
    table = TextTable(("version", "fetched", "title", "paragraphs", "similarity to previous"))
    previous: Snapshot | None = None
    for snap in snapshots:
        similarity = ""
        if previous is not None:
            similarity = f"{diff.compare(previous.text, snap.text).similarity:.3f}"
        table.add(
            str(snap.version),
            _when(snap.fetched_at),
            snap.title,
            str(len(diff.split_paragraphs(snap.text))),
            similarity,
        )
        previous = snap
    print_table(table, console)


def find_statement(store: Store, target: str) -> tuple[StatementRecord, str]:
    """The tracked statement at a URL and its source's name, or exit 2 with a message."""
    found = store.find_statement(target)
    if found is None:
        fail(f"no source or tracked statement matches {target!r}")
    return found


@click.command(name="diff")
@read_config_option
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
    config_path: Path | None,
    state_dir: Path,
    from_version: int | None,
    to_version: int | None,
    output_format: str,
    url: str,
) -> None:
    """Show what changed in a statement between two versions."""
    from monitor import diff
    from monitor.meaning import describe, explain
    from monitor.review import report

    store = open_for_reading(state_dir, config_path)
    statement, source = find_statement(store, url)
    to_version = to_version or statement.version
    from_version = from_version or max(1, to_version - 1)
    old = store.snapshot(statement.id, from_version)
    new = store.snapshot(statement.id, to_version)
    if old is None or new is None:
        missing = from_version if old is None else to_version
        fail(f"{statement.url} has no version {missing} (versions 1 to {statement.version})")
    comparison = diff.compare(old.text, new.text)
    findings = explain(
        old.text, new.text, old_title=old.title, new_title=new.title, comparison=comparison
    )
    if output_format == "json":
        payload = {
            "url": statement.url,
            "from": from_version,
            "to": to_version,
            **report.diff_to_json(comparison),
            "meaning": [f.to_json() for f in findings],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
    elif output_format == "html":
        click.echo(
            report.render_diff_html(
                title=new.title,
                url=statement.url,
                source=", ".join(statement.sources) or source,
                from_version=from_version,
                to_version=to_version,
                from_time=old.fetched_at,
                to_time=new.fetched_at,
                comparison=comparison,
                old_text=old.text,
                new_text=new.text,
                old_title=old.title,
                new_title=new.title,
            )
        )
    else:
        console = make_console()
        console.print(
            f"{shown(new.title)}\n{shown(statement.url)}\n"
            f"version {from_version} ({_when(old.fetched_at)}) → {to_version} "
            f"({_when(new.fetched_at)}) · similarity {comparison.similarity:.3f}"
        )
        for finding in findings:
            console.print(f"• {shown(describe(finding))}", style="bold")
        if comparison.unchanged:
            console.print("no change in the statement text")
        else:
            console.print(report.render_rich(comparison))


@click.command()
@read_config_option
@state_option
@click.option("--version", "version", type=int, help="Which version (default: the latest).")
@format_option
@click.argument("url")
def show(
    config_path: Path | None,
    state_dir: Path,
    version: int | None,
    output_format: str,
    url: str,
) -> None:
    """Print the full text of one version of a statement (the latest by default)."""
    from monitor.clock import iso_utc

    store = open_for_reading(state_dir, config_path)
    statement, _source = find_statement(store, url)
    if statement.version == 0:
        fail(f"{statement.url} has not been fetched yet (it is {statement.status})")
    wanted = version or statement.version
    snap = store.snapshot(statement.id, wanted)
    if snap is None:
        fail(f"{statement.url} has no version {wanted} (versions 1 to {statement.version})")
    if output_format == "json":
        payload = {
            "url": statement.url,
            "version": snap.version,
            "fetched_at": iso_utc(snap.fetched_at),
            "title": snap.title,
            "published": snap.published.isoformat() if snap.published else None,
            "text": snap.text,
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    # Plain text, not rich: the statement as stored, but for terminal controls (a page's
    # escape sequences never reach the terminal).
    click.echo(for_terminal(snap.title))
    fetched = _when(snap.fetched_at)
    where = for_terminal(statement.url)
    click.echo(f"{where} · version {snap.version} of {statement.version} · {fetched}")
    click.echo()
    click.echo(for_terminal(snap.text))


@click.command()
@click.argument("path", default="sources.toml", type=click.Path(dir_okay=False, path_type=Path))
def init(path: Path) -> None:
    """Write the example sources file (with every key explained) to PATH."""
    if path.exists():
        fail(f"{path} exists already; not overwriting it")
    example = resources.files("monitor.sources").joinpath("example-sources.toml").read_text("utf-8")
    path.write_text(example, encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run: monitor check --config {path}")


@click.command()
@read_config_option
@state_option
@format_option
def nodes(config_path: Path | None, state_dir: Path, output_format: str) -> None:
    """The daemons sharing the state (several on PostgreSQL): alive or gone, each with its
    last heartbeat, the hash of its sources file and how many sources it checked last."""
    from monitor.clock import utcnow
    from monitor.daemon.cluster import node_statuses
    from monitor.sources.config import Defaults
    from monitor.state.cluster import Cluster

    config = open_config(config_path) if config_path is not None else None
    store = open_store(state_dir, config, create=False)
    lease_timeout = (config.defaults if config else Defaults()).lease_timeout
    cluster = Cluster(store, node_id="")
    checked: dict[str, int] = {}
    for lease in cluster.leases().values():
        if lease.node:
            checked[lease.node] = checked.get(lease.node, 0) + 1
    statuses = node_statuses(cluster, lease_timeout)
    if output_format == "json":
        for status in statuses:
            row = {**status.to_json(), "sources": checked.get(status.record.id, 0)}
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not statuses:
        click.echo("no daemon has run on this state yet (`monitor run` adds itself here)")
        return
    table = TextTable(
        ["node", "status", "last heartbeat", "sources", "config", "listen", "started"],
        whole=["node"],
    )
    now = utcnow()
    for status in statuses:
        node = status.record
        gone = "stopped" if node.stopped_at else "gone (no heartbeat)"
        state = "alive" if status.alive else gone
        age = max(0, round((now - node.heartbeat_at).total_seconds()))
        table.add(
            node.id,
            state,
            f"{age}s ago",
            str(checked.get(node.id, 0)),
            node.config_hash[:12],
            node.listen or "",
            _when(node.started_at),
        )
    print_table(table, make_console())
    hashes = {s.record.config_hash for s in statuses if s.alive}
    if len(hashes) > 1:
        click.echo(
            "monitor: the live nodes run different sources files; reload each with the same "
            "file (SIGHUP)",
            err=True,
        )
