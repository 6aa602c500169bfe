"""A pathological page is bounded work: at most MAX_PARAGRAPHS paragraphs are extracted,
stored, compared and shown, a huge paragraph pair is not word-diffed, and one too long to
compare by characters is compared by its sentences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import LoopbackServer, check_json, run_cli, source_table, write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel

from monitor import diff, meaning
from monitor.meaning import explain

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


_SENTENCES = [f"Sentence {i} of one very long paragraph says thing number {i}." for i in range(20)]
_ONE_WORD_EACH = " ".join(s.replace("says", "states") for s in _SENTENCES)
_REWRITTEN = " ".join(f"Rewritten {i}: other words entirely here." for i in range(20))
_ONE_SENTENCE = " ".join(
    "Rewritten: other words." if i == 3 else s for i, s in enumerate(_SENTENCES)
)

# (the new paragraph, the limit on cells, how the pair is shown). At 100 cells the pair is
# compared along its sentences; at 500,000 along its words (about 160,000 cells, estimated
# from its spaces; its characters 1,437,601).
LONG_PARAGRAPHS = [
    (_ONE_SENTENCE, 100, ["modified"]),  # most sentences kept: the same paragraph, edited
    (_REWRITTEN, 100, ["removed", "added"]),  # nothing kept: replaced
    (_ONE_WORD_EACH, 100, ["removed", "added"]),  # every sentence touched: none kept whole
    (_ONE_WORD_EACH, 500_000, ["modified"]),  # along its words: one word in each sentence
]


@pytest.mark.parametrize(("new", "limit", "ops"), LONG_PARAGRAPHS)
def test_a_paragraph_too_long_to_compare_by_characters_is_compared_by_its_words_or_sentences(
    monkeypatch: pytest.MonkeyPatch, new: str, limit: int, ops: list[str]
) -> None:
    # A paragraph may be as long as a page: by characters, 240 KB edited throughout took
    # 2.3 s, megabytes minutes. Past MAX_EXACT_SIMILARITY_CELLS its similarity is measured
    # along its words (or, past as many words, its sentences), which never says more alike
    # than its characters do.
    old = " ".join(_SENTENCES)
    exact = diff.compare(old, new)
    monkeypatch.setattr(diff, "MAX_EXACT_SIMILARITY_CELLS", limit)
    coarse = diff.compare(old, new)
    assert [c.op for c in coarse.changes] == ops
    assert coarse.similarity <= exact.similarity


def test_a_sentence_is_looked_for_only_in_a_paragraph_of_bounded_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two sentences merged into one: found in the new paragraph, so no sentence is gone.
    # Past _MAX_LOOKED_IN characters the paragraph is not searched (a megabyte paragraph
    # edited throughout took minutes): the sentence is then reported gone.
    before = "We will build the new plant in Oslo next year. We will hire two hundred engineers."
    after = "We will build the new plant in Oslo next year and we will hire two hundred engineers."
    assert explain(before, after) == ()
    monkeypatch.setattr(meaning, "_MAX_LOOKED_IN", 10)
    assert "sentence_removed" in [f.kind for f in explain(before, after)]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab. !?\n", max_size=60),
    st.text(alphabet="ab. !?\n", max_size=60),
    st.sampled_from(["sentences", "words"]),
)
def test_a_distance_along_words_or_sentences_is_never_less_than_by_characters(
    a: str, b: str, along: str
) -> None:
    """So a similarity measured along words or sentences is never overstated."""
    limit = diff.MAX_EXACT_SIMILARITY_CELLS
    # 0: every pair along its sentences; its words' cells: along its words where those are
    # fewer than its characters
    words = len(diff.tokenize(a)) * len(diff.tokenize(b))
    diff.MAX_EXACT_SIMILARITY_CELLS = 0 if along == "sentences" else words
    try:
        assert diff._pair_distance(a, b) >= Indel.distance(a, b)
    finally:
        diff.MAX_EXACT_SIMILARITY_CELLS = limit
