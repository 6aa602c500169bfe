"""Which database holds the state: one URL, chosen once for every command.

In order: `--database URL`, the environment variable `MONITOR_DATABASE_URL`, the sources
file's `[defaults] database`, else SQLite at `<state>/monitor.db` (the embedded default).
`postgresql://user:${PGPASSWORD}@host/db` selects PostgreSQL through psycopg 3; `${NAME}`
in a URL is filled in from the environment when the database is opened, so the URL people
write (and see in messages) never holds the password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "MONITOR_DATABASE_URL"
DB_FILENAME = "monitor.db"

_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Short scheme names people write, and the SQLAlchemy driver each one means here.
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


class DatabaseUrlError(ValueError):
    """A database URL that cannot be used; the message says why (without the password)."""


@dataclass(frozen=True)
class Database:
    """The state's database: where it is (`url`, as written) and the state folder beside it.

    The state folder also holds what lives outside the database (the evidence archive).
    """

    url: str
    state_dir: Path

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file (None for a server database or an in-memory one)."""
        if not self.is_sqlite:
            return None
        path = self.url.split(":///", 1)[1] if ":///" in self.url else ""
        return Path(path) if path and path != ":memory:" else None

    @property
    def is_default(self) -> bool:
        """True for the embedded default, SQLite in the state folder."""
        return self.sqlite_path == self.state_dir / DB_FILENAME

    def exists(self) -> bool:
        """False only for a SQLite file not created yet (a server database may be empty)."""
        path = self.sqlite_path
        return path is None or path.is_file()

    def shown(self) -> str:
        """The URL for people: the password, if one is written in it, masked."""
        return mask_password(self.url)

    def resolved(self, environ: Mapping[str, str] | None = None) -> str:
        """The URL to connect with: `${NAME}` filled in, the driver named."""
        env = os.environ if environ is None else environ

        def secret(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise DatabaseUrlError(
                    f"the database URL {self.shown()} uses ${{{name}}}, which is not set"
                )
            return _quote(env[name])

        url = _SECRET.sub(secret, self.url)
        scheme, sep, rest = url.partition("://")
        if not sep:
            raise DatabaseUrlError(
                f"the database URL {self.shown()!r} has no scheme: write "
                "postgresql://user@host/db or sqlite:///path/monitor.db"
            )
        return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


def choose_database(
    state_dir: Path,
    given: str | None = None,
    configured: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Database:
    """The database of this run: `given` (--database), else the environment's, else the
    sources file's (`configured`), else SQLite in the state folder."""
    env = os.environ if environ is None else environ
    url = (given or "").strip() or env.get(ENV_VAR, "").strip() or (configured or "").strip()
    if not url:
        return Database(f"sqlite:///{state_dir / DB_FILENAME}", state_dir)
    return Database(url, state_dir)


def mask_password(url: str) -> str:
    """`scheme://user:***@host/...`: a password written in a URL never reaches a message."""
    return re.sub(r"^([A-Za-z0-9+.-]+://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _quote(value: str) -> str:
    """A secret as it may stand inside a URL's user info (`@`, `/`, `:` escaped)."""
    from urllib.parse import quote

    return quote(value, safe="")
