"""A pathological page is bounded work: at most MAX_PARAGRAPHS paragraphs are extracted,
stored, compared and shown, and a huge paragraph pair is not word-diffed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import LoopbackServer, check_json, run_cli, source_table, write_config

from monitor import diff

CAP = 40


def _page(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<html><head><title>Many paragraphs</title></head><body><article>"
        f"<h1>Many paragraphs</h1>{body}</article></body></html>"
    )


def _paragraphs(count: int, first: str = "first") -> list[str]:
    return [f"Paragraph {i} of the statement says {first if i == 0 else 'thing'} number {i}."
            for i in range(count)]  # fmt: skip


def test_a_page_of_too_many_paragraphs_is_cut_and_its_edits_still_found(
    http_server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diff, "MAX_PARAGRAPHS", CAP)
    url = http_server.page("/s", _page(_paragraphs(CAP * 5)))
    config = write_config(tmp_path, source_table("many", url))
    state = tmp_path / "state"
    code, events = check_json(config, state)
    assert code == 0 and [e["event"] for e in events] == ["baseline"]
    shown = json.loads(run_cli("show", "--state", str(state), "--format", "json", url).stdout)
    assert len(diff.split_paragraphs(shown["text"])) == CAP
    assert f"number {CAP - 1}." in shown["text"] and f"number {CAP}." not in shown["text"]

    # An edit beyond the cap is no change; one inside it is.
    http_server.page("/s", _page([*_paragraphs(CAP * 5)[:-1], "A new last paragraph."]))
    assert [e["event"] for e in check_json(config, state)[1]] == []
    http_server.page("/s", _page(_paragraphs(CAP * 5, first="edited")))
    code, events = check_json(config, state)
    assert [e["event"] for e in events] == ["changed"]
    assert len(events[0]["changes"]) == 1


def test_compare_reads_at_most_max_paragraphs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff, "MAX_PARAGRAPHS", CAP)
    old = "\n\n".join(_paragraphs(CAP * 3))
    new = "\n\n".join(f"changed {p}" for p in _paragraphs(CAP * 3))
    comparison = diff.compare(old, new)
    assert len(comparison.changes) == CAP
    assert diff.cap_paragraphs(old) == ("\n\n".join(_paragraphs(CAP)), CAP * 2)
    assert diff.cap_paragraphs("a\n\nb") == ("a\n\nb", 0)


def test_a_huge_paragraph_pair_is_shown_replaced_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff, "MAX_WORD_CELLS", 100)
    old, new = "word " * 30, "word " * 29 + "other"
    edits = diff.word_edits(old, new)
    assert [e.op for e in edits] == ["delete", "insert"]
    assert edits[0].text == old and edits[1].text == new
