"""monitor.meaning: what a change means, walked over the table in meaning_cases.py."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from meaning_cases import CASES, Case, E

from monitor import meaning
from monitor.diff import compare
from monitor.meaning import IMPORTANCE, Finding, _bare, _grown_in_place, describe, explain, locate


def _found(case: Case) -> list[E]:
    findings = explain(case.before, case.after, old_title=case.old_title, new_title=case.new_title)
    return [E(f.kind, f.before, f.after, f.direction) for f in findings]


def _key(e: E) -> tuple[str, str, str, str]:
    return (e.kind, e.before or "", e.after or "", e.direction or "")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case) -> None:
    """Each row of the table gives exactly its expected findings (in any order)."""
    assert sorted(_found(case), key=_key) == sorted(case.expected, key=_key)


def test_table_is_big_and_names_are_unique() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


def test_findings_are_sorted_by_importance_then_document_order() -> None:
    old = (
        "Acme was founded in Oslo.\n\n"
        "Acme will invest $10 billion by 2030 with Globex and Initech.\n\n"
        "We will not close plants. We thank our staff."
    )
    new = (
        "Acme was founded in Bergen.\n\n"
        "Acme may invest $12 billion by 2031 with Globex.\n\n"
        "We will close plants."
    )
    findings = explain(old, new, old_title="Acme invests", new_title="Acme may invest")
    kinds = [f.kind for f in findings]
    assert kinds == [
        "negation",
        "modality",
        "figure",
        "date",
        "sentence_removed",
        "party",
        "party",
        "headline",
    ]
    assert kinds == sorted(kinds, key=IMPORTANCE.index)
    parties = [(f.before, f.after) for f in findings if f.kind == "party"]
    assert parties == [("Oslo", "Bergen"), ("Initech", None)]  # document order within a kind


def test_json_round_trip_and_contract() -> None:
    findings = explain(
        "We will cut costs by 5%. Acme is the exclusive partner.",
        "We may cut costs by 7%. Acme is a partner.",
    )
    assert {f.kind for f in findings} == {"modality", "figure", "exclusivity"}
    for finding in findings:
        data = json.loads(json.dumps(finding.to_json()))
        assert Finding.from_json(data) == finding
        expected = {"kind", "before", "after", "sentence"}
        if finding.kind in ("modality", "exclusivity"):
            expected.add("direction")
        assert set(data) == expected
    modality = next(f for f in findings if f.kind == "modality")
    assert modality.to_json() == {
        "kind": "modality",
        "before": "will",
        "after": "may",
        "sentence": "We may cut costs by 7%.",
        "direction": "weaker",
    }


def test_from_json_refuses_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown finding kind"):
        Finding.from_json({"kind": "vibe", "before": None, "after": None, "sentence": "x"})


def test_describe_reads_as_one_line() -> None:
    (finding,) = explain("We will cut emissions.", "We may cut emissions.")
    assert describe(finding) == '"will" → "may" (weaker commitment)'
    assert describe(finding, short=True) == '"will" → "may"'
    (removed,) = explain("We act. We will also fund schools.", "We act.")
    assert describe(removed) == 'sentence removed: "We will also fund schools."'
    (party,) = explain("Signed by Japan and Canada.", "Signed by Japan.")
    assert describe(party) == '"Canada" removed (name)'
    (negation,) = explain("We will not raise prices.", "We will raise prices.")
    assert describe(negation) == '"will not" → "will" (negation removed)'


def test_reuses_a_given_comparison_and_locates_findings() -> None:
    old = "Intro stays.\n\nWe will cut emissions.\n\nOutro stays."
    new = "Intro stays.\n\nWe may cut emissions.\n\nOutro stays."
    comparison = compare(old, new)
    (finding,) = explain(old, new, comparison=comparison)
    assert finding.kind == "modality"
    assert locate(finding, comparison.changes) == 0
    assert comparison.changes[0].after == "We may cut emissions."


def test_headline_from_a_title_change_in_the_comparison() -> None:
    from dataclasses import replace

    from monitor.diff import title_change

    comparison = compare("Same body.", "Same body.")
    headline = title_change("Old title", "New title")
    assert headline is not None
    comparison = replace(comparison, changes=(headline,))
    (finding,) = explain("Same body.", "Same body.", comparison=comparison)
    assert (finding.kind, finding.before, finding.after) == ("headline", "Old title", "New title")
    assert locate(finding, comparison.changes) == 0


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "Der Vorstand wird die Dividende nicht erhöhen.",
            "Der Vorstand wird die Dividende erhöhen.",
        ),
        ("Le conseil ne versera pas de dividende.", "Le conseil versera un dividende."),
        (
            "Совет директоров не будет платить дивиденды.",
            "Совет директоров будет платить дивиденды.",
        ),
        ("董事会不会派发股息。", "董事会会派发股息。"),
        ("مجلس الإدارة لن يدفع أرباحًا.", "مجلس الإدارة سيدفع أرباحًا."),
    ],
)
def test_other_languages_give_no_english_findings(before: str, after: str) -> None:
    """Non-English text never breaks and gets no English-rule findings (negation, names...)."""
    findings = explain(before, after)
    assert {f.kind for f in findings} <= {
        "figure",
        "date",
        "quote",
        "sentence_removed",
        "sentence_added",
    }


def test_other_languages_keep_figures_and_dates() -> None:
    findings = explain(
        "La société investira 500 millions d'euros en 2025.",
        "La société investira 450 millions d'euros en 2026.",
    )
    assert {(f.kind, f.before, f.after) for f in findings} == {
        ("figure", "500 millions", "450 millions"),
        ("date", "2025", "2026"),
    }


def test_identical_texts_and_empty_sides() -> None:
    assert explain("Same.", "Same.") == ()
    assert explain("", "") == ()
    (added,) = explain("", "A brand new statement.")
    assert added.kind == "sentence_added"


_PIECES = [*"aAbBzZ019 .,;:!?-'\"“”«»()$€%\n", "will ", "not ", "May ", "Acme ", " 2025", "ä", "億"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT, _TEXT, _TEXT)
def test_any_text_gives_well_formed_findings(old: str, new: str, title: str) -> None:
    """Hostile or odd text never breaks explain, and every finding survives a round trip."""
    findings = explain(old, new, old_title=title, new_title=title + "x")
    assert [f.kind for f in findings] == sorted((f.kind for f in findings), key=IMPORTANCE.index)
    for finding in findings:
        assert Finding.from_json(json.loads(json.dumps(finding.to_json()))) == finding
        assert describe(finding)
        assert (finding.direction is not None) == (finding.kind in ("modality", "exclusivity"))


def _grown_in_place_one_pair_at_a_time(
    removed: list[str], added: list[str], paired_old: set[int], paired_new: set[int]
) -> list[tuple[int, int]]:
    """The heading rule as it reads: every pair tried, in order."""
    pairs: list[tuple[int, int]] = []
    for i, a in enumerate(removed):
        for j, b in enumerate(added):
            if i in paired_old or j in paired_new or any(i == p or j == q for p, q in pairs):
                continue
            short, long = sorted((_bare(a), _bare(b)), key=len)
            if short and len(short) >= 0.3 * len(long) and short in long:
                pairs.append((i, j))
    return pairs


_SENTENCE = st.lists(st.sampled_from(["out", "look", " and", " guide", ".", "\0", "A"]), max_size=5)
_SENTENCES = st.lists(_SENTENCE.map("".join), max_size=8)


@settings(max_examples=300, deadline=None)
@given(_SENTENCES, _SENTENCES, st.sets(st.integers(0, 7)), st.sets(st.integers(0, 7)))
def test_sentences_grown_in_place_pair_as_when_every_pair_was_tried(
    removed: list[str], added: list[str], paired_old: set[int], paired_new: set[int]
) -> None:
    """A heading grown or cut in place ("Outlook" → "Outlook and Guidance") is found by
    searching each sentence in all the others at once (a rewritten statement has a million
    pairs); it pairs as when each pair was tried in order, around those paired already."""
    found = _grown_in_place(removed, added, paired_old, paired_new)
    assert found == _grown_in_place_one_pair_at_a_time(removed, added, paired_old, paired_new)


def test_a_statement_rewritten_past_the_search_limit_reports_every_sentence(monkeypatch):
    # Past _MAX_SEARCHED characters (a rewrite of several hundred KB) the heading rule gives
    # up, as the pairing of similar sentences does past 2,500 pairs: a heading grown in
    # place is then a sentence gone and a sentence new, like every other one.
    before, after = "Outlook\n\nWe expect growth.", "Outlook and Guidance\n\nWe expect growth."
    assert explain(before, after) == ()
    monkeypatch.setattr(meaning, "_MAX_SEARCHED", 10)
    found = [(f.kind, f.before, f.after) for f in explain(before, after)]
    assert found == [
        ("sentence_removed", "Outlook", None),
        ("sentence_added", None, "Outlook and Guidance"),
    ]
