"""A throwaway PostgreSQL server on 127.0.0.1, for the tests and the cluster benchmark.

Debian's `postgresql` package keeps its programs in /usr/lib/postgresql/<version>/bin; the
server is made with initdb in a temporary folder, listens on a free port of 127.0.0.1 only,
trusts local connections, and is removed when stopped. PostgreSQL refuses to run as root,
so as root it runs as `nobody`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "monitor"


class PostgresMissing(RuntimeError):
    """initdb or pg_ctl is not installed (apt-get install postgresql)."""


@dataclass
class PostgresServer:
    """A running server: `url(db)` for SQLAlchemy, `create_database()` for a fresh one."""

    folder: Path
    port: int
    _as_user: list[str]
    _pg_ctl: str
    _names = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def stop(self) -> None:
        subprocess.run(
            [*self._as_user, self._pg_ctl, "-D", str(self.folder / "data"), "-m", "fast", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def empty_database(url: str) -> None:
    """Delete every row of every table of the state (its schema and revision stay)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename != 'alembic_version'"
            )
        ]
        if tables:
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]


def start_postgres(*, durable: bool = False) -> PostgresServer:
    """Start a server; raises PostgresMissing when PostgreSQL is not installed.

    Tests want it fast (no fsync); `durable=True` keeps PostgreSQL's own defaults, for
    benchmarks whose commits should cost what they cost in production.
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    path = os.pathsep.join([*map(str, found), os.environ.get("PATH", "")])
    initdb, pg_ctl = shutil.which("initdb", path=path), shutil.which("pg_ctl", path=path)
    if initdb is None or pg_ctl is None:
        raise PostgresMissing("PostgreSQL is not installed (apt-get install postgresql)")
    # not under pytest's temporary folder: that one is private to the user running pytest
    folder = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "nobody")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", USER, "--no-sync"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # Durability is not what the tests measure: fsync off makes CREATE DATABASE and commits
    # cheap. Enough connections for several daemon nodes and their store threads.
    options = f"-k {folder} -h 127.0.0.1 -p {port} -c max_connections=300"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return PostgresServer(folder, port, as_user, pg_ctl)
