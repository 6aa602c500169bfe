"""A state with real versions for the web UI tests, built once per session by `monitor check`.

Pages are served on 127.0.0.1 and edited between checks, exactly as a user's newsroom would
be, so the UI is tested on what the real pipeline stores:

- `corp`: one statement in 3 versions (a word and a paragraph removed; then a paragraph
  moved, one modified and one added);
- `hostile`: a statement whose title and text hold `<script>`, `<img onerror>` and
  attribute-breaking quotes, edited once (they appear in modified, added, removed text);
- `broken`: a source whose page answers 500 (an error on the dashboard).

Import the fixtures into a test module with `from ui_support import ui_state  # noqa: F401`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import LoopbackServer, serving
from pages import PARTNERSHIP, press_release

from monitor.cli.main import main
from monitor.diff import normalize
from monitor.sources.config import Config, load_config
from monitor.state.records import NewSnapshot
from monitor.state.store import Store

CORP_TITLE = "Example Corp and Sample Industries announce research partnership"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
QUOTES = "\"'><b>"
HOSTILE_TITLE = f"Statement {SCRIPT} {IMG} {QUOTES} bold?"
HOSTILE_V1 = [
    f"The board said {SCRIPT} was never part of the plan, in a statement released today.",
    f"Images such as {IMG} were removed from the press kit before publication.",
    f"Quotes like {QUOTES} must stay text and never become markup in any review page.",
    "A calm paragraph that stays the same in every version of this statement.",
]
HOSTILE_V2 = [
    f"The board said {SCRIPT} was never part of the final plan, in a statement released today.",
    f"Quotes like {QUOTES} must stay text and never become markup in any review page.",
    "A calm paragraph that stays the same in every version of this statement.",
    f"An added paragraph with {IMG} and {SCRIPT} and {QUOTES} in it.",
]

CORP_V2 = [
    PARTNERSHIP[0],
    PARTNERSHIP[1].replace("an independent review board", "a review board"),
    *PARTNERSHIP[2:4],
]  # a word removed in ¶2, the last paragraph removed
CORP_V3 = [
    CORP_V2[0],
    CORP_V2[2],  # moved up
    CORP_V2[1],
    CORP_V2[3].replace("spring of 2027", "autumn of 2027"),
    "Example Corp will publish a yearly report on the research the partnership supports.",
]


@dataclass(frozen=True)
class UiState:
    """Where the test state is, and the URLs of its statements."""

    config_path: Path
    state_dir: Path
    corp_url: str
    hostile_url: str
    broken_url: str

    def store(self) -> Store:
        return Store.open(self.state_dir)

    def config(self) -> Config:
        return load_config(self.config_path)


@pytest.fixture(scope="session")
def loopback() -> Iterator[LoopbackServer]:
    """A session-wide loopback HTTP server (the conftest one is per test)."""
    with serving() as server:
        yield server


def _check(config: Path, state: Path) -> None:
    result = CliRunner().invoke(
        main, ["check", "--config", str(config), "--state", str(state)], catch_exceptions=False
    )
    assert result.exit_code in (0, 1), result.output  # 1: the broken source failed


@pytest.fixture(scope="session")
def ui_state(loopback: LoopbackServer, tmp_path_factory: pytest.TempPathFactory) -> UiState:
    """The state described in the module docstring, built by three `monitor check` runs."""
    root = tmp_path_factory.mktemp("ui")
    corp = loopback.page("/news/partnership", press_release(CORP_TITLE, PARTNERSHIP))
    hostile = loopback.page("/news/hostile", press_release(HOSTILE_TITLE, HOSTILE_V1))
    broken = loopback.page("/news/broken", "<h1>Internal error</h1>", status=500)
    config = root / "sources.toml"
    config.write_text(
        '[defaults]\ntimeout = "2s"\nretries = 0\ninterval = "1h"\n'
        f'[[sources]]\nname = "corp"\nurl = "{corp}"\nkind = "page"\n'
        f'[[sources]]\nname = "hostile"\nurl = "{hostile}"\nkind = "page"\n'
        f'[[sources]]\nname = "broken"\nurl = "{broken}"\nkind = "page"\n',
        encoding="utf-8",
    )
    state = root / "state"
    _check(config, state)
    loopback.page("/news/partnership", press_release(CORP_TITLE, CORP_V2))
    loopback.page("/news/hostile", press_release(HOSTILE_TITLE, HOSTILE_V2))
    _check(config, state)
    loopback.page("/news/partnership", press_release(CORP_TITLE, CORP_V3))
    _check(config, state)
    return UiState(config, state, corp, hostile, broken)


class AsgiClient:
    """Requests to an ASGI app in process, through httpx's ASGITransport, synchronously."""

    def __init__(
        self, app: Any, base_url: str = "http://testserver", *, raise_errors: bool = True
    ) -> None:
        self.app = app
        self.base_url = base_url
        self.raise_errors = raise_errors  # False: answer as a server would, with a 500

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=self.raise_errors)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)


def snapshot(title: str, text: str) -> NewSnapshot:
    """A version to store directly, for states the pipeline would not produce easily."""
    return NewSnapshot(title=title, text=text, normalized=normalize(text))


def config_of(*sources: dict[str, str], public_url: str | None = None) -> Config:
    """A validated configuration from plain source tables."""
    defaults = {"public_url": public_url} if public_url else {}
    return Config.model_validate({"defaults": defaults, "sources": list(sources)})
