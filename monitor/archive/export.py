"""Exporting selected versions as one WARC file with a CDXJ index beside it.

The records are copied byte for byte (their gzip members as archived), so every digest in
the export is the one written at fetch time. The CDXJ index is the format pywb reads
(`<SURT key> <14-digit timestamp> <JSON>`, sorted), keyed with the Internet Archive's SURT
canonicaliser (the `surt` package, the one pywb itself uses) so lookups by URL match.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from monitor.archive.model import ArchiveError, ArchiveRef, ExportResult
from monitor.archive.reader import Damage, WarcRecord, iter_members, parse_record, read_span
from monitor.archive.writer import warcinfo_record

_INDEXED = ("response", "resource", "revisit")


def cdxj_path(out: Path) -> Path:
    """`FILE.warc.gz` -> `FILE.cdxj` (the index beside the export)."""
    name = out.name
    for suffix in (".warc.gz", ".warc", ".gz"):
        if name.endswith(suffix):
            return out.with_name(name[: -len(suffix)] + ".cdxj")
    return out.with_name(name + ".cdxj")


def cdxj_line(record: WarcRecord, filename: str, offset: int, length: int) -> str:
    """The CDXJ line pywb needs to find and replay one record."""
    moment = record.fetched_at.astimezone(dt.UTC)
    if record.record_type == "resource":
        mime = (record.header("Content-Type") or "").split(";")[0].strip()
    else:
        mime = (record.http_header("Content-Type") or "unk").split(";")[0].strip()
    fields: dict[str, str] = {"url": record.target_uri, "mime": mime or "unk"}
    if record.http_status is not None:
        fields["status"] = str(record.http_status)
    fields |= {
        "digest": record.header("WARC-Payload-Digest") or "",
        "length": str(length),
        "offset": str(offset),
        "filename": filename,
    }
    from surt import surt  # imported here: it loads tldextract and requests (0.2 s)

    key = surt(record.target_uri) if "://" in record.target_uri else record.target_uri
    return f"{key} {moment.strftime('%Y%m%d%H%M%S')} {json.dumps(fields, ensure_ascii=False)}"


def export(folder: Path | str, refs: Iterable[ArchiveRef], out: Path | str) -> ExportResult:
    """Write the versions `refs` point to into `out` (a .warc.gz) and its CDXJ index.

    Each version is checked before it is copied (intact gzip, digests matching); a damaged
    one raises ArchiveError naming file and offset, and nothing is written. Both files are
    replaced atomically.
    """
    root, target = Path(folder), Path(out)
    unique = list(dict.fromkeys(refs))
    chunks: list[bytes] = []
    for ref in unique:
        data = read_span(root, ref)
        _check_span(ref, data)
        chunks.append(data)
    head = _warcinfo(target.name, len(unique))
    lines: list[str] = []
    position = len(head)
    records = 0
    for data in chunks:
        for item in iter_members(data):
            if isinstance(item, Damage):  # checked above; the bytes are in memory
                raise ArchiveError(f"{target}: a record changed while it was exported")
            record = parse_record(item.data)
            records += 1
            if record.record_type in _INDEXED:
                lines.append(cdxj_line(record, target.name, position + item.offset, item.length))
        position += len(data)
    index = cdxj_path(target)
    _replace(target, [head, *chunks])
    _replace(index, ["".join(f"{line}\n" for line in sorted(lines)).encode("utf-8")])
    return ExportResult(warc=str(target), cdxj=str(index), records=records, versions=len(unique))


def _check_span(ref: ArchiveRef, data: bytes) -> None:
    saw_response = False
    for item in iter_members(data):
        if isinstance(item, Damage):
            raise ArchiveError(f"{ref.file} @ {ref.offset + item.offset}: {item.detail}")
        record = parse_record(item.data)
        problems = record.digest_problems()
        if problems:
            raise ArchiveError(f"{ref.file} @ {ref.offset + item.offset}: {problems[0]}")
        if record.record_type == "response":
            saw_response = True
            if (record.header("WARC-Payload-Digest") or "").lower() != ref.digest.lower():
                raise ArchiveError(
                    f"{ref.file} @ {ref.offset + item.offset} ({record.target_uri}): "
                    f"not the digest the database recorded ({ref.digest})"
                )
    if not saw_response:
        raise ArchiveError(f"{ref.file} @ {ref.offset}: no archived response there")


def _warcinfo(name: str, versions: int) -> bytes:
    return warcinfo_record(
        name,
        [
            ("software", "statement-monitor"),
            ("format", "WARC File Format 1.1"),
            ("description", f"Export of {versions} archived fetch(es), records copied unchanged"),
        ],
    )


def _replace(path: Path, parts: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as handle:
            for part in parts:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ArchiveError(f"{path}: cannot write: {error.strerror or error}") from error
