"""What every command shares: the `--config`/`--state`/`--database` options, exit codes,
opening the configuration and the store.

Commands of a group (`monitor outbox retry`) take the same options unset, so that
`monitor outbox --state X retry` and `monitor outbox retry --state X` mean the same
(`locations`).

Nothing heavy is imported at module level: `monitor --help` loads this module, and the
configuration and store modules (pydantic, SQLAlchemy) load only when a command opens them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from monitor.terminal import for_terminal

if TYPE_CHECKING:
    from rich.console import Console

    from monitor.sources.config import Config
    from monitor.state.database import Database
    from monitor.state.store import Store

F = TypeVar("F", bound=Callable[..., Any])

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
_state_option = click.option(
    "--state",
    "state_dir",
    default=str(DEFAULT_STATE),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The state folder (created when missing).",
)
DATABASE_ENV = "MONITOR_DATABASE_URL"  # monitor.state.database.ENV_VAR, without importing it
_DATABASE_KEY = "monitor.database"


def _remember_database(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # Kept in the context's meta (shared by a group and its commands), so `open_store`
    # finds it wherever it was given, and no command has to pass it along.
    if value:
        ctx.meta[_DATABASE_KEY] = value


_database_option = click.option(
    "--database",
    metavar="URL",
    envvar=DATABASE_ENV,
    show_envvar=True,
    expose_value=False,
    callback=_remember_database,
    help="The state database, e.g. postgresql://monitor:${PGPASSWORD}@db/monitor "
    "(default: [defaults] database, else SQLite in the state folder).",
)


def state_option(command: F) -> F:
    """`--state DIR` and `--database URL`."""
    return _state_option(_database_option(command))


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
_group_state_option = click.option(
    "--state",
    "state_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"The state folder (default: {DEFAULT_STATE}/).",
)


def group_state_option(command: F) -> F:
    """`--state DIR` (unset: the group's) and `--database URL`."""
    return _group_state_option(_database_option(command))


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
    click.echo(f"monitor: {for_terminal(message)}", err=True)
    sys.exit(code)


def make_console() -> Console:
    """Output for people: the terminal's width; piped, as wide as the lines are."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=True)
    return Console(highlight=False, soft_wrap=True, width=PIPED_WIDTH, color_system=None)


def open_config(path: Path, *, secrets: bool = True) -> Config:
    """The validated configuration, or exit 2 with the file, line and key named.

    `secrets=False` for a command that sends and fetches nothing (it reads the state): a
    `${NAME}` whose variable is not set is then no reason to refuse the file. A command
    that sends or fetches (`check`, `run`, `notify --test`) needs every one, and is
    refused before it does anything.
    """
    from monitor.sources.config import ConfigError, load_config

    try:
        return load_config(path, require_env=secrets)
    except ConfigError as exc:
        fail(str(exc))


def open_optional_config(ctx: click.Context, path: Path) -> Config | None:
    """The configuration, or None when the default file is missing (the state suffices);
    for commands that only read the state and archive, so secrets are not needed."""
    source = ctx.get_parameter_source("config_path")
    explicit = source is not None and source.name != "DEFAULT"
    if not explicit and not path.exists():
        return None
    return open_config(path, secrets=False)


def chosen_database(state_dir: Path, config: Config | None = None) -> Database:
    """The database of this command: --database, MONITOR_DATABASE_URL, the sources file's
    `[defaults] database`, else SQLite in the state folder."""
    from monitor.state.database import choose_database

    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(_DATABASE_KEY) if ctx is not None else None
    configured = config.defaults.database if config is not None else None
    return choose_database(state_dir, given, configured)


def open_store(state_dir: Path, config: Config | None = None, *, create: bool = True) -> Store:
    """The state, or exit 2 saying why it cannot be opened.

    `create=False` (the commands that only read) exits 2 when there is no state yet,
    instead of creating an empty one in the wrong folder.
    """
    from monitor.state.store import Store, StoreError

    database = chosen_database(state_dir, config)
    if not create and not database.exists():
        fail(
            f"no state in {state_dir}/ yet: run `monitor check` first, or pass the --state "
            "folder (or --database) your checks use"
        )
    try:
        return Store.open(state_dir, database.url)
    except StoreError as exc:
        fail(str(exc))
