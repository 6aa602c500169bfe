"""The extraction process of a large `monitor check`: the shards' changed pages are extracted
there, its errors reach the shard as they were raised, and a check never depends on it being
alive."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from conftest import LoopbackServer, check_json, source_table, write_config
from pages import PARTNERSHIP, PARTNERSHIP_EDITED, Noise, press_release

from monitor import diff, meaning
from monitor.check import pipeline
from monitor.check.pipeline import MOSTLY_CHANGED_AFTER, CheckContext, CheckResult, check_source
from monitor.cli import commands, extraction
from monitor.cli.extraction import ExtractionClient, ExtractionProcess
from monitor.extract.base import Article, ExtractionError, read_statement
from monitor.fetch.mock import MockFetcher, html_page
from monitor.sources.config import parse_config

TIMEOUT = 30  # seconds a test waits for an answer: a lost answer fails, never hangs
SOURCES = 20  # of a large check: two shards of 10


@pytest.fixture
def client() -> Iterator[ExtractionClient]:
    """A shard's client of an extraction process of its own."""
    process = ExtractionProcess(1)
    connected = ExtractionClient(process.connection(0))
    yield connected
    connected.shutdown()
    process.close()


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("cannot travel")
        self.handle = lambda: None  # a lambda cannot be pickled


def raise_unpicklable() -> None:
    raise Unpicklable()


def test_a_page_is_extracted_in_the_extraction_process(client):
    page = press_release("Joint statement", PARTNERSHIP)

    assert client.submit(os.getpid).result(TIMEOUT) != os.getpid()
    article, learned = client.submit(read_statement, page, "http://127.0.0.1/s", None, ()).result(
        TIMEOUT
    )

    assert isinstance(article, Article)
    assert article.title == "Joint statement"
    assert PARTNERSHIP[0] in article.text
    assert learned is not None and learned[0].startswith("css2:")


def test_an_extraction_error_reaches_the_shard_with_its_type(client):
    future = client.submit(read_statement, "<html><body></body></html>", "http://x/", None, ())

    with pytest.raises(ExtractionError, match="no statement text"):
        future.result(TIMEOUT)


def test_an_error_that_cannot_be_sent_back_is_still_answered(client):

    with pytest.raises(RuntimeError, match="could not send back"):
        client.submit(raise_unpicklable).result(TIMEOUT)
    assert client.submit(os.getpid).result(TIMEOUT) != os.getpid()  # and it goes on


def test_a_job_only_the_shard_can_run_runs_in_the_shard(client):
    pid = os.getpid()

    assert client.submit(lambda: os.getpid()).result(TIMEOUT) == pid


def test_when_the_process_dies_its_pages_fail_and_later_ones_are_extracted_in_the_shard(client):

    with pytest.raises(BrokenProcessPool):
        client.submit(os._exit, 1).result(TIMEOUT)  # the process's end
    assert client.submit(os.getpid).result(TIMEOUT) == os.getpid()


def leave_before_the_answer(process: ExtractionProcess) -> None:
    """A shard process that sends a job and ends before it is answered."""
    ExtractionClient(process.connection(0)).submit(time.sleep, 0.3)
    time.sleep(0.1)  # sent
    os._exit(0)


def test_a_shard_that_leaves_early_does_not_stop_the_process_for_the_others():
    process = ExtractionProcess(2)
    shard = multiprocessing.get_context("fork").Process(
        target=leave_before_the_answer, args=(process,)
    )
    shard.start()
    process.connection(0).close()  # that end is now the shard's alone
    shard.join()
    staying = ExtractionClient(process.connection(1))
    try:
        time.sleep(0.5)  # the process tried to answer the shard that left

        assert staying.submit(os.getpid).result(TIMEOUT) == process.pid
    finally:
        staying.shutdown()
        process.close()


class Recording(ThreadPoolExecutor):
    """An executor that remembers what it was given."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.given: list[Callable[..., Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.given.append(fn)
        return super().submit(fn, *args, **kwargs)


async def edited_between_checks(
    store: Any, tmp_path: Path, **context: Recording
) -> tuple[CheckResult, CheckResult]:
    """Two checks of a statement through one run (its `CheckContext` given `context`'s
    executors, which are shut down after), the statement edited in between."""
    config = parse_config(
        '[[sources]]\nname = "corp"\nurl = "https://news.example.org/s"\n',
        tmp_path / "sources.toml",
        {},
    )
    body = {"now": PARTNERSHIP}
    fetcher = MockFetcher(lambda request: html_page(request.url, press_release("S", body["now"])))
    ctx = CheckContext(config, store, fetcher, **context)
    first = await check_source(config.sources[0], ctx)
    body["now"] = PARTNERSHIP_EDITED
    second = await check_source(config.sources[0], ctx)
    for executor in context.values():
        executor.shutdown()
    return first, second


async def test_a_new_statement_is_extracted_in_place_and_a_changed_one_in_the_process(
    store: Any, tmp_path
):
    extraction = Recording()
    first, second = await edited_between_checks(store, tmp_path, extraction=extraction)

    assert [e.event for e in first.events] == ["baseline"]
    assert [e.event for e in second.events] == ["changed"]
    assert len(extraction.given) == 1  # the changed page only


class FailingToExplain(Recording):
    """An executor whose worker dies while it explains an edit."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if getattr(fn, "func", None) is meaning.explain:
            self.given.append(fn)
            failed: Future[Any] = Future()
            failed.set_exception(BrokenProcessPool("the worker died"))
            return failed
        return super().submit(fn, *args, **kwargs)


async def test_an_edit_is_compared_and_explained_in_the_runs_executor(store: Any, tmp_path):
    # The daemon's workers: a statement rewritten wholesale takes tenths of a second to
    # compare and explain, which its event loop must not wait for.
    executor = Recording()
    _, second = await edited_between_checks(store, tmp_path, executor=executor)
    (event,) = second.events

    assert event.event == "changed" and event.changes
    given = [getattr(fn, "func", fn) for fn in executor.given]
    assert diff.compare in given and meaning.explain in given


async def test_an_edit_whose_explaining_fails_is_reported_without_findings(store: Any, tmp_path):
    executor = FailingToExplain()
    _, second = await edited_between_checks(store, tmp_path, executor=executor)
    (event,) = second.events

    assert meaning.explain in [getattr(fn, "func", fn) for fn in executor.given]
    assert event.event == "changed" and event.changes and event.meaning == ()


# (statements edited among the 40 pages of a second check, pages extracted in the process):
# every changed page while few change; once most of the pages compared so far changed (a
# template change), the rest are extracted in place.
ROUTING = [
    (3, 3),
    (40, MOSTLY_CHANGED_AFTER - 1),
]


@pytest.mark.parametrize(("edited", "sent"), ROUTING, ids=["few-edits", "every-page-edited"])
async def test_changed_pages_go_to_the_process_unless_most_pages_changed(
    store: Any, tmp_path, edited, sent
):
    urls = [f"https://news.example.org/s/{i}" for i in range(40)]
    config = parse_config(
        "".join(f'[[sources]]\nname = "s{i}"\nurl = "{url}"\n' for i, url in enumerate(urls)),
        tmp_path / "sources.toml",
        {},
    )
    state = {"cycle": 0}

    def page(request: Any) -> Any:
        number = urls.index(request.url)
        body = PARTNERSHIP_EDITED if state["cycle"] and number < edited else PARTNERSHIP
        # every page's bytes change between the checks (a view counter): each is compared
        noise = Noise(views=1000 + state["cycle"])
        return html_page(request.url, press_release(f"S{number}", body, noise))

    first_ctx = CheckContext(config, store, MockFetcher(page))
    for source in config.sources:
        await check_source(source, first_ctx)
    state["cycle"] = 1
    extraction = Recording()
    ctx = CheckContext(config, store, MockFetcher(page), extraction=extraction)
    results = [await check_source(source, ctx) for source in config.sources]
    extraction.shutdown()

    assert sum(e.event == "changed" for r in results for e in r.events) == edited
    assert len(extraction.given) == sent


def checked_once(
    http_server: LoopbackServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start: Callable[[int], ExtractionProcess],
) -> Path:
    """The configuration of a large check of `SOURCES` pages in two shards, whose extraction
    processes `start` starts, after its first check (every statement known)."""
    monkeypatch.setattr(commands, "shard_count", lambda _sources: 2)  # whatever the cores
    monkeypatch.setattr(extraction, "start_extraction", start)
    config = write_config(
        tmp_path, "".join(source_table(f"s{i}", http_server.url(f"/s/{i}")) for i in range(SOURCES))
    )
    for i in range(SOURCES):
        http_server.page(f"/s/{i}", press_release(f"Statement {i}", PARTNERSHIP))
    assert check_json(config, tmp_path / "state")[0] == 0
    return config


@pytest.mark.usefixtures("state_database")  # SQLite and PostgreSQL
@pytest.mark.parametrize("alive", [True, False], ids=["extraction", "extraction-killed"])
def test_a_large_check_reports_every_edit_with_or_without_its_extraction_process(
    http_server: LoopbackServer, tmp_path, monkeypatch, alive
):
    started: list[ExtractionProcess] = []

    def start(shards: int) -> ExtractionProcess:
        process = ExtractionProcess(shards)
        if not alive and process.pid is not None:
            os.kill(process.pid, signal.SIGKILL)
        started.append(process)
        return process

    config = checked_once(http_server, tmp_path, monkeypatch, start)
    for i in (2, 11, 19):
        http_server.page(f"/s/{i}", press_release(f"Statement {i}", PARTNERSHIP_EDITED))

    code, events = check_json(config, tmp_path / "state")

    assert len(started) == 2  # one for each of the two checks
    assert code == 0
    assert sorted((e["event"], e["source"]) for e in events) == [
        ("changed", "s11"),
        ("changed", "s19"),
        ("changed", "s2"),
    ]
    assert all("two-year" in str(e["changes"]) for e in events)


def read_and_note(*args: Any) -> Any:
    """`read_statement`, noting the id of the process that ran it (picklable: module level)."""
    with open(os.environ["EXTRACTED_IN"], "a") as notes:
        notes.write(f"{os.getpid()}\n")
    return read_statement(*args)


def test_a_template_change_across_a_large_check_is_extracted_in_the_shards_too(
    http_server: LoopbackServer, tmp_path, monkeypatch
):
    started: list[ExtractionProcess] = []

    def start(shards: int) -> ExtractionProcess:
        started.append(ExtractionProcess(shards))
        return started[-1]

    notes = tmp_path / "extracted-in.txt"
    monkeypatch.setenv("EXTRACTED_IN", str(notes))
    monkeypatch.setattr(pipeline, "read_statement", read_and_note)
    monkeypatch.setattr(pipeline, "MOSTLY_CHANGED_AFTER", 4)  # 10 pages in each shard
    config = checked_once(http_server, tmp_path, monkeypatch, start)
    for i in range(SOURCES):  # a template change: every page, and every statement
        page = press_release(f"Statement {i}", PARTNERSHIP_EDITED, Noise(views=7))
        http_server.page(f"/s/{i}", page)
    notes.unlink()

    code, events = check_json(config, tmp_path / "state")

    assert code == 0
    assert sorted(e["source"] for e in events if e["event"] == "changed") == sorted(
        f"s{i}" for i in range(SOURCES)
    )
    extracted_in = notes.read_text().split()
    assert len(extracted_in) == SOURCES
    in_the_process = extracted_in.count(str(started[-1].pid))
    assert 0 < in_the_process < SOURCES  # the first pages there, the rest in the shards
