"""What every command shares: the `--config`/`--state` options, exit codes, opening both.

Commands of a group (`monitor outbox retry`) take the same options unset, so that
`monitor outbox --state X retry` and `monitor outbox retry --state X` mean the same
(`locations`).

Nothing heavy is imported at module level: `monitor --help` loads this module, and the
configuration and store modules (pydantic, SQLAlchemy) load only when a command opens them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from rich.console import Console

    from monitor.sources.config import Config
    from monitor.state.store import Store

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_ALERTS_UNDELIVERED = 3  # `monitor check`: every source checked, some alert not sent
PIPED_WIDTH = 100_000  # piped output: no line is cut or padded to a width
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


def make_console() -> Console:
    """Output for people: the terminal's width; piped, as wide as the lines are."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=True)
    return Console(highlight=False, soft_wrap=True, width=PIPED_WIDTH, color_system=None)


def open_config(path: Path) -> Config:
    """The validated configuration, or exit 2 with the file, line and key named."""
    from monitor.sources.config import ConfigError, load_config

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


def open_store(state_dir: Path, *, create: bool = True) -> Store:
    """The state, or exit 2 saying why it cannot be opened.

    `create=False` (the commands that only read) exits 2 when there is no state yet,
    instead of creating an empty one in the wrong folder.
    """
    from monitor.state.store import DB_FILENAME, Store, StoreError

    if not create and not (state_dir / DB_FILENAME).is_file():
        fail(
            f"no state in {state_dir}/ yet: run `monitor check` first, or pass the --state "
            "folder your checks use"
        )
    try:
        return Store.open(state_dir)
    except StoreError as exc:
        fail(str(exc))
