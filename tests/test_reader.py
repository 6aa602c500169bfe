"""The reader process of a large `monitor check`: the shards' pages are extracted there, its
errors reach the shard as they were raised, and a check never depends on it being alive."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest
from conftest import LoopbackServer, check_json, source_table, write_config
from pages import PARTNERSHIP, press_release

from monitor.cli import commands, reader
from monitor.cli.reader import ReaderClient, ReaderProcess
from monitor.extract.base import Article, ExtractionError, read_statement

TIMEOUT = 30  # seconds a test waits for an answer: a lost answer fails, never hangs


@pytest.fixture
def client() -> Iterator[ReaderClient]:
    """A shard's client of a reader process of its own."""
    process = ReaderProcess(1)
    connected = ReaderClient(process.connection(0))
    yield connected
    connected.shutdown()
    process.close()


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("cannot travel")
        self.handle = lambda: None  # a lambda cannot be pickled


def raise_unpicklable() -> None:
    raise Unpicklable()


def test_a_page_is_extracted_in_the_reader_process(client):
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


def test_when_the_reader_dies_its_pages_fail_and_later_ones_are_read_in_the_shard(client):

    with pytest.raises(BrokenProcessPool):
        client.submit(os._exit, 1).result(TIMEOUT)  # the reader's end
    assert client.submit(os.getpid).result(TIMEOUT) == os.getpid()


def leave_before_the_answer(process: ReaderProcess) -> None:
    """A shard process that sends a job and ends before it is answered."""
    ReaderClient(process.connection(0)).submit(time.sleep, 0.3)
    time.sleep(0.1)  # sent
    os._exit(0)


def test_a_shard_that_leaves_early_does_not_stop_the_reader_for_the_others():
    process = ReaderProcess(2)
    shard = multiprocessing.get_context("fork").Process(
        target=leave_before_the_answer, args=(process,)
    )
    shard.start()
    process.connection(0).close()  # that end is now the shard's alone
    shard.join()
    staying = ReaderClient(process.connection(1))
    try:
        time.sleep(0.5)  # the reader tried to answer the shard that left

        assert staying.submit(os.getpid).result(TIMEOUT) == process.pid
    finally:
        staying.shutdown()
        process.close()


@pytest.mark.usefixtures("state_database")  # SQLite and PostgreSQL
@pytest.mark.parametrize("reader_alive", [True, False], ids=["reader", "reader-killed"])
def test_a_large_check_reports_every_edit_with_or_without_its_reader(
    http_server: LoopbackServer, tmp_path, monkeypatch, reader_alive
):
    started: list[ReaderProcess] = []

    def start(shards: int) -> ReaderProcess:
        process = ReaderProcess(shards)
        if not reader_alive and process.pid is not None:
            os.kill(process.pid, signal.SIGKILL)
        started.append(process)
        return process

    monkeypatch.setattr(commands, "shard_count", lambda _sources: 2)  # whatever the cores
    monkeypatch.setattr(reader, "start_reader", start)
    sources = 20
    config = write_config(
        tmp_path, "".join(source_table(f"s{i}", http_server.url(f"/s/{i}")) for i in range(sources))
    )
    for i in range(sources):
        http_server.page(f"/s/{i}", press_release(f"Statement {i}", PARTNERSHIP))
    assert check_json(config, tmp_path / "state")[0] == 0
    edited = [PARTNERSHIP[0].replace("multi-year", "two-year"), *PARTNERSHIP[1:]]
    for i in (2, 11, 19):
        http_server.page(f"/s/{i}", press_release(f"Statement {i}", edited))

    code, events = check_json(config, tmp_path / "state")

    assert len(started) == 2  # a reader for each of the two checks
    assert code == 0
    assert sorted((e["event"], e["source"]) for e in events) == [
        ("changed", "s11"),
        ("changed", "s19"),
        ("changed", "s2"),
    ]
    assert all("two-year" in str(e["changes"]) for e in events)
