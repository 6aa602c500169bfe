"""Evidence: every fetched version kept as WARC records (ISO 28500), verifiable and exportable.

`ArchiveWriter.write` appends one version's records and returns where they are (the
database keeps `ArchivedVersion.ref`); `verify` re-hashes the archive against those refs;
`export` writes selected versions as a WARC with a CDXJ index that pywb replays;
`read_response` gives back the page as fetched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# The module each name comes from, imported at the name's first use: the reader and the
# writer load warcio, which neither the model's users nor `monitor archive --help` need.
_HOMES = {
    "cdxj_path": "export",
    "export": "export",
    "ArchivedVersion": "model",
    "ArchiveError": "model",
    "ArchiveRef": "model",
    "ExportResult": "model",
    "HttpExchange": "model",
    "Problem": "model",
    "RecordLocation": "model",
    "VerifyReport": "model",
    "VersionInfo": "model",
    "sha256_label": "model",
    "WarcRecord": "reader",
    "archive_files": "reader",
    "read_response": "reader",
    "read_version": "reader",
    "verify": "verify",
    "ArchiveWriter": "writer",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


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
