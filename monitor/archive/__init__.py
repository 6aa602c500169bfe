"""Evidence: every fetched version kept as WARC records (ISO 28500), verifiable and exportable.

`ArchiveWriter.write` appends one version's records and returns where they are (the
database keeps `ArchivedVersion.ref`); `verify` re-hashes the archive against those refs;
`export` writes selected versions as a WARC with a CDXJ index that pywb replays;
`read_response` gives back the page as fetched.
"""

from monitor.archive.export import cdxj_path, export
from monitor.archive.model import (
    ArchivedVersion,
    ArchiveError,
    ArchiveRef,
    ExportResult,
    HttpExchange,
    Problem,
    RecordLocation,
    VerifyReport,
    VersionInfo,
    sha256_label,
)
from monitor.archive.reader import WarcRecord, archive_files, read_response, read_version
from monitor.archive.verify import verify
from monitor.archive.writer import ArchiveWriter

__all__ = [
    "ArchiveError",
    "ArchiveRef",
    "ArchiveWriter",
    "ArchivedVersion",
    "ExportResult",
    "HttpExchange",
    "Problem",
    "RecordLocation",
    "VerifyReport",
    "VersionInfo",
    "WarcRecord",
    "archive_files",
    "cdxj_path",
    "export",
    "read_response",
    "read_version",
    "sha256_label",
    "verify",
]
