"""Reading the archive: gzip members one by one, each parsed as a WARC record.

Files are walked member by member (one gzip member per record) rather than as one stream,
so each record's offset and length are known exactly, a damaged member is reported and
skipped (the walk resumes at the next intact member), and an incomplete member at the end
of a file, left by an interrupted write, is reported instead of raising.
"""

from __future__ import annotations

import datetime as dt
import io
import mmap
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from monitor.archive.model import ArchiveError, ArchiveRef, Headers, Problem, sha256_label

GZIP_MAGIC = b"\x1f\x8b\x08"
_CHUNK = 1 << 20
ARCHIVE_GLOB = "*.warc.gz"


@dataclass(frozen=True)
class Member:
    """One intact gzip member: where it is and what it inflates to."""

    offset: int
    length: int
    data: bytes


@dataclass(frozen=True)
class Damage:
    """Bytes that are not an intact gzip member."""

    offset: int
    length: int
    truncated: bool  # True: the file ends inside this member
    detail: str


@dataclass(frozen=True)
class WarcRecord:
    """One parsed WARC record with its exact block bytes."""

    record_type: str
    record_id: str
    target_uri: str
    date: str
    warc_headers: Headers
    block: bytes  # the record's content block (HTTP message for request/response)
    payload: bytes  # the block after the HTTP headers (the body), else the block
    http_status: int | None
    http_headers: Headers

    def header(self, name: str) -> str | None:
        """The first WARC header of that name (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.warc_headers if k.lower() == lowered), None)

    def http_header(self, name: str) -> str | None:
        """The first HTTP header of that name (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.http_headers if k.lower() == lowered), None)

    def digest_problems(self) -> list[str]:
        """Each stored digest header that does not match the bytes (empty when all match)."""
        found: list[str] = []
        for name, data in (
            ("WARC-Block-Digest", self.block),
            ("WARC-Payload-Digest", self.payload),
        ):
            stored = self.header(name)
            if stored is None or not stored.startswith("sha256:"):
                continue  # only our own digests are checked here; warcio check does the rest
            actual = sha256_label(data)
            if stored.lower() != actual:
                found.append(f"{name} is {stored}, the bytes hash to {actual}")
        return found

    @property
    def fetched_at(self) -> dt.datetime:
        """`WARC-Date` as an aware UTC datetime."""
        return dt.datetime.fromisoformat(self.date.replace("Z", "+00:00"))


def _inflate_member(view: memoryview | bytes, start: int) -> tuple[bytes, int] | Damage:
    """Inflate the gzip member that starts at `start`; (data, member length) or the damage."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pieces: list[bytes] = []
    position = start
    end = len(view)
    try:
        while not inflater.eof:
            if position >= end:
                return Damage(start, end - start, True, "the file ends inside this record")
            chunk = view[position : position + _CHUNK]
            pieces.append(inflater.decompress(chunk))
            position += len(chunk) - len(inflater.unused_data)
    except zlib.error as error:
        return Damage(start, 0, False, f"not a readable gzip member ({error})")
    return b"".join(pieces), position - start


def iter_members(data: memoryview | bytes) -> Iterator[Member | Damage]:
    """Every gzip member of an archive file's bytes, and every damaged stretch between them."""
    position = 0
    end = len(data)
    while position < end:
        result = _inflate_member(data, position)
        if isinstance(result, Damage):
            if result.truncated:
                yield result
                return
            # resume at the next place an intact member starts
            resume = _next_member(data, position + 1)
            yield Damage(position, resume - position, resume >= end, result.detail)
            position = resume
            continue
        inflated, length = result
        yield Member(position, length, inflated)
        position += length


def _next_member(data: memoryview | bytes, start: int) -> int:
    # a memoryview over an mmap or bytes: both of those can search
    raw: bytes | mmap.mmap = data.obj if isinstance(data, memoryview) else data  # type: ignore[assignment]
    position = start
    while True:
        found = raw.find(GZIP_MAGIC, position)
        if found < 0:
            return len(data)
        if not isinstance(_inflate_member(data, found), Damage):
            return found
        position = found + 1


def parse_record(data: bytes) -> WarcRecord:
    """Parse one uncompressed WARC record (raises ArchiveError when it is not one)."""
    head_end = data.find(b"\r\n\r\n")
    if not data.startswith(b"WARC/") or head_end < 0:
        raise ArchiveError("not a WARC record")
    try:
        iterator = ArchiveIterator(io.BytesIO(data), no_record_parse=False, check_digests=False)
        record = next(iter(iterator))
    except Exception as error:  # warcio raises assorted errors on garbage
        raise ArchiveError(f"not a WARC record ({error})") from error
    headers = tuple((str(k), str(v)) for k, v in record.rec_headers.headers)
    length = int(record.rec_headers.get_header("Content-Length") or 0)
    block = data[head_end + 4 : head_end + 4 + length]
    if len(block) != length:
        raise ArchiveError(f"the record is {len(block)} bytes, its Content-Length says {length}")
    payload = block
    status: int | None = None
    http_headers: Headers = ()
    content_type = (record.rec_headers.get_header("Content-Type") or "").lower()
    if record.http_headers is not None and content_type.startswith("application/http"):
        split = block.find(b"\r\n\r\n")
        payload = block[split + 4 :] if split >= 0 else b""
        http_headers = tuple((str(k), str(v)) for k, v in record.http_headers.headers)
        if record.rec_type == "response":
            code = record.http_headers.get_statuscode()
            status = int(code) if code and code.isdigit() else None
    return WarcRecord(
        record_type=record.rec_type,
        record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
        target_uri=record.rec_headers.get_header("WARC-Target-URI") or "",
        date=record.rec_headers.get_header("WARC-Date") or "",
        warc_headers=headers,
        block=block,
        payload=payload,
        http_status=status,
        http_headers=http_headers,
    )


@dataclass(frozen=True)
class ScannedRecord:
    """A record found by `scan_file`: where it is and what it holds."""

    file: str
    offset: int
    length: int
    record: WarcRecord


def scan_file(path: Path) -> Iterator[ScannedRecord | Problem]:
    """Every record of one archive file, and a Problem for each damaged or incomplete part."""
    name = path.name
    with path.open("rb") as handle:
        size = path.stat().st_size
        if size == 0:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                for item in iter_members(view):
                    if isinstance(item, Damage):
                        kind = "truncated" if item.truncated else "corrupt"
                        yield Problem(name, item.offset, kind, item.detail)
                        continue
                    try:
                        record = parse_record(item.data)
                    except ArchiveError as error:
                        yield Problem(name, item.offset, "corrupt", str(error))
                        continue
                    yield ScannedRecord(name, item.offset, item.length, record)
            finally:
                view.release()


def archive_files(folder: Path) -> list[Path]:
    """The archive's WARC files, oldest first (names sort by day, then sequence)."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(ARCHIVE_GLOB))


def read_span(folder: Path, ref: ArchiveRef) -> bytes:
    """The exact bytes of a version's records (ArchiveError when the file cannot give them)."""
    path = folder / ref.file
    if "/" in ref.file or "\\" in ref.file or ref.file.startswith("."):
        raise ArchiveError(f"{ref.file}: not an archive file name")
    try:
        with path.open("rb") as handle:
            handle.seek(ref.offset)
            data = handle.read(ref.length)
    except OSError as error:
        raise ArchiveError(f"{path}: {error.strerror or error}") from error
    if len(data) != ref.length:
        raise ArchiveError(f"{path}: ends at {ref.offset + len(data)}, before the record's end")
    return data


def read_version(folder: Path, ref: ArchiveRef) -> tuple[WarcRecord, ...]:
    """The parsed records of one archived version (ArchiveError naming the damage)."""
    data = read_span(folder, ref)
    records: list[WarcRecord] = []
    for item in iter_members(data):
        if isinstance(item, Damage):
            raise ArchiveError(f"{ref.file} @ {ref.offset + item.offset}: {item.detail}")
        records.append(parse_record(item.data))
    return tuple(records)


def read_response(folder: Path, ref: ArchiveRef) -> WarcRecord:
    """The response record (the page as fetched) of one archived version."""
    for record in read_version(folder, ref):
        if record.record_type == "response":
            if record.header("WARC-Payload-Digest") != ref.digest:
                raise ArchiveError(
                    f"{ref.file} @ {ref.offset}: the response's digest is not the one recorded"
                )
            problems = record.digest_problems()
            if problems:
                raise ArchiveError(f"{ref.file} @ {ref.offset}: {problems[0]}")
            return record
    raise ArchiveError(f"{ref.file} @ {ref.offset}: no response record there")
