"""Re-hashing the archive and comparing it with the digests the database stored."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from monitor.archive.model import ArchiveRef, Problem, VerifyReport
from monitor.archive.reader import ScannedRecord, archive_files, scan_file


def verify(folder: Path | str, expected: Iterable[ArchiveRef] = ()) -> VerifyReport:
    """Check every record of every archive file in `folder`, and every `expected` version.

    Each record's block and payload are re-hashed against its own digest headers; each
    expected version must still be there, intact, with the response digest the database
    stored. A damaged record, a digest that does not match and a version that cannot be
    found are errors, each naming file, offset and target URI; an incomplete record at the
    end of a file (an interrupted write the database never recorded) is a warning, unless a
    stored version points into it.
    """
    root = Path(folder)
    by_file: dict[str, list[ArchiveRef]] = {}
    for ref in expected:
        by_file.setdefault(ref.file, []).append(ref)
    problems: list[Problem] = []
    records = 0
    checked = sum(len(refs) for refs in by_file.values())
    files = archive_files(root)
    for path in files:
        found: dict[int, ScannedRecord] = {}
        damaged: list[Problem] = []
        for item in scan_file(path):
            if isinstance(item, Problem):
                damaged.append(item)
                continue
            records += 1
            found[item.offset] = item
            for detail in item.record.digest_problems():
                problems.append(
                    Problem(path.name, item.offset, "digest", detail, item.record.target_uri)
                )
        refs = by_file.pop(path.name, [])
        for damage in damaged:
            inside = [r for r in refs if r.offset <= damage.offset < r.offset + r.length]
            uri = inside[0].target_uri if inside else ""
            severity = "warning" if damage.kind == "truncated" and not inside else "error"
            problems.append(
                Problem(damage.file, damage.offset, damage.kind, damage.detail, uri, severity)
            )
        for ref in refs:
            problems.extend(_check_ref(path.name, ref, found, damaged))
    for name, refs in by_file.items():
        for ref in refs:
            problems.append(
                Problem(name, ref.offset, "missing", "the archive file is gone", ref.target_uri)
            )
    return VerifyReport(
        files=len(files),
        records=records,
        checked_refs=checked,
        problems=tuple(sorted(problems, key=lambda p: (p.file, p.offset))),
    )


def _check_ref(
    name: str, ref: ArchiveRef, found: dict[int, ScannedRecord], damaged: list[Problem]
) -> list[Problem]:
    """Problems with one stored version (damage inside it is reported with the file's)."""
    if any(ref.offset <= d.offset < ref.offset + ref.length for d in damaged):
        return []
    inside = [
        item
        for offset, item in found.items()
        if ref.offset <= offset and offset + item.length <= ref.offset + ref.length
    ]
    responses = [item for item in inside if item.record.record_type == "response"]
    if ref.offset not in found or not responses:
        return [
            Problem(
                name, ref.offset, "missing", "no archived response starts there", ref.target_uri
            )
        ]
    response = responses[0]
    stored = response.record.header("WARC-Payload-Digest") or ""
    if stored.lower() != ref.digest.lower():
        return [
            Problem(
                name,
                response.offset,
                "mismatch",
                f"the database recorded {ref.digest}, the record says {stored}",
                response.record.target_uri,
            )
        ]
    return []
