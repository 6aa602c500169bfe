"""The WARC archive, read back by real readers: warcio's CLI, pywb replay, and `verify`."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LoopbackServer

from monitor.archive import (
    ArchivedVersion,
    ArchiveRef,
    ArchiveWriter,
    HttpExchange,
    VersionInfo,
    archive_files,
    export,
    read_response,
    read_version,
    sha256_label,
    verify,
)
from monitor.archive.reader import ScannedRecord, scan_file

BIN = Path(sys.executable).parent
FIRST = dt.datetime(2026, 11, 20, 9, 0, 0, 123456, tzinfo=dt.UTC)
SECOND = dt.datetime(2026, 11, 21, 14, 30, 5, tzinfo=dt.UTC)


def page(words: str) -> bytes:
    return (
        "<!doctype html><html><head><title>Joint statement</title>"
        "<script>document.title = 'ran'</script></head><body><article>"
        f"<h1>Joint statement</h1><p>{words}</p></article></body></html>"
    ).encode()


def fetch(server: LoopbackServer, path: str, at: dt.datetime) -> HttpExchange:
    """A real loopback fetch turned into the exchange the monitor would archive."""
    response = httpx.get(server.url(path), headers={"User-Agent": "statement-monitor/test"})
    return HttpExchange(
        url=str(response.url),
        status=response.status_code,
        reason=response.reason_phrase,
        http_version=response.http_version,
        response_headers=tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw
        ),
        request_headers=tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.request.headers.raw
        ),
        body=response.content,
        fetched_at=at,
        ip_address="127.0.0.1",
    )


def archive_two_versions(
    server: LoopbackServer, folder: Path
) -> tuple[list[ArchivedVersion], list[HttpExchange]]:
    writer = ArchiveWriter(folder)
    written, exchanges = [], []
    for number, (words, at) in enumerate(
        [("We will cut emissions by 50%.", FIRST), ("We may cut emissions by 40%.", SECOND)],
        start=1,
    ):
        server.page("/statement", page(words))
        exchange = fetch(server, "/statement", at)
        info = VersionInfo(
            text_sha256=sha256_label(words.encode())[7:],
            version=number,
            snapshot_id=10 + number,
            source="newsroom",
            statement_url=exchange.url,
            title="Joint statement",
        )
        written.append(writer.write(exchange, info))
        exchanges.append(exchange)
    return written, exchanges


def run_warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "warcio"), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_two_versions_export_is_accepted_by_warcio_check_and_index(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    versions, exchanges = archive_two_versions(http_server, tmp_path / "archive")
    out = tmp_path / "evidence.warc.gz"

    result = export(tmp_path / "archive", [v.ref for v in versions], out)

    assert result.versions == 2 and result.records == 6  # 2 × (response, request, metadata)
    checked = run_warcio("check", "-v", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("digest pass") == 7  # and the export's own warcinfo
    indexed = run_warcio("index", "-f", "warc-type,warc-target-uri,warc-date", str(out))
    rows = [json.loads(line) for line in indexed.stdout.splitlines()]
    responses = [r for r in rows if r["warc-type"] == "response"]
    assert [r["warc-target-uri"] for r in responses] == [exchanges[0].url] * 2
    assert [r["warc-date"] for r in responses] == [
        "2026-11-20T09:00:00.123456Z",
        "2026-11-21T14:30:05Z",
    ]
    cdxj = Path(result.cdxj).read_text().splitlines()
    assert Path(result.cdxj) == tmp_path / "evidence.cdxj"
    assert [line.split(" ")[1] for line in cdxj] == ["20261120090000", "20261121143005"]
    assert cdxj == sorted(cdxj)
    # the daily archive file itself is a valid WARC too
    daily = archive_files(tmp_path / "archive")
    assert [p.name for p in daily] == [versions[0].ref.file]
    assert run_warcio("check", str(daily[0])).returncode == 0


def test_records_hold_the_exact_exchange_and_link_the_version(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    folder = tmp_path / "archive"
    versions, exchanges = archive_two_versions(http_server, folder)

    records = read_version(folder, versions[1].ref)

    by_type = {r.record_type: r for r in records}
    assert sorted(by_type) == ["metadata", "request", "response"]
    response, request, meta = by_type["response"], by_type["request"], by_type["metadata"]
    assert response.payload == exchanges[1].body
    assert response.http_status == 200
    assert response.http_header("Content-Type") == "text/html; charset=utf-8"
    assert response.header("WARC-Payload-Digest") == sha256_label(exchanges[1].body)
    assert response.header("WARC-IP-Address") == "127.0.0.1"
    assert request.block.startswith(b"GET /statement HTTP/1.1\r\n")
    assert b"User-Agent: statement-monitor/test\r\n" in request.block
    assert request.header("WARC-Concurrent-To") == response.record_id
    assert meta.header("WARC-Concurrent-To") == response.record_id
    fields = dict(line.split(": ", 1) for line in meta.payload.decode().splitlines())
    assert fields["snapshot-id"] == "12" and fields["version"] == "2"
    assert fields["text-sha256"] == sha256_label(b"We may cut emissions by 40%.")[7:]
    assert read_response(folder, versions[1].ref).payload == page("We may cut emissions by 40%.")


def test_a_hostile_title_cannot_add_metadata_fields(tmp_path: Path) -> None:
    exchange = HttpExchange(
        url="https://example.org/s",
        status=200,
        response_headers=(("Content-Type", "text/html"),),
        body=b"<p>x</p>",
        fetched_at=FIRST,
    )
    info = VersionInfo(text_sha256="ab", version=1, title="Title\r\nversion: 99\r\n")
    written = ArchiveWriter(tmp_path).write(exchange, info)

    meta = next(r for r in read_version(tmp_path, written.ref) if r.record_type == "metadata")
    lines = meta.payload.decode().splitlines()
    assert [line for line in lines if line.startswith("version")] == ["version: 1"]
    assert "title: Title version: 99" in lines


def test_a_decoded_body_keeps_its_encoding_headers_under_other_names(tmp_path: Path) -> None:
    body = b"<p>Statement</p>"
    exchange = HttpExchange(
        url="https://example.org/s",
        status=200,
        response_headers=(
            ("Content-Type", "text/html"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(gzip.compress(body)))),
            ("Transfer-Encoding", "chunked"),
        ),
        body=body,
        body_decoded=True,
        fetched_at=FIRST,
    )
    written = ArchiveWriter(tmp_path).write(exchange, VersionInfo(text_sha256="ab"))

    response = read_response(tmp_path, written.ref)
    names = [k for k, _ in response.http_headers]
    assert "Content-Encoding" not in names and "Transfer-Encoding" not in names
    assert response.http_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert response.http_header("Content-Length") == str(len(body))
    assert response.payload == body


def test_rendered_dom_is_a_resource_record(tmp_path: Path) -> None:
    exchange = HttpExchange(
        url="https://example.org/s",
        status=200,
        response_headers=(("Content-Type", "text/html"),),
        body=b"<div id=app></div>",
        fetched_at=FIRST,
    )
    dom = "<html><body><div id=app><p>Rendered statement</p></div></body></html>"
    written = ArchiveWriter(tmp_path).write(exchange, VersionInfo(text_sha256="ab"), dom)

    resource = next(r for r in read_version(tmp_path, written.ref) if r.record_type == "resource")
    assert resource.payload == dom.encode()
    assert resource.target_uri == "urn:rendered-dom:https://example.org/s"
    assert resource.header("WARC-Concurrent-To") == written.response.record_id


def test_files_rotate_by_size_and_by_utc_day(tmp_path: Path) -> None:
    today = [dt.datetime(2026, 12, 3, 23, 59, tzinfo=dt.UTC)]
    writer = ArchiveWriter(tmp_path, max_file_size=6000, clock=lambda: today[0])
    exchange = HttpExchange(
        url="https://example.org/s",
        status=200,
        response_headers=(("Content-Type", "text/html"),),
        body=os.urandom(1500),  # incompressible: each version takes ~2.7 kB, two fit in 6 kB
        fetched_at=FIRST,
    )
    names = [writer.write(exchange, VersionInfo(text_sha256="ab")).ref.file for _ in range(3)]
    today[0] = dt.datetime(2026, 12, 4, 0, 0, 1, tzinfo=dt.UTC)
    names.append(writer.write(exchange, VersionInfo(text_sha256="ab")).ref.file)

    assert names == [
        "monitor-20261203-001.warc.gz",
        "monitor-20261203-001.warc.gz",
        "monitor-20261203-002.warc.gz",
        "monitor-20261204-001.warc.gz",
    ]
    assert all(p.stat().st_size <= 6000 for p in archive_files(tmp_path))
    # every file starts with its own warcinfo record
    for path in archive_files(tmp_path):
        first = next(iter(scan_file(path)))
        assert isinstance(first, ScannedRecord) and first.record.record_type == "warcinfo"


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


def _rewrite_response(path: Path, ref: ArchiveRef, old: bytes, new: bytes, headers: bool) -> None:
    """Replace the response member (a version's first record) with one saying `new`."""
    data = path.read_bytes()
    member = next(
        m for m in scan_file(path) if isinstance(m, ScannedRecord) and m.offset == ref.offset
    )
    start, end = ref.offset, ref.offset + member.length
    raw = gzip.decompress(data[start:end])
    edited = raw.replace(old, new)
    if headers:  # a careful tamperer also fixes the record's own digests
        block = raw.split(b"\r\n\r\n", 1)[1][:-4]
        new_block = edited.split(b"\r\n\r\n", 1)[1][:-4]
        for before, after in ((old, new), (block, new_block)):
            edited = edited.replace(sha256_label(before).encode(), sha256_label(after).encode())
    path.write_bytes(data[:start] + gzip.compress(edited) + data[end:])


@pytest.mark.parametrize(
    "damage, kind",
    [
        ("flip a byte inside the compressed response", "corrupt"),
        ("change the body, keep the record's digests", "digest"),
        ("change the body and rewrite the record's digests", "mismatch"),
    ],
)
def test_verify_names_the_damaged_record(
    http_server: LoopbackServer, tmp_path: Path, damage: str, kind: str
) -> None:
    folder = tmp_path / "archive"
    versions, exchanges = archive_two_versions(http_server, folder)
    assert verify(folder, [v.ref for v in versions]).ok
    target = versions[1].ref  # the file's last version: nothing after it moves
    path = folder / target.file
    old, new = exchanges[1].body, exchanges[1].body.replace(b"40%", b"30%")
    if kind == "corrupt":
        _flip_byte(path, target.offset + versions[1].response.length // 2)
    else:
        # a tamperer who re-gzips: the gzip layer is intact, only the hashes can tell
        _rewrite_response(path, target, old, new, headers=kind == "mismatch")

    report = verify(folder, [v.ref for v in versions])

    assert not report.ok
    errors = [p for p in report.problems if p.severity == "error"]
    assert {p.kind for p in errors} == {kind}
    assert errors[0].file == target.file
    assert errors[0].offset == target.offset
    assert errors[0].target_uri == exchanges[1].url
    assert target.file in str(errors[0]) and str(target.offset) in str(errors[0])
    # the other version is still fine and readable
    assert read_response(folder, versions[0].ref).payload == exchanges[0].body


def test_a_truncated_tail_is_reported_and_the_rest_stays_readable(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    folder = tmp_path / "archive"
    versions, exchanges = archive_two_versions(http_server, folder)
    path = folder / versions[1].ref.file
    # as if killed while appending the second version's response record
    os.truncate(path, versions[1].ref.offset + versions[1].response.length // 2)

    report = verify(folder, [versions[0].ref])

    assert report.ok  # the interrupted version was never committed to the database
    assert [(p.kind, p.severity, p.offset) for p in report.problems] == [
        ("truncated", "warning", versions[1].ref.offset)
    ]
    assert read_response(folder, versions[0].ref).payload == exchanges[0].body
    # had the database recorded it, the same damage is an error naming the record
    committed = verify(folder, [v.ref for v in versions])
    assert not committed.ok
    assert committed.problems[0].target_uri == exchanges[1].url
    # the next write never lands after the damage: it starts the next file
    again = ArchiveWriter(folder).write(exchanges[1], VersionInfo(text_sha256="ab"))
    assert again.ref.file != versions[1].ref.file
    assert read_response(folder, again.ref).payload == exchanges[1].body


CHILD = textwrap.dedent(
    """
    import datetime as dt, os, sys, time
    import monitor.archive.writer as writer_module
    from monitor.archive import ArchiveWriter, HttpExchange, VersionInfo

    def slow_disk(fd, data):  # 64 kB at a time, announced, so the kill lands mid-write
        print("writing", flush=True)
        for start in range(0, len(data), 65536):
            os.write(fd, data[start : start + 65536])
            time.sleep(0.002)

    writer_module._write_all = slow_disk
    writer = ArchiveWriter(sys.argv[1])
    body = os.urandom(4 * 1024 * 1024)  # incompressible: 64 pieces per write
    for n in range(1, 100):
        exchange = HttpExchange(url=f"https://example.org/{n}", status=200,
            response_headers=(("Content-Type", "application/octet-stream"),),
            body=body, fetched_at=dt.datetime.now(dt.UTC))
        ref = writer.write(exchange, VersionInfo(text_sha256="ab", version=n)).ref
        print(ref.file, ref.offset, ref.length, ref.digest, ref.target_uri, flush=True)
    """
)


@pytest.mark.slow
def test_kill_9_during_a_write_leaves_a_readable_archive(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert child.stdout is not None
    lines: list[str] = []
    while len(lines) < 3:  # three versions written (the warcinfo write comes first)
        line = child.stdout.readline().strip()
        if line != "writing":
            lines.append(line)
    assert child.stdout.readline().strip() == "writing"  # the fourth has begun
    time.sleep(0.03)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    refs = []
    for line in lines:
        name, offset, length, digest, uri = line.split(" ")
        refs.append(ArchiveRef(name, int(offset), int(length), digest, uri))

    report = verify(folder, refs)

    assert report.ok, [str(p) for p in report.problems]
    assert [(p.kind, p.severity) for p in report.problems] == [("truncated", "warning")]
    assert report.problems[0].offset == refs[-1].offset + refs[-1].length
    assert all(read_response(folder, ref).target_uri == ref.target_uri for ref in refs)
    # the next run writes to a fresh file and the archive reads through
    exchange = HttpExchange(
        url="https://example.org/after",
        status=200,
        response_headers=(("Content-Type", "text/plain"),),
        body=b"after the crash",
        fetched_at=SECOND,
    )
    after = ArchiveWriter(folder).write(exchange, VersionInfo(text_sha256="ab")).ref
    assert after.file != refs[-1].file
    assert read_response(folder, after).payload == b"after the crash"
    assert verify(folder, [*refs, after]).ok


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pywb(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """pywb's `wayback` on 127.0.0.1 serving the collection `evidence` from `tmp_path/pywb`."""
    home = tmp_path / "pywb"
    home.mkdir()
    port = _free_port()
    (home / "config.yaml").write_text(
        "collections:\n"
        "  evidence:\n"
        f"    index_paths: {home / 'evidence.cdxj'}\n"
        f"    archive_paths: {home}/\n"
    )
    process = subprocess.Popen(
        [str(BIN / "wayback"), "-b", "127.0.0.1", "-p", str(port)],
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("pywb did not start") from None
                time.sleep(0.2)
        yield base, home
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_pywb_replays_each_version_at_its_url_and_timestamp(
    http_server: LoopbackServer, tmp_path: Path, pywb: tuple[str, Path]
) -> None:
    base, home = pywb
    versions, exchanges = archive_two_versions(http_server, tmp_path / "archive")
    export(tmp_path / "archive", [v.ref for v in versions], home / "evidence.warc.gz")
    url = exchanges[0].url

    for stamp, exchange in [("20261120090000", exchanges[0]), ("20261121143005", exchanges[1])]:
        original = httpx.get(f"{base}/evidence/{stamp}id_/{url}")
        assert original.status_code == 200
        assert original.content == exchange.body  # byte for byte, as fetched
        # mp_: the replayed page itself, rewritten for the archive (not pywb's frame)
        replayed = httpx.get(f"{base}/evidence/{stamp}mp_/{url}")
        assert replayed.status_code == 200
        words = exchange.body.split(b"<p>")[1].split(b"</p>")[0].decode()
        assert words in replayed.text
    # a later timestamp replays the version in force then: the second one
    latest = httpx.get(f"{base}/evidence/20261225000000id_/{url}", follow_redirects=True)
    assert b"40%" in latest.content
    listing = httpx.get(f"{base}/evidence/cdx", params={"url": url, "output": "json"})
    assert [json.loads(line)["timestamp"] for line in listing.text.splitlines()] == [
        "20261120090000",
        "20261121143005",
    ]


# One small page, as the tests of two writers sharing a folder append it.
PLAIN_EXCHANGE = HttpExchange(
    url="https://example.org/s",
    status=200,
    response_headers=(("Content-Type", "text/plain"),),
    body=b"the statement",
    fetched_at=FIRST,
)


def test_a_writer_appends_after_another_process_whole_record_larger_than_its_first_look(
    tmp_path: Path,
) -> None:
    # The other process's last record (a rendered DOM that does not compress) is larger than
    # the stretch of the file's end read first: the look back widens until it holds it.
    exchange = PLAIN_EXCHANGE
    daemon, cron_job = ArchiveWriter(tmp_path), ArchiveWriter(tmp_path)
    first = daemon.write(exchange, VersionInfo(text_sha256="ab")).ref
    rendered = os.urandom(600 * 1024)
    large = cron_job.write(exchange, VersionInfo(text_sha256="cd"), rendered_dom=rendered)
    assert large.records[-1].length > 512 * 1024

    after = daemon.write(exchange, VersionInfo(text_sha256="ef")).ref

    assert after.file == first.file  # the tail was whole: no new file
    assert verify(tmp_path, [first, large.ref, after]).ok


def test_a_writer_never_appends_after_another_process_torn_record(tmp_path: Path) -> None:
    exchange = PLAIN_EXCHANGE
    daemon, cron_job = ArchiveWriter(tmp_path), ArchiveWriter(tmp_path)
    first = daemon.write(exchange, VersionInfo(text_sha256="ab")).ref
    killed = cron_job.write(exchange, VersionInfo(text_sha256="cd")).ref
    assert killed.file == first.file  # both append to the day's file, under a lock
    os.truncate(tmp_path / killed.file, killed.offset + killed.length - 10)  # died mid-record

    after = daemon.write(exchange, VersionInfo(text_sha256="ef")).ref

    assert after.file != first.file
    report = verify(tmp_path, [first, after])
    assert report.ok
    assert [p.kind for p in report.problems] == ["truncated"]  # the torn record, at the end
    assert killed.offset <= report.problems[0].offset < killed.offset + killed.length
