"""`monitor archive export | verify` and `monitor extract --version N URL`."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.archive.model import ArchiveError
from monitor.cli.commands import find_statement
from monitor.cli.options import (
    EXIT_SOURCE_FAILED,
    config_option,
    fail,
    format_option,
    group_config_option,
    group_state_option,
    locations,
    open_optional_config,
    open_store,
    state_option,
)
from monitor.extract.base import ExtractionError
from monitor.sources.urls import canonical_url

if TYPE_CHECKING:  # the rest loads when a command runs, so that `--help` answers at once
    from monitor.sources.config import Config
    from monitor.state.store import Store


def _open(
    ctx: click.Context, config_path: Path | None, state_dir: Path | None
) -> tuple[Config, Store]:
    """The configuration (its defaults when the default file is missing: the archive
    commands need only `archive_dir`, often left at its default) and the state."""
    from monitor.sources.config import Config

    config_path, state_dir = locations(ctx, config_path, state_dir)
    config = open_optional_config(ctx, config_path) or Config()
    return config, open_store(state_dir, config)


def _folder(config: Config, store: Store) -> Path:
    from monitor.archive.keeper import archive_folder

    folder = archive_folder(config, store)
    if folder is None:
        fail("no archive folder: set [defaults] archive_dir")
    return folder


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r}: write a date like 2026-11-20 (or 2026-11-20T09:00)")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@click.group(name="archive")
@group_config_option
@group_state_option
def archive_command(config_path: Path | None, state_dir: Path | None) -> None:
    """The evidence archive: WARC files of every version as fetched."""


@archive_command.command(name="export")
@group_config_option
@group_state_option
@click.option("--since", help="Only versions fetched on or after this date (UTC).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The WARC file to write (FILE.warc.gz); FILE.cdxj is written beside it.",
)
@click.argument("targets", nargs=-1, metavar="[SOURCE|URL]...")
@click.pass_context
def export_command(
    ctx: click.Context,
    config_path: Path | None,
    state_dir: Path | None,
    since: str | None,
    out: Path,
    targets: tuple[str, ...],
) -> None:
    """Write the archived versions (of the named sources or statement URLs) as one WARC file
    with a CDXJ index, for pywb, ReplayWeb.page or any WARC reader."""
    from monitor.archive.export import export

    config, store = _open(ctx, config_path, state_dir)
    names = {record.name for record in store.sources()}
    sources = [t for t in targets if t in names]
    urls = []
    for target in (t for t in targets if t not in names):
        if not re.match(r"^https?://", target, re.I):
            fail(f"{target!r} is neither a source in the state nor a statement URL")
        urls.append(canonical_url(target))
    fetches = store.archived(sources=sources, urls=urls, since=_since(since))
    if not fetches:
        fail("no archived version matches", EXIT_SOURCE_FAILED)
    if not str(out).endswith(".warc.gz"):
        fail(f"--out {out}: name the file FILE.warc.gz")
    try:
        result = export(_folder(config, store), [f.ref for f in fetches], out)
    except ArchiveError as exc:
        fail(f"nothing exported: {exc}", EXIT_SOURCE_FAILED)
    click.echo(
        f"wrote {result.versions} archived fetch(es), {result.records} records, to "
        f"{result.warc} (index: {result.cdxj})"
    )


@archive_command.command(name="verify")
@group_config_option
@group_state_option
@format_option
@click.pass_context
def verify_command(
    ctx: click.Context, config_path: Path | None, state_dir: Path | None, output_format: str
) -> None:
    """Re-hash every archived record and compare it with the digest the database stored.

    Exit status 1 when a record is damaged, missing or does not match, naming each.
    """
    from monitor.archive.verify import verify

    config, store = _open(ctx, config_path, state_dir)
    report = verify(_folder(config, store), [f.ref for f in store.archived()])
    if output_format == "json":
        for problem in report.problems:
            click.echo(json.dumps(problem.__dict__, ensure_ascii=False))
    else:
        for problem in report.problems:
            click.echo(str(problem), err=problem.severity == "error")
        verdict = "ok" if report.ok else "FAILED"
        click.echo(
            f"{verdict}: {report.files} file(s), {report.records} record(s), "
            f"{report.checked_refs} stored version(s) checked"
        )
    sys.exit(0 if report.ok else EXIT_SOURCE_FAILED)


@click.command(name="extract")
@config_option
@state_option
@format_option
@click.option("--version", "version", type=int, required=True, help="The stored version.")
@click.argument("url")
@click.pass_context
def extract_command(
    ctx: click.Context,
    config_path: Path,
    state_dir: Path,
    output_format: str,
    version: int,
    url: str,
) -> None:
    """Extract a stored version's page again with the current extractor; print its title
    and text (for instance to see what an extractor upgrade would change)."""
    from monitor import diff
    from monitor.archive.keeper import stored_page
    from monitor.extract.article import extract_statement
    from monitor.extract.patterns import compile_ignore

    config, store = _open(ctx, config_path, state_dir)
    statement, _source = find_statement(store, url)
    snapshot = store.snapshot(statement.id, version)
    if snapshot is None:
        fail(f"{statement.url} has no version {version} (versions 1 to {statement.version})")
    try:
        page = stored_page(config, store, snapshot)
    except ArchiveError as exc:
        fail(f"the archived page of version {version} cannot be read: {exc}", EXIT_SOURCE_FAILED)
    if page is None:
        fail(
            f"version {version} of {statement.url} was stored without its page "
            "(archive off and keep_raw false)",
            EXIT_SOURCE_FAILED,
        )
    # read as checks read it: with the settings of the source that reads it for all
    source = config.statement_reader(statement.sources, statement.url)
    patterns = compile_ignore(source.ignore) if source else []
    try:
        article = extract_statement(
            page.html,
            page.url or statement.url,
            selector=source.selector if source else None,
            ignore=patterns,
        )
    except ExtractionError as exc:
        fail(f"version {version}: {exc}", EXIT_SOURCE_FAILED)
    same = diff.normalize(article.text) == snapshot.normalized
    if output_format == "json":
        payload = {
            "url": statement.url,
            "version": version,
            "title": article.title,
            "text": article.text,
            "published": article.published.isoformat() if article.published else None,
            "from_archive": page.archived,
            "same_as_stored": same,
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    click.echo(article.title)
    click.echo()
    click.echo(article.text)
    note = "the same text as stored" if same else "differs from the stored text"
    click.echo(f"\n(version {version}, re-extracted: {note})", err=True)
