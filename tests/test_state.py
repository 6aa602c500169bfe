"""The state folder: created when missing, refused clearly when unusable, never half-written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pages import PARTNERSHIP, press_release

from monitor.clock import utcnow
from monitor.events import Event
from monitor.fetch import Validators
from monitor.state.migrations import HEAD
from monitor.state.records import Fetched, NewSnapshot, NewVersion, SourceUpdate
from monitor.state.store import Store, StoreError


def test_missing_state_folder_is_created(tmp_path):
    store = Store.open(tmp_path / "deep" / "state")
    assert (tmp_path / "deep" / "state" / "monitor.db").exists()
    assert store.schema_revision == HEAD


def test_state_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create the state folder"):
        Store.open(tmp_path / "file" / "state")


def _make_read_only(paths: list[Path]) -> list[Path]:
    """Make files and folders unwritable, even for root; returns what to undo.

    Root ignores permission bits, so as root the folders are made immutable (`chattr +i`)
    instead of running the monitor as another user: that user could not read a checkout
    in a private folder (a clone under `mktemp -d`), and the test would fail for that.
    """
    if os.geteuid() != 0:
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return []
    subprocess.run(["chattr", "+i", *map(str, paths)], check=True)
    return paths


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("chattr"), reason="needs chattr as root")
def test_read_only_state_folder_gives_a_clear_message(http_server, tmp_path):
    url = http_server.page("/s", press_release("T", PARTNERSHIP))
    config = tmp_path / "sources.toml"
    config.write_text(f'[[sources]]\nname = "a"\nurl = "{url}"\n')
    state = tmp_path / "state"
    Store.open(state).close()
    before = sorted(p.name for p in state.iterdir())
    frozen = _make_read_only([state, *state.iterdir()])
    try:
        command = [sys.executable, "-m", "monitor", "check", "--config", str(config)]
        result = subprocess.run(
            [*command, "--state", str(state)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, result.stderr
        assert "not writable" in result.stderr
        assert "Traceback" not in result.stderr
        assert sorted(p.name for p in state.iterdir()) == before
    finally:
        if frozen:
            subprocess.run(["chattr", "-i", *map(str, frozen)], check=True)
        for path in [state, *state.iterdir()]:
            path.chmod(0o755)


def test_a_failed_write_leaves_no_half_version(tmp_path):
    store = Store.open(tmp_path)
    snap = NewSnapshot(title="T", text="a", normalized="a", content_hash="h1", raw=b"<p>a</p>")
    first = NewVersion(
        "http://x/",
        snap,
        base_version=0,
        fetched=Fetched(Validators(), "h1"),
        events=[Event("baseline", "s", "http://x/", version=1)],
    )
    store.save_check(SourceUpdate("s", "http://x/", "page", utcnow(), statements=[first]))
    # The second write fails after its snapshot row is written (a crash while writing the
    # event): the snapshot and statement updates must roll back with it.
    broken = NewVersion(
        "http://x/",
        NewSnapshot(title="T", text="b", normalized="b", content_hash="h2"),
        base_version=1,
        fetched=Fetched(Validators(), "h2"),
        events=[Event("changed", "s", "http://x/", version=2)],
    )

    class Boom(Exception):
        pass

    original = store._add_event

    def failing_add_event(*args, **kwargs):
        raise Boom

    store._add_event = failing_add_event  # type: ignore[method-assign]
    with pytest.raises(Boom):
        store.save_check(SourceUpdate("s", "http://x/", "page", utcnow(), statements=[broken]))
    store._add_event = original  # type: ignore[method-assign]
    statement = store.statements()[0]
    assert statement.version == 1 and statement.content_hash == "h1"
    assert [s.version for s in store.snapshots(statement.id)] == [1]
    assert store.raw_page(statement.id, 1) == "<p>a</p>"


def test_two_runs_that_saw_the_same_edit_record_it_once(tmp_path):
    """An overlapping cron job and the daemon may both check a statement: one version, one
    event, one alert."""
    store = Store.open(tmp_path)

    def check(text: str, base: int, kind: str) -> SourceUpdate:
        snap = NewSnapshot(title="T", text=text, normalized=text, content_hash=text)
        item = NewVersion(
            "http://x/",
            snap,
            base_version=base,
            fetched=Fetched(Validators(), text),
            events=[Event(kind, "s", "http://x/", version=base + 1)],
        )
        return SourceUpdate("s", "http://x/", "page", utcnow(), statements=[item], notifiers=["n"])

    store.save_check(check("a", 0, "baseline"))
    store.save_check(check("b", 1, "changed"))  # the first run to finish
    store.save_check(check("b", 1, "changed"))  # the other one, compared with version 1 too
    statement = store.statements()[0]
    assert [s.version for s in store.snapshots(statement.id)] == [1, 2]
    assert [e.kind for e in store.events()] == ["changed", "baseline"]
    assert len(store.outbox()) == 1
