"""What every command shares: the `--config`/`--state` options, exit codes, opening both.

Commands of a group (`monitor outbox retry`) take the same options unset, so that
`monitor outbox --state X retry` and `monitor outbox retry --state X` mean the same
(`locations`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from monitor.sources.config import Config, ConfigError, load_config
from monitor.state.store import Store, StoreError

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_CONFIG = Path("sources.toml")
DEFAULT_STATE = Path("state")

config_option = click.option(
    "--config",
    "config_path",
    default=str(DEFAULT_CONFIG),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The sources file.",
)
state_option = click.option(
    "--state",
    "state_dir",
    default=str(DEFAULT_STATE),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The state folder (created when missing).",
)
format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text"
)
# The same options, unset, for the commands of a group (see `locations`).
group_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"The sources file (default: {DEFAULT_CONFIG}).",
)
group_state_option = click.option(
    "--state",
    "state_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"The state folder (default: {DEFAULT_STATE}/).",
)


def locations(
    ctx: click.Context, config_path: Path | None, state_dir: Path | None
) -> tuple[Path, Path]:
    """The options given to this command, else to its group, else the defaults."""
    parent = ctx.parent.params if ctx.parent is not None else {}
    config = config_path or parent.get("config_path") or DEFAULT_CONFIG
    state = state_dir or parent.get("state_dir") or DEFAULT_STATE
    return config, state


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print a message for people on stderr and exit."""
    click.echo(f"monitor: {message}", err=True)
    sys.exit(code)


def open_config(path: Path) -> Config:
    """The validated configuration, or exit 2 with the file, line and key named."""
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))


def open_optional_config(ctx: click.Context, path: Path) -> Config | None:
    """The configuration, or None when the default file is missing (the state suffices)."""
    source = ctx.get_parameter_source("config_path")
    explicit = source is not None and source.name != "DEFAULT"
    if not explicit and not path.exists():
        return None
    return open_config(path)


def open_store(state_dir: Path) -> Store:
    """The state, or exit 2 saying why it cannot be opened."""
    try:
        return Store.open(state_dir)
    except StoreError as exc:
        fail(str(exc))
