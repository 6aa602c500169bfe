"""Comparing statement versions: what people notice, and properties that must always hold."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel

from monitor.diff import (
    Change,
    Comparison,
    WordEdit,
    apply_changes,
    compare,
    normalize,
    split_paragraphs,
    tokenize,
    word_edits,
)

STATEMENT = """\
Acme Corp today announced that it will acquire Widget Inc for $1,250 million.

The transaction is expected to close in the second quarter, subject to regulatory approval.

"We are delighted to welcome the Widget team," said Jane Doe, chief executive of Acme.

Media contact: press@acme.example
"""


def paragraphs(text: str) -> list[str]:
    return split_paragraphs(text)


def edited(text: str, old: str, new: str) -> str:
    assert old in text, "the test edit must apply"
    return text.replace(old, new, 1)


def deleted_and_inserted(change: Change) -> tuple[list[str], list[str]]:
    deleted = [w.text for w in change.words if w.op == "delete"]
    inserted = [w.text for w in change.words if w.op == "insert"]
    return deleted, inserted


# --- examples a user would notice -------------------------------------------------------------


def test_identical_texts_are_unchanged() -> None:
    result = compare(STATEMENT, STATEMENT)
    assert result == Comparison(similarity=1.0, changes=())
    assert result.unchanged


def test_one_word_removed_is_one_modified_paragraph_showing_the_deletion() -> None:
    new = edited(STATEMENT, "it will acquire", "it acquire")
    result = compare(STATEMENT, new)
    assert not result.unchanged
    [change] = result.changes
    assert change.op == "modified"
    assert (change.old_index, change.new_index) == (0, 0)
    assert change.before == paragraphs(STATEMENT)[0]
    assert change.after == paragraphs(new)[0]
    assert deleted_and_inserted(change) == (["will "], [])
    assert 0.99 < result.similarity < 1.0


@pytest.mark.parametrize(
    ("old", "new", "deleted", "inserted"),
    [
        ("$1,250 million", "$1,350 million", ["1,250"], ["1,350"]),  # one digit
        ("the Widget team,", "the Widget team", [","], []),  # a comma removed
        ("second quarter,", "second quarter,,", [], [","]),  # a comma added
        ("Acme Corp today", "ACME Corp today", ["Acme"], ["ACME"]),  # case
        ('"We are', "\u201cWe are", ['"'], ["\u201c"]),  # straight to curly quote
        ("close in the second", "close in the third", ["second"], ["third"]),
    ],
)
def test_every_small_edit_is_reported(
    old: str, new: str, deleted: list[str], inserted: list[str]
) -> None:
    result = compare(STATEMENT, edited(STATEMENT, old, new))
    [change] = result.changes
    assert change.op == "modified"
    assert deleted_and_inserted(change) == (deleted, inserted)


def test_a_rewritten_phrase_reads_as_one_deletion_and_one_insertion() -> None:
    edits = word_edits("the deal closes in May this year.", "the deal may close next spring.")
    assert [w.op for w in edits] == ["equal", "delete", "insert", "equal"]
    assert edits[0] == WordEdit("equal", "the deal ")
    assert edits[-1] == WordEdit("equal", ".")


def test_paragraph_added() -> None:
    new = edited(STATEMENT, "Media contact", "Acme will hold a call at 9am.\n\nMedia contact")
    result = compare(STATEMENT, new)
    assert result.changes == (Change("added", after="Acme will hold a call at 9am.", new_index=3),)


def test_paragraph_removed() -> None:
    para = "The transaction is expected to close in the second quarter, subject to regulatory "
    new = edited(STATEMENT, para + "approval.\n\n", "")
    [change] = compare(STATEMENT, new).changes
    assert change == Change("removed", before=paragraphs(STATEMENT)[1], old_index=1)


def test_paragraph_replaced_by_an_unrelated_one_is_removed_and_added() -> None:
    new = edited(STATEMENT, "Media contact: press@acme.example", "Shares rose 4% in early trading.")
    ops = [c.op for c in compare(STATEMENT, new).changes]
    assert ops == ["removed", "added"]


def test_paragraph_moved() -> None:
    old_paras = paragraphs(STATEMENT)
    new_paras = [old_paras[0], old_paras[2], old_paras[3], old_paras[1]]
    result = compare(STATEMENT, "\n\n".join(new_paras))
    [change] = result.changes
    assert change.op == "moved"
    assert (change.old_index, change.new_index) == (1, 3)
    assert change.before == change.after == old_paras[1]


@pytest.mark.parametrize(
    "variant",
    [
        STATEMENT.replace(" ", "  "),  # doubled spaces
        STATEMENT.replace("\n\n", "\n \t\n\n\n"),  # blank lines with whitespace, more of them
        STATEMENT.replace("\n", "\r\n"),  # Windows line ends
        STATEMENT.replace("Acme Corp", "Acme\u00a0Corp"),  # NBSP
        STATEMENT.replace("acquire", "ac\u00adquire"),  # soft hyphen
        STATEMENT.replace("Widget", "Wid\u200bget"),  # zero-width space
        STATEMENT.replace("Jane", "\ufeffJane"),  # BOM
        STATEMENT.replace("transaction is", "transaction\nis"),  # re-wrapped line
        STATEMENT.replace("$1,250", "\uff041,250"),  # full-width dollar sign (NFKC)
        STATEMENT.replace("Acme Corp", "\uff21\uff43\uff4d\uff45 Corp"),  # full-width letters
        "\n\n\n" + STATEMENT + "\n\n   \n",  # surrounding blank lines
        STATEMENT.replace("\n\n", "\u2029"),  # Unicode paragraph separator
    ],
)
def test_whitespace_and_nfkc_only_differences_are_unchanged(variant: str) -> None:
    assert variant != STATEMENT
    result = compare(STATEMENT, variant)
    assert result.unchanged
    assert result.similarity == 1.0


def test_before_and_after_keep_the_original_display_text() -> None:
    old = "Prices rise\nby 5%\u00a0today.\n\nUnchanged."
    new = "Prices rise\nby 6%\u00a0today.\n\nUnchanged."
    [change] = compare(old, new).changes
    assert change.before == "Prices rise\nby 5%\u00a0today."
    assert change.after == "Prices rise\nby 6%\u00a0today."
    # The words are over the normalised text: one line, plain spaces.
    assert "".join(w.text for w in change.words if w.op != "insert") == "Prices rise by 5% today."


def test_changes_come_in_document_order() -> None:
    old = "One.\n\nTwo stays.\n\nThree.\n\nFour stays.\n\nFive."
    new = "One!\n\nTwo stays.\n\nFour stays.\n\nFive?\n\nSix."
    result = compare(old, new)
    assert [(c.op, c.old_index, c.new_index) for c in result.changes] == [
        ("modified", 0, 0),
        ("removed", 2, None),
        ("modified", 4, 3),
        ("added", None, 4),
    ]


def test_similarity_of_near_identical_10kb_texts_is_high() -> None:
    rng = random.Random(1)
    words = [f"word{n}" for n in range(300)] + ["the", "of", "and", "a", "to"]
    paras = [" ".join(rng.choices(words, k=60)) + "." for _ in range(25)]
    old = "\n\n".join(paras)
    assert 9_000 < len(old) < 20_000
    paras[12] = paras[12].replace(" ", " not ", 1)
    paras[20] = paras[20][:-1] + "!"
    new = "\n\n".join(paras)
    result = compare(old, new)
    assert result.similarity > 0.98
    expected = Indel.normalized_similarity(normalize(old), normalize(new))
    assert result.similarity == pytest.approx(expected)


def test_similarity_is_zero_against_an_empty_text() -> None:
    assert compare("", "Something.").similarity == 0.0
    assert compare("Something.", "").changes == (Change("removed", "Something.", old_index=0),)
    assert compare("", "  \n\n ").unchanged


def test_to_json_matches_the_event_contract() -> None:
    new = edited(STATEMENT, "it will acquire", "it acquire")
    [change] = compare(STATEMENT, new).changes
    assert change.to_json() == {"op": "modified", "before": change.before, "after": change.after}


# --- normalisation ----------------------------------------------------------------------------


def test_normalize_joins_clean_paragraphs_with_blank_lines() -> None:
    text = "  First\tline\n  continues.  \n\n\n\u200b\n\nSecond\u00a0\u00a0one.\r\n"
    assert normalize(text) == "First line continues.\n\nSecond one."
    assert split_paragraphs(text) == ["First\tline\n  continues.", "Second\u00a0\u00a0one."]


def test_normalize_keeps_what_readers_see() -> None:
    text = 'He said: "No," twice; it costs $5.00 (not 6).'
    assert normalize(text) == text
    assert normalize("ＡＢＣ ﬁne \u00bd") == "ABC fine 1\u20442"


def test_tokens_are_words_punctuation_and_spaces() -> None:
    assert tokenize("Hello, world! It's 1,000.50 e-mail") == [
        "Hello",
        ",",
        " ",
        "world",
        "!",
        " ",
        "It's",
        " ",
        "1,000.50",
        " ",
        "e-mail",
    ]
    assert tokenize("今天好") == ["今", "天", "好"]


# --- bounded work -----------------------------------------------------------------------------


def test_many_paragraphs_all_edited_are_all_paired() -> None:
    # Speed is measured by benchmarks/diff.py; an unbounded pairing search would make this
    # test take minutes.
    count = 3000
    old = "\n\n".join(f"Item {i}: the quick brown fox number {i}." for i in range(count))
    new = "\n\n".join(f"Item {i}: the quick red fox number {i}!" for i in range(count))
    result = compare(old, new)
    assert [c.op for c in result.changes] == ["modified"] * count
    assert apply_changes(paragraphs(old), result.changes) == paragraphs(new)


def test_a_100kb_statement_with_ten_edits_gives_ten_changes() -> None:
    rng = random.Random(2)
    words = [f"w{n}" for n in range(2000)]
    paras = [" ".join(rng.choices(words, k=80)) + "." for _ in range(250)]
    old = "\n\n".join(paras)
    assert len(old) > 100_000
    for k in range(0, 250, 25):
        paras[k] = paras[k].replace(" ", " and ", 1)
    new = "\n\n".join(paras)
    result = compare(old, new)  # its time: benchmarks/diff.py
    assert len(result.changes) == 10


# --- properties -------------------------------------------------------------------------------

# Small vocabularies, so that random versions share paragraphs and words and exercise the
# alignment (modified, moved, duplicated paragraphs) rather than being unrelated.
WORDS = st.sampled_from(
    ["the", "fee", "is", "5", "6", "Acme", "acme", ",", ".", '"', "de\u0301j\u00e0"]
)
PARAGRAPH = st.lists(WORDS, min_size=1, max_size=8).map(" ".join)
PARAGRAPHS = st.lists(PARAGRAPH, max_size=12)
MESSY_SPACE = st.sampled_from([" ", "  ", "\u00a0", "\t", "\n", " \u200b"])


def join(paras: list[str]) -> str:
    return "\n\n".join(paras)


def normalized_paragraphs(text: str) -> list[str]:
    return [p for p in normalize(text).split("\n\n") if p]


def assert_rebuilds(old: str, new: str) -> Comparison:
    """The changes, applied to the old paragraphs, give exactly the new ones (normalised)."""
    result = compare(old, new)
    rebuilt = apply_changes(split_paragraphs(old), result.changes)
    assert [normalize(p) for p in rebuilt] == normalized_paragraphs(new)
    return result


@given(st.text())
def test_any_text_compared_with_itself_is_unchanged(text: str) -> None:
    assert compare(text, text) == Comparison(1.0, ())


@given(st.text())
def test_normalize_is_idempotent_and_aligned_with_split_paragraphs(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert [normalize(p) for p in split_paragraphs(text)] == normalized_paragraphs(text)


@given(PARAGRAPHS, st.data())
def test_messy_whitespace_never_counts_as_a_change(paras: list[str], data: st.DataObject) -> None:
    messy = [
        "".join(c if c != " " else data.draw(MESSY_SPACE) for c in p).replace("\n\n", "\n")
        for p in paras
    ]
    assert compare(join(paras), "\n \n".join(messy)).unchanged


@given(st.text())
def test_tokens_rebuild_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


@given(PARAGRAPH, PARAGRAPH)
def test_word_edits_rebuild_both_sides(old: str, new: str) -> None:
    edits = word_edits(old, new)
    assert "".join(w.text for w in edits if w.op != "insert") == old
    assert "".join(w.text for w in edits if w.op != "delete") == new


@given(PARAGRAPHS, PARAGRAPHS)
def test_changes_rebuild_the_new_paragraphs(old: list[str], new: list[str]) -> None:
    result = assert_rebuilds(join(old), join(new))
    differs = normalize(join(old)) != normalize(join(new))
    assert result.unchanged is not differs
    assert 0.0 <= result.similarity <= 1.0
    assert (result.similarity == 1.0) is not differs


@st.composite
def edited_versions(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A paragraph list and an edited copy: paragraphs modified, added, removed, moved."""
    old = draw(PARAGRAPHS)
    new = list(old)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["modify", "add", "remove", "move"]))
        if op == "add" or not new:
            new.insert(draw(st.integers(0, len(new))), draw(PARAGRAPH))
            continue
        k = draw(st.integers(0, len(new) - 1))
        if op == "modify":
            new[k] = new[k] + " " + draw(WORDS)
        elif op == "remove":
            del new[k]
        else:
            new.insert(draw(st.integers(0, len(new) - 1)), new.pop(k))
    return old, new


@given(edited_versions())
def test_edits_are_reported_and_rebuild_the_new_version(versions: tuple[list, list]) -> None:
    old, new = versions
    result = assert_rebuilds(join(old), join(new))
    assert result.unchanged is (old == new)


@given(st.text(), st.text())
def test_changes_rebuild_any_new_text(old: str, new: str) -> None:
    result = assert_rebuilds(old, new)
    assert result.unchanged is (normalize(old) == normalize(new))


@settings(max_examples=50)
@given(edited_versions())
def test_similarity_never_overstates_the_whole_text_figure(versions: tuple[list, list]) -> None:
    old, new = (join(v) for v in versions)
    whole = Indel.normalized_similarity(normalize(old), normalize(new))
    assert compare(old, new).similarity <= whole + 1e-9


def test_apply_changes_refuses_changes_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        apply_changes(["a"], [Change("removed", "x", old_index=3)])
    with pytest.raises(ValueError):
        apply_changes(["a"], [Change("added", after="x", new_index=5)])


def test_a_paragraph_moved_and_edited_is_one_moved_change_with_its_word_edits():
    old = ["Intro stays first.", "The board met on Monday to approve the plan.", "A.", "B."]
    new = ["The board met on Tuesday to approve the plan.", "Intro stays first.", "A.", "B."]
    comparison = compare("\n\n".join(old), "\n\n".join(new))
    (change,) = comparison.changes
    assert change.op == "moved"
    assert (change.before, change.after) == (old[1], new[0])
    assert [(w.op, w.text) for w in change.words if w.op != "equal"] == [
        ("delete", "Monday"),
        ("insert", "Tuesday"),
    ]
    assert apply_changes(old, comparison.changes) == new
