"""The plain data the archive takes and gives back: what was fetched, where it was written."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

Headers = tuple[tuple[str, str], ...]


class ArchiveError(Exception):
    """The archive cannot be written or read; the message names the file (and record)."""


def sha256_label(data: bytes) -> str:
    """The labelled digest stored in `WARC-*-Digest` headers and in the database.

    Hex rather than base32 so the value can be compared with `sha256sum` output; `warcio
    check` and pywb accept any RFC 3548 encoding.
    """
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request and its response, as the fetcher sent and received them.

    `url` is the final URL after redirects (the record's `WARC-Target-URI`); `requested_url`
    the one asked for when it differs. `body` is the entity body as received (de-chunked);
    `body_decoded` says whether its `Content-Encoding` was already undone, in which case the
    encoding headers are kept under `X-Archive-Orig-*` names so replay tools do not try to
    decompress it again.
    """

    url: str
    status: int
    response_headers: Headers
    body: bytes
    fetched_at: dt.datetime
    reason: str = ""
    http_version: str = "HTTP/1.1"
    method: str = "GET"
    request_headers: Headers = ()
    body_decoded: bool = False
    requested_url: str | None = None
    ip_address: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    """What the database knows about the version the exchange produced (metadata record)."""

    text_sha256: str | None = None  # None when the page was not extracted
    version: int | None = None
    snapshot_id: int | None = None
    source: str | None = None
    statement_url: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class RecordLocation:
    """One WARC record in the archive: its gzip member's place and its payload digest."""

    file: str  # file name inside the archive folder
    offset: int
    length: int  # bytes of the gzip member
    record_type: str  # "request", "response", "metadata", "resource", "warcinfo"
    record_id: str
    target_uri: str
    digest: str  # WARC-Payload-Digest (sha256:<hex>)


@dataclass(frozen=True)
class ArchiveRef:
    """What the database keeps for one archived version: the span of its records.

    The records of one version are appended together, so `offset`/`length` cover the
    request, response, metadata (and resource) records; `digest` is the response's
    payload digest and `target_uri` the URL fetched.
    """

    file: str
    offset: int
    length: int
    digest: str
    target_uri: str = ""


@dataclass(frozen=True)
class ArchivedVersion:
    """The records `ArchiveWriter.write` appended for one fetched version."""

    records: tuple[RecordLocation, ...]

    @property
    def response(self) -> RecordLocation:
        """The response record (the page as fetched)."""
        return next(r for r in self.records if r.record_type == "response")

    @property
    def ref(self) -> ArchiveRef:
        """The span of all the records, with the response's digest: the database's copy."""
        first, last = self.records[0], self.records[-1]
        response = self.response
        return ArchiveRef(
            file=first.file,
            offset=first.offset,
            length=last.offset + last.length - first.offset,
            digest=response.digest,
            target_uri=response.target_uri,
        )


@dataclass(frozen=True)
class Problem:
    """Something wrong in the archive, named so a person can find it.

    `severity` is "error" (a record is damaged, missing or does not match the database) or
    "warning" (an incomplete record at the end of a file, left by an interrupted write that
    the database never recorded).
    """

    file: str
    offset: int
    kind: str  # "truncated", "corrupt", "digest", "missing", "mismatch"
    detail: str
    target_uri: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file} @ {self.offset}"
        uri = f" ({self.target_uri})" if self.target_uri else ""
        return f"{self.severity}: {where}{uri}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify`: how much was checked and what is wrong."""

    files: int
    records: int
    checked_refs: int
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when nothing is damaged or mismatched (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)


@dataclass(frozen=True)
class ExportResult:
    """The files `export` wrote and how many records they hold."""

    warc: str
    cdxj: str
    records: int
    versions: int
