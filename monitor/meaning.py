"""Say what a change means: statement-aware findings from two versions of a statement.

A red/green diff shows where words changed; a finding says what that does to the statement:
a commitment softened ("will" → "may"), a figure changed ("$10 billion" → "$13 billion"), a
"not" that appeared, a partner no longer named, a pledge sentence deleted. Everything here is
rules over the paragraph alignment that `monitor.diff.compare` already made: deterministic,
offline, no model, a millisecond or so for a long statement with a handful of edits.

How findings are made, top to bottom:

1. Each modified (or moved and edited) paragraph is cut into sentences, and its old and new
   sentences are aligned (identical ones first, then similar ones in order). A sentence with
   no counterpart whose words are not found elsewhere in the other version of the paragraph
   (a split or merged sentence is found there) is a whole sentence removed or added; so is
   every sentence of a removed or added paragraph. A sentence removed in one place and added,
   identical or nearly so, in another is not reported whole: it moved.
2. In what remains, each sentence yields typed features (figures, dates, modal phrases,
   negations, exclusive words, names). Features compare by a normalised key, so "$10bn" and
   "$10 billion", "ten" and "10", "5 March" and "March 5" are the same figure or date, and a
   figure that only moved inside the paragraph, or a list that was only reordered, is no
   finding. What is left over is paired, removed against added, inside aligned sentences.
3. Quotations are compared per paragraph (they often span sentences); the headline is the
   title's edit.

Findings are sorted by importance, then in document order. The order, most important first,
and why:

1. `negation`: a "not" added or removed reverses what the sentence says.
2. `modality`: a commitment weakened or strengthened ("will" → "may") is the classic quiet edit.
3. `figure`: amounts, percentages and counts are what readers quote.
4. `date`: a deadline or period moved.
5. `sentence_removed`: a whole sentence gone (the pledge that disappeared).
6. `exclusivity`: "exclusive", "only", "all" dropped or added changes the scope of a claim.
7. `party`: an organisation, person, place or product no longer (or newly) named.
8. `quote`: someone's quoted words were rewritten.
9. `sentence_added`: new text, which the reader sees in the diff anyway.
10. `headline`: the title changed; alerts show the new title already.

Precision matters more than recall: a wrong finding in an alert misleads its reader, so every
rule leans towards saying nothing. English is the target; for other languages (detected by
the share of common English words) only figures, dates, quotes, whole sentences and the
headline are reported, since modal verbs, negations and capitalised names are English rules.
"""

from __future__ import annotations

import bisect
import itertools
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar, cast, get_args

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from monitor.diff import Change, Comparison, compare, normalize, title_change, tokenize

FindingKind = Literal[
    "negation",
    "modality",
    "figure",
    "date",
    "sentence_removed",
    "exclusivity",
    "party",
    "quote",
    "sentence_added",
    "headline",
]
Direction = Literal["weaker", "stronger"]

# Importance order (see the module docstring): findings sort by this, then document order.
# The Literal above lists the kinds in this order.
IMPORTANCE: tuple[FindingKind, ...] = get_args(FindingKind)
_RANK = {kind: rank for rank, kind in enumerate(IMPORTANCE)}
_DIRECTED: frozenset[str] = frozenset({"modality", "exclusivity"})


@dataclass(frozen=True)
class Finding:
    """One thing a change does to the statement's meaning.

    `before`/`after` are the words on each side (None when the thing was added or removed),
    `sentence` the new sentence it is in (the old one when the sentence is gone), `direction`
    whether a modality or exclusivity change makes the statement weaker or stronger.
    """

    kind: FindingKind
    before: str | None
    after: str | None
    sentence: str
    direction: Direction | None = None

    def to_json(self) -> dict[str, Any]:
        """The finding as in the event contract; `direction` only for modality/exclusivity."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "sentence": self.sentence,
        }
        if self.kind in _DIRECTED:
            out["direction"] = self.direction
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        """The finding `to_json` wrote; raises ValueError on an unknown kind or direction."""
        kind = data["kind"]
        if kind not in _RANK:
            raise ValueError(f"unknown finding kind {kind!r}")
        direction = data.get("direction")  # present only for modality and exclusivity
        if direction not in (None, "weaker", "stronger"):
            raise ValueError(f"unknown direction {direction!r}")
        return cls(
            kind=cast(FindingKind, kind),
            before=data["before"],
            after=data["after"],
            sentence=data["sentence"],
            direction=cast("Direction | None", direction),
        )


# --- the public entry points -----------------------------------------------------------------


def explain(
    old_text: str,
    new_text: str,
    *,
    old_title: str | None = None,
    new_title: str | None = None,
    comparison: Comparison | None = None,
) -> tuple[Finding, ...]:
    """The findings of a change from `old_text` to `new_text`, most important first.

    Pass `comparison` when the caller already has `compare(old_text, new_text)` (a title
    change among its changes is used as the headline), and the titles to have a headline
    finding made from them.
    """
    if comparison is None:
        comparison = compare(old_text, new_text)
    changes = comparison.changes
    headline = next((c for c in changes if c.part == "title"), None)
    if headline is None and old_title is not None and new_title is not None:
        headline = title_change(old_title, new_title)
    body = [c for c in changes if c.part == "body"]
    finder = _Finder(old_text, new_text, body)
    findings = finder.run()
    if headline is not None and headline.before is not None and headline.after is not None:
        before, after = normalize(headline.before), normalize(headline.after)
        findings.append(Finding("headline", before, after, after))
    ranked = sorted(enumerate(findings), key=lambda item: (_RANK[item[1].kind], item[0]))
    return tuple(f for _, f in ranked)


def describe(finding: Finding, *, short: bool = False) -> str:
    """One line for people, e.g. `"will" → "may" (weaker commitment)`.

    `short` leaves out the explanation in brackets (for a subject line).
    """
    kind, before, after = finding.kind, finding.before, finding.after
    if kind in ("sentence_removed", "sentence_added"):
        verb = "removed" if kind == "sentence_removed" else "added"
        return f'sentence {verb}: "{_clip(finding.sentence, 60 if short else 140)}"'
    if kind == "quote":
        if before is not None and after is not None:
            old, new = _window(before, after)
            return f'quote changed: "{old}" → "{new}"'
        verb = "removed" if after is None else "added"
        return f'quote {verb}: "{_clip(after or before or "", 80)}"'
    if kind == "headline":
        return f'headline: "{_clip(before or "", 60)}" → "{_clip(after or "", 60)}"'
    words = _pair_text(before, after)
    if short:
        return words
    return f"{words} ({_label(finding)})"


def locate(finding: Finding, changes: Sequence[Change]) -> int | None:
    """The index of the change (paragraph) a finding is about, or None (the headline).

    Links a finding to its place in a rendered diff; found by the finding's sentence, so it
    works on findings read back from JSON.
    """
    return _Places(changes).index(finding)


class _Places:
    """Where findings sit among one comparison's changes, each paragraph normalised once.

    Normalised again for every finding, a rewritten 100 KB statement (2,000 findings over
    550 changed paragraphs) took 1.1 s of its diff page's 2.3 s.
    """

    def __init__(self, changes: Sequence[Change]) -> None:
        self.changes = changes
        self._normalized: dict[tuple[int, str], str | None] = {}

    def index(self, finding: Finding) -> int | None:
        if finding.kind == "headline":
            return next((i for i, c in enumerate(self.changes) if c.part == "title"), None)
        sides = ("before", "after") if finding.kind == "sentence_removed" else ("after", "before")
        for side in sides:
            for i, change in enumerate(self.changes):
                if change.part != "body":
                    continue
                text = self._text(i, side)
                if text is not None and finding.sentence in text:
                    return i
        return None

    def anchor(self, finding: Finding) -> str | None:
        if finding.kind == "headline":
            return HEADLINE_ANCHOR
        index = self.index(finding)
        return None if index is None else paragraph_anchor(self.changes[index])

    def _text(self, i: int, side: str) -> str | None:
        key = (i, side)
        if key not in self._normalized:
            raw = getattr(self.changes[i], side)
            self._normalized[key] = normalize(raw) if raw is not None else None
        return self._normalized[key]


# The id of the headline on the review UI's diff page; each changed paragraph's row there has
# the id `paragraph_anchor(change)`, so alerts and pages can link a finding to its place.
HEADLINE_ANCHOR = "diff-title"


def paragraph_anchor(change: Change) -> str | None:
    """The id of a change's paragraph on a diff page: "p3" (new ¶3), "was-p2" (removed ¶2).

    None when the change does not say where it is (made by hand, not by `compare`).
    """
    if change.part == "title":
        return HEADLINE_ANCHOR
    if change.new_index is not None and change.op != "removed":
        return f"p{change.new_index + 1}"
    if change.old_index is not None:
        return f"was-p{change.old_index + 1}"
    return None


def anchors(findings: Iterable[Finding], changes: Sequence[Change]) -> list[str | None]:
    """The id of each finding's place on a diff page of these changes (None where it is not
    found), the paragraphs normalised once for them all."""
    places = _Places(changes)
    return [places.anchor(finding) for finding in findings]


def links_to_places(
    findings: Sequence[Finding], changes: Sequence[Change], page: str | None
) -> list[str | None]:
    """Each finding's link: the diff `page` at the finding's paragraph (`#` its anchor), or
    the page alone where the place is not found; None for each without a page."""
    if not page:
        return [None] * len(findings)
    return [f"{page}#{place}" if place else page for place in anchors(findings, changes)]


def _pair_text(before: str | None, after: str | None) -> str:
    if before is not None and after is not None:
        return f'"{before}" → "{after}"'
    if before is not None:
        return f'"{before}" removed'
    return f'"{after}" added'


def _label(finding: Finding) -> str:
    if finding.kind == "modality":
        return f"{finding.direction} commitment"
    if finding.kind == "exclusivity":
        return f"{finding.direction} claim"
    if finding.kind == "negation":
        negated_before = finding.before is not None and _NEGATION.search(finding.before)
        return "negation removed" if negated_before else "negation added"
    if finding.kind == "party":
        return "name"
    return finding.kind


def _window(before: str, after: str, context: int = 3) -> tuple[str, str]:
    """The differing middle of two texts with a few words around it, "…" for what is cut."""
    a, b = tokenize(before), tokenize(after)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1

    def cut(tokens: list[str]) -> str:
        lo, hi = start, len(tokens) - end
        words = 0
        while lo > 0 and words < context:  # widen by `context` words on each side
            lo -= 1
            words += not tokens[lo].isspace()
        words = 0
        while hi < len(tokens) and words < context:
            words += not tokens[hi].isspace()
            hi += 1
        text = "".join(tokens[lo:hi]).strip()
        return ("…" if lo > 0 else "") + _clip(text, 80) + ("…" if hi < len(tokens) else "")

    return cut(a), cut(b)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- patterns --------------------------------------------------------------------------------


class _Lazy:
    """A regular expression compiled when first used, so importing this module stays cheap.

    (Every module that handles events imports `Finding`; the date and figure patterns alone
    take tens of milliseconds to compile.)
    """

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source, self._flags = pattern, flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def finditer(
        self, text: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, pos, endpos)

    def findall(self, text: str) -> list[Any]:
        return self.compiled.findall(text)

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(text, pos, endpos)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(text)


def _lazy(pattern: str, flags: int = 0) -> _Lazy:
    return _Lazy(pattern, flags)


# --- sentences -------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    """The words of a space-separated list, in order (long word lists read better so)."""
    return text.split()


def _words(text: str) -> frozenset[str]:
    """The words of a space-separated list, as a set."""
    return frozenset(_split(text))


# Words whose final dot does not end a sentence (lower-cased, without the dot).
_ABBREVIATIONS = _words(
    "mr mrs ms dr prof st sr jr inc ltd corp co no nos vs etc approx dept est fig vol gen gov"
    " sen rep hon rev messrs e.g i.e u.s u.k u.n e.u a.m p.m jan feb mar apr jun jul aug sep"
    " sept oct nov dec ph.d op cf art sec para"
)
# A sentence ends at . ! ? (with closing quotes or brackets) before a space and a capital,
# digit or opening quote; CJK full stops end one wherever they are.
_SENTENCE_END = _lazy(
    r"[.!?]+[\"'”’»)\]]*\s+(?=[\"“‘«(\[]?[A-Z0-9\u00c0-\u00de])|[。！？]+[”』」]?\s*"
)
_WORD_BEFORE = _lazy(r"([\w.]+)$")


def _sentences(paragraph: str) -> list[str]:
    """The sentences of one (normalised) paragraph, stripped."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        if match.group().startswith((".",)) and match.group()[1:2] not in ("'", '"', "”", "’"):
            word = _WORD_BEFORE.search(paragraph, max(0, match.start() - 24), match.start())
            token = word.group(1).lower() if word else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
        end = match.end()
        piece = paragraph[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return out


def _has_words(sentence: str) -> bool:
    """Whether a sentence says anything (not a bare "###" or "-")."""
    return sum(ch.isalnum() for ch in sentence) >= 2


# --- features --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Feature:
    kind: str
    key: Any  # what compares: equal keys are the same figure, date, word or name
    surface: str  # as written
    level: int = 0  # modality strength (1..3) or exclusivity (2 strong, 1 weak)
    plain: str | None = None  # negation: the phrase without it ("will" for "will not")
    tokens: frozenset[str] = frozenset()  # party: the name's words, for "Acme" ⊂ "Acme Corp"
    negated: bool = False  # exclusivity: under a negation ("not exclusive"), which flips it


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        _split(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen"
            " fourteen fifteen sixteen seventeen eighteen nineteen"
        )
    )
}
_NUMBER_WORDS.update(
    {
        w: 10 * i
        for i, w in enumerate(_split("twenty thirty forty fifty sixty seventy eighty ninety"), 2)
    }
)
_SCALES = {
    "hundred": 100,
    "thousand": 1000,
    "k": 1000,
    "million": 10**6,
    "mn": 10**6,
    "mln": 10**6,
    "m": 10**6,
    "billion": 10**9,
    "bn": 10**9,
    "bln": 10**9,
    "b": 10**9,
    "trillion": 10**12,
    "tn": 10**12,
    "trn": 10**12,
    # German and French written scales, so other languages' amounts compare too
    "millionen": 10**6,
    "millions": 10**6,
    "milliarden": 10**9,
    "milliards": 10**9,
    "mio": 10**6,
    "mrd": 10**9,
}
_CURRENCIES = {
    "$": "$",
    "us$": "$",
    "usd": "$",
    "dollars": "$",
    "dollar": "$",
    "€": "€",
    "eur": "€",
    "euro": "€",
    "euros": "€",
    "£": "£",
    "gbp": "£",
    "pounds": "£",
    "¥": "¥",
    "jpy": "¥",
    "yen": "¥",
    "cny": "cny",
    "rmb": "cny",
    "yuan": "cny",
    "₹": "inr",
    "inr": "inr",
    "rupees": "inr",
    "chf": "chf",
    "francs": "chf",
    "a$": "aud",
    "aud": "aud",
    "c$": "cad",
    "cad": "cad",
    "hk$": "hkd",
    "₩": "krw",
}
_UNITS = {
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "prozent": "%",
    "pour cent": "%",
    "percentage point": "pp",
    "percentage points": "pp",
    "pp": "pp",
    "basis points": "bp",
    "basis point": "bp",
    "bps": "bp",
}

# Units of measure a figure keeps ("3 gigawatts", "420-kilometre"), one spelling per key.
_MEASURE_KEYS = {
    "gw": "gw", "gigawatt": "gw", "gigawatts": "gw", "mw": "mw", "megawatt": "mw",
    "megawatts": "mw", "kw": "kw", "kilowatt": "kw", "kilowatts": "kw", "twh": "twh",
    "gwh": "gwh", "mwh": "mwh", "kwh": "kwh", "km": "km", "kilometre": "km", "kilometres": "km",
    "kilometer": "km", "kilometers": "km", "mile": "mile", "miles": "mile", "kg": "kg",
    "kilogram": "kg", "kilograms": "kg", "tonne": "t", "tonnes": "t", "ton": "t", "tons": "t",
    "litre": "l", "litres": "l", "liter": "l", "liters": "l", "barrel": "bbl",
    "barrels": "bbl", "hectare": "ha", "hectares": "ha",
}  # fmt: skip
_MEASURES = "|".join(sorted(_MEASURE_KEYS, key=len, reverse=True))
_WORDNUM = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four"
    r"|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven"
    r"|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
_DIGITS = r"\d{1,3}(?:(?:,\d{3})+|(?:\.\d{3}){2,}|(?: \d{3})+)(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_CURRENCY_BEFORE = r"(?:US\$|A\$|C\$|HK\$|[$€£¥₹₩]|(?:USD|EUR|GBP|JPY|CNY|RMB|INR|CHF|AUD|CAD)\s?)"
# A word character of a script that puts spaces between words: a number glued to one is part
# of a name ("COVID-19", "5G"); next to CJK characters it stands alone ("100億円").
_W = r"[^\W\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]"
_FIGURE = _lazy(
    rf"(?<!{_W})(?<![$€£¥₹₩.,/-])(?P<cur>{_CURRENCY_BEFORE})?"
    rf"(?P<num>{_DIGITS}|(?i:{_WORDNUM}))"
    rf"(?:(?P<hundred>\s(?i:hundred))(?=\s|$|[.,;:)]))?"
    rf"(?:\s?[-–—]\s?(?P<cur2>{_CURRENCY_BEFORE})?(?P<num2>{_DIGITS}))?"
    r"(?P<scale>\s?(?i:thousand|million|billion|trillion|millionen|milliarden|millions|milliards"
    r"|mio\.?|mrd\.?)|(?:bn|mn|mln|bln|tn|trn|[mkb])(?![\w]))?"
    r"(?P<unit>\s?(?:%|(?i:percent|per cent|prozent|pour cent|percentage points?|basis points?)"
    r"|(?:pp|bps)(?!\w))|\s(?i:dollars|euros|pounds|yen|yuan|rupees|francs)(?!\w)"
    rf"|[\s-](?i:{_MEASURES})(?!\w))?"
    rf"(?!{_W}|[%-])"
)

_MONTHS = _split(
    "january february march april may june july august september october november december"
)
_MONTH_NUMBER = {m: i for i, m in enumerate(_MONTHS, 1)}
_MONTH_NUMBER.update(
    {m[:3]: i for i, m in enumerate(_MONTHS, 1)} | {"sept": 9}  # abbreviations
)
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)(?:\.|(?=\s\d)))"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_ORDINAL = r"(?:first|second|third|fourth|1st|2nd|3rd|4th|final|last)"
_WHICH_YEAR = rf"(?:{_YEAR}|the\syear|(?:this|next|last)\syear|fiscal\s{_YEAR})"
_PERIOD_UNIT = r"(?:day|week|month|quarter|year|hour|decade)s?"
# The preposition before a date, read backwards from it (cheaper than an optional group in
# front of every alternative): it is shown, and says whether a date is a deadline or a start.
_PREPOSITION = _lazy(
    r"(?<![\w-])(?i:no later than|by|before|until|till|through|from|since|in|on|after|during"
    r"|as of|starting|beginning|within|over|for)\s+$"
)
_DATE = _lazy(
    rf"(?<!{_W}|[/-])(?P<date>"
    rf"{_YEAR}-\d{{2}}-\d{{2}}"  # ISO
    rf"|\d{{1,2}}[/.]\d{{1,2}}[/.](?:{_YEAR}|\d{{2}})"  # numeric, order as written
    rf"|{_DAY}\s(?:of\s)?{_MONTH}(?:,?\s{_YEAR})?"  # 5 March 2025
    rf"|{_MONTH}\s{_DAY}(?:,?\s{_YEAR})?(?!\d)"  # March 5, 2025
    rf"|{_MONTH}(?:\s{_YEAR})?"  # March 2025, March
    rf"|Q[1-4](?:\s?(?:FY)?\s?'?(?:{_YEAR}|\d{{2}}))?"
    rf"|H[12](?:\s?{_YEAR})?"
    rf"|(?i:(?:the\s)?{_ORDINAL}[\s-]quarter(?:\sof\s{_WHICH_YEAR})?)"
    rf"|(?i:(?:the\s)?(?:first|second)\shalf(?:\sof\s{_WHICH_YEAR})?)"
    rf"|FY\s?'?\d{{2,4}}|(?i:fiscal)(?:\syear)?\s{_YEAR}"
    rf"|{_YEAR}\s?[-–—/]\s?(?:{_YEAR}|\d{{2}})(?!\d)"  # 2024-2026, 2024/25
    rf"|{_YEAR}s?(?![\d,.]\d)"  # a year, a decade (2020s)
    rf"|(?i:(?:{_DIGITS}|{_WORDNUM}|a|an)(?:\s|-)(?:{_PERIOD_UNIT})(?!\w))"  # 30 days
    rf"|(?i:(?:this|next|last|the\scoming|the\snext|the\sfollowing|later\sthis|early\snext"
    rf"|earlier\sthis)\s(?:week|month|quarter|year|spring|summer|autumn|winter))"
    rf"|(?i:year-end|(?:the\s)?end\sof\s(?:the\s)?(?:year|month|quarter|decade))"
    rf"|(?i:(?:the\s)?(?:spring|summer|autumn|fall|winter)(?:\sof)?\s{_YEAR})"
    rf"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    rf"|(?i:quarterly|annually|monthly|weekly|daily|yearly|biannually|semi-annually)"
    rf"|\d{{1,2}}(?::\d{{2}})?\s?(?:a\.m\.|p\.m\.|am|pm)(?!\w)|\d{{1,2}}:\d{{2}}(?!\d)"
    rf")(?!{_W}|%)"
)
_PERIOD_WORDS = _words("day week month quarter year hour decade")
_DEADLINE = frozenset({"no later than", "by", "before", "until", "till", "through"})
_START = frozenset({"from", "since", "starting", "beginning", "as of", "after"})
_ORDINAL_NUMBER = {"first": "1", "second": "2", "third": "3", "fourth": "4", "final": "4"}
_ORDINAL_NUMBER |= {"1st": "1", "2nd": "2", "3rd": "3", "4th": "4", "last": "4"}

# Modal phrases by strength: 3 an obligation or a firm commitment, 2 an intention or an
# expectation, 1 a possibility or an aim. Keys are lemmas, so "plans to" and "planned to"
# compare equal; "will" is lower-case only ("Will" is a name; sentence-initial "Will" asks).
_MODAL_LEVELS: tuple[tuple[int, str], ...] = (
    (
        3,
        r"will|shall|must|commits? to|committed to|commitment to|pledges? to|pledged to"
        r"|guarantees?|undertakes? to|(?:is|are) required to|has to|have to"
        r"|(?:is|are) obliged to|(?:is|are) obligated to",
    ),
    (
        2,
        r"should|expects? to|(?:is|are) expected to|intends? to|intended to|plans? to"
        r"|planned to|(?:is|are) planning to|(?:is|are) set to|(?:is|are) going to"
        r"|needs? to|wants? to|(?:is|are) determined to",
    ),
    (
        1,
        r"may|might|could|would|aims? to|aimed to|(?:is|are) aiming to|seeks? to"
        r"|(?:is|are) seeking to|hopes? to|(?:is|are) hoping to|(?:is|are) considering"
        r"|considers|(?:is|are) exploring|wish(?:es)? to|(?:is|are) likely to"
        r"|aspires? to|strives? to|endeavou?rs? to|tries to|try to"
        r"|(?:is|are) working towards",
    ),
)
_MODAL_LEVEL = [(level, _lazy(rf"(?:{words})")) for level, words in _MODAL_LEVELS]
_MODAL = _lazy(
    r"(?<![\w'])(?:" + "|".join(words for _, words in _MODAL_LEVELS) + r")(?![\w'])"
    r"|(?<=\w)'ll(?!\w)",
    re.IGNORECASE,
)
# "won't" and friends: the modal inside a negated contraction.
_CONTRACTED_MODALS = {"won't": "will", "shan't": "shall", "mustn't": "must", "wouldn't": "would"}
_CONTRACTED_MODALS |= {"couldn't": "could", "shouldn't": "should", "mightn't": "might"}
_CONTRACTED_MODAL = _lazy(r"(?i:\b(won't|shan't|mustn't|wouldn't|couldn't|shouldn't)\b)")
# A modal word used as a noun: "the will of the people", "a must", "military might".
_MODAL_NOUN = _lazy(
    r"(?i:\b(?:the|a|political|free|good|ill|own|popular|military|economic|its|his|her|their"
    r"|our|of|with)\s)$"
)
_NOT_MODAL_BEFORE = {
    "will",
    "might",
    "must",
    "plan",
    "plans",
    "commitment",
    "guarantee",
    "guarantees",
}

_NEGATION = _lazy(
    r"(?i:(?<![\w'])(?:(?P<aux>is|are|was|were|will|would|shall|should|can|could|may|might"
    r"|must|do|does|did|has|have|had|be)\s)?(?P<neg>no longer|not|never|cannot|without|none"
    r"|nothing|nobody|neither|nor|no)(?![\w'-])"
    r"|(?<![\w'])(?P<contracted>\w+n't)(?!\w))"
)
# Not a negation of the statement: fixed phrases with "no"/"not" in them.
_NOT_NEGATION = _lazy(
    r"(?i:\b(?:no later than|no sooner|no matter|no doubt|not only|not just|whether or not"
    r"|if not|no\.\s?\d|not least|nothing less than|no less than|no fewer than|none other)\b)"
)
_POSITIVE = {"won't": "will", "can't": "can", "cannot": "can", "shan't": "shall"}

# Exclusive words (2) and the words that soften them when they replace one (1).
_EXCLUSIVE = _lazy(
    r"(?i:(?<![\w-])(?:(?P<strong>exclusive|exclusively|sole|solely|only|all|every|entire"
    r"|entirely|always)|(?P<weak>non-exclusive|non-exclusively|most|many|some|several|certain"
    r"|select|selected|various|partly|partially|primarily|mainly|largely|mostly|often"
    r"|sometimes|usually|generally))(?![\w-]))"
)
# A negation a few words before, in the same clause: "does not give either company exclusive
# rights" loses "exclusive" and so denies more, not less.
_NEGATED_BEFORE = _lazy(r"(?i:\b(?:not|never|no|without|n't)\b[^,;:.]*$|n't\b[^,;:.]*$)")
_NOT_EXCLUSIVE = _lazy(
    r"(?i:\b(?:at all|above all|after all|first of all|all but|once and for all|all-time"
    r"|not only|if only|only just|the most|most of all|at most|all in all)\b)"
)

# Names: capitalised words (joined by "of", "for", "&", ...), and acronyms.
_CAP = r"[A-Z\u00c0-\u00d6\u00d8-\u00de]"
_NAME_WORD = rf"(?:{_CAP}[\w’'&.-]*\w|{_CAP})"
_NAME = _lazy(
    rf"(?<![\w’'-]){_NAME_WORD}(?:(?:\s(?:of|for|of the|for the|de|du|van|von|der|la"
    rf"|le|&)\s|\s){_NAME_WORD})*"
)
_TITLES = _words("mr mrs ms dr prof sir dame lord lady president minister")
# Capitalised at a sentence start but not a name: function words, pronouns, connectives,
# time words and common press-release openers. A sentence-initial word is taken for a name
# only when it is not one of these and is also capitalised mid-sentence somewhere in the
# statement (or is an acronym, or has inner capitals, like "OpenAI").
_STARTERS = _words(
    """a an the this that these those there here it its we our us they their them he his she
    her you your i my me in on at by for from of to into onto over under between among across
    through with without within and but or nor so yet as if when while where whereas although
    though because since after before during until unless once however moreover furthermore
    additionally also meanwhile today tomorrow yesterday now then thus therefore hence indeed
    instead overall finally first second third next last further separately together both
    either neither each every all some many most several other another such no not never only
    just even still already currently recently previously initially ultimately specifically
    importantly notably earlier later please thank thanks note more less new about according
    following based building looking working learn read visit contact media as what who why how
    which whether any none one two three four five six seven eight nine ten shares revenue
    customers investors employees users partners members officials leaders ministers delegates
    participants governments countries companies under our"""
)

_QUOTE = _lazy(r"“([^”]{2,})”|\"([^\"]{2,})\"|«\s?([^»]{2,}?)\s?»|„([^“”]{2,})[“”]|「([^」]{2,})」")

_ENGLISH_WORDS = _words(
    "the of and to in a is that for on with as by at will we our be are this it has from an or"
    " its their which have not was were been said"
)
# Function words of other Latin-script languages (German, French, Spanish, Italian, Dutch,
# Portuguese, Scandinavian) that English text does not use.
_FOREIGN_WORDS = _words(
    "der die das und nicht ist mit von zu den dem ein eine einen wird werden auf für sich auch"
    " le la les et est des une pas du au aux pour dans qui sur sont ne el los las y del por"
    " para con una es lo se il di che per non gli della och att är het een niet voor zijn"
    " wordt não em os uma com som til og er ikke"
)
_LATIN_WORD = _lazy(r"[A-Za-z\u00c0-\u024f']+")
# Letters counted by their runs (a word's letters at once): a match per letter cost twice as
# much, most of a long sentence's name search and of the language guess.
_LETTERS = _lazy(r"[^\W\d_]+")
_UPPER = _lazy(r"[A-Z\u00c0-\u00de]")


def _letter_count(text: str) -> int:
    return sum(map(len, _LETTERS.findall(text)))


def _is_english(text: str) -> bool:
    """Whether a text reads as English: mostly Latin script, English function words.

    A text with no function word either way counts as English when it is plain ASCII.
    """
    sample = text[:1500]
    words = _LATIN_WORD.findall(sample)
    letters = _letter_count(sample)
    if not words or sum(len(w) for w in words) < 0.8 * letters:
        return False  # another script
    lowered = [w.lower() for w in words]
    english = sum(w in _ENGLISH_WORDS for w in lowered)
    foreign = sum(w in _FOREIGN_WORDS for w in lowered)
    if foreign > english:
        return False
    if english >= 0.1 * len(words):
        return True
    return not foreign and sample.isascii()


def _decimal(number: str) -> Decimal | None:
    """The value of a written number: "1,250.5", "1.000.000", "10 000", "4,5" or "ten"."""
    lowered = number.lower()
    if lowered[0].isalpha():
        if "-" in lowered:
            tens, ones = lowered.split("-", 1)
            if tens not in _NUMBER_WORDS or ones not in _NUMBER_WORDS:
                return None  # "one-year" is a word, not a number
            return Decimal(_NUMBER_WORDS[tens] + _NUMBER_WORDS[ones])
        return Decimal(_NUMBER_WORDS[lowered]) if lowered in _NUMBER_WORDS else None
    digits = number.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:\.\d{3}){2,}(?:,\d+)?", digits):  # 1.000.000,5
        digits = digits.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", digits):  # 1,000,000.5
        digits = digits.replace(",", "")
    else:
        digits = digits.replace(",", ".")  # 4,5 (a decimal comma)
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def _figure_key(match: re.Match[str]) -> tuple[Any, ...] | None:
    """What a figure means: currency, value (scaled) and unit; None when it is not a figure."""
    num, scale, unit = match["num"], match["scale"], match["unit"]
    value = _decimal(num)
    if value is None:
        return None
    if num[0].isalpha() and num.lower() in ("one", "zero") and not (scale or match["hundred"]):
        return None  # "one of the", "zero-emission": not an amount
    if match["hundred"]:
        value *= 100
    unit_words = (unit or "").strip().lower()
    currency = _CURRENCIES.get((match["cur"] or match["cur2"] or "").strip().lower(), "")
    if unit_words in _CURRENCIES:
        currency, unit_words = _CURRENCIES[unit_words], ""
    factor = Decimal(_SCALES[scale.strip().lower().rstrip(".")]) if scale else Decimal(1)
    if scale and scale.strip() in ("m", "k", "b") and not currency:
        return None  # "5m" alone is a distance or a typo, "3b" a reference
    value = (value * factor).normalize()
    unit_words = unit_words.lstrip("-")
    unit_key = _UNITS.get(unit_words) or _MEASURE_KEYS.get(unit_words, unit_words)
    if match["num2"] is not None:
        value2 = _decimal(match["num2"])
        if value2 is None:
            return None
        return ("range", currency, value, (value2 * factor).normalize(), unit_key)
    return (currency, value, unit_key)


def _date_key(match: re.Match[str], prep: str) -> tuple[str, ...] | None:
    """What a date means: its parts (month, day, year, period...) and its preposition's kind."""
    date = match["date"]
    prep = prep.strip().lower()
    if date == "May" and not prep:
        return None  # "May" alone is more often the verb at a sentence start than the month
    if date.lower() in ("a day", "an hour", "a week"):
        return None  # "once a week" reads as frequency only with a number; too loose alone
    side = "by" if prep in _DEADLINE else "from" if prep in _START else ""
    lowered = date.lower().replace(",", " ").replace(".", " ")
    lowered = re.sub(r"\b(?:the|of)\b", " ", lowered)
    lowered = re.sub(
        r"\b(first|second|third|fourth|1st|2nd|3rd|4th|final|last)[\s-]+quarter\b",
        lambda m: "q" + _ORDINAL_NUMBER[m.group(1)],
        lowered,
    )
    lowered = re.sub(r"\b(first|second)\s+half\b", lambda m: "h" + _ORDINAL_NUMBER[m[1]], lowered)
    if re.fullmatch(rf"{_YEAR}-\d{{2}}-\d{{2}}", date):
        year, month, day = date.split("-")
        return (side, f"y{year}", f"m{int(month)}", f"d{int(day)}")
    parts: list[str] = []
    has_month = any(w in _MONTH_NUMBER for w in re.findall(r"[a-z]+", lowered))
    for token in re.findall(r"[a-z]+(?:-[a-z]+)?|\d+", lowered):
        if token in _MONTH_NUMBER and has_month:
            parts.append(f"m{_MONTH_NUMBER[token]}")
        elif token.isdigit() and re.fullmatch(_YEAR, token):
            parts.append(f"y{token}")
        elif token.isdigit() and has_month:
            parts.append(f"d{int(token)}")
        elif re.fullmatch(r"\d+(?:st|nd|rd|th)", token):
            parts.append(f"d{int(token[:-2])}")
        elif token in _NUMBER_WORDS or "-" in token and token.split("-")[0] in _NUMBER_WORDS:
            value = _decimal(token)
            parts.append(str(value))
        elif token.isdigit():
            parts.append(str(int(token)))
        elif token.endswith("s") and token[:-1] in _PERIOD_WORDS:
            parts.append(token[:-1])  # "years" is "year"
        else:
            parts.append(token)
    return (side, *sorted(parts))


def _lemma(phrase: str) -> str:
    """The modal phrase's lemma: "plans to", "planned to", "is planning to" are "plan"."""
    phrase = phrase.lower()
    if phrase in ("will", "'ll", "shall", "must", "should", "may", "might", "could", "would"):
        return "will" if phrase == "'ll" else phrase
    head = phrase.removeprefix("is ").removeprefix("are ").split(" ")[0]
    for suffix in ("ing", "ed", "es", "s", "d"):
        if head.endswith(suffix) and len(head) - len(suffix) >= 3:
            stem = head[: -len(suffix)]
            if stem + "e" in _STEMS_WITH_E:
                return stem + "e"
            if stem.endswith(("mm", "nn", "tt")):  # committed, planning
                return stem[:-1]
            return stem
    return head


_STEMS_WITH_E = frozenset({"hope", "aspire", "strive", "guarantee", "undertake", "determine"})


def _modal_level(phrase: str) -> int:
    """The strength of a modal phrase (3 firm, 2 intended, 1 possible)."""
    if phrase == "'ll":
        return 3
    for level, pattern in _MODAL_LEVEL:
        if pattern.fullmatch(phrase):
            return level
    return 0


class _Finder:
    """One explain() run: the texts, the body changes and per-run caches."""

    def __init__(self, old_text: str, new_text: str, changes: Sequence[Change]) -> None:
        self.old_text, self.new_text = old_text, new_text
        self.changes = changes
        sample = " ".join((c.after or c.before or "") for c in changes)
        if len(_LATIN_WORD.findall(sample)) < 12 and new_text not in sample:
            sample = sample + " " + new_text[:2000]
        self.english = _is_english(sample)
        self._capitalised: dict[str, bool] = {}
        self.findings: list[Finding] = []

    # --- the walk over changes -------------------------------------------------------------

    def run(self) -> list[Finding]:
        units: list[_Unit] = []
        removed: list[str] = []  # whole sentences gone, in document order
        added: list[str] = []
        for change in self.changes:
            if change.op in ("modified", "moved") and change.before and change.after:
                before, after = normalize(change.before), normalize(change.after)
                if before == after:
                    continue  # moved only
                unit = _Unit.of_paragraphs(before, after)
                units.append(unit)
                removed.extend(unit.old[i] for i in unit.gone)
                added.extend(unit.new[j] for j in unit.fresh)
            elif change.op == "removed" and change.before:
                removed.extend(_sentences(normalize(change.before)))
            elif change.op == "added" and change.after:
                added.extend(_sentences(normalize(change.after)))
        removed_left, added_left, moved_pairs = _match_sentences(removed, added)
        units.extend(_Unit.of_sentences(a, b) for a, b in moved_pairs)
        raw: list[_Raw] = []
        for unit in units:
            raw.extend(self._unit_findings(unit))
        raw = _cancel_moves(raw)
        findings = [r.finding for r in raw]
        findings.extend(Finding("sentence_removed", s, None, s) for s in removed_left)
        findings.extend(Finding("sentence_added", None, s, s) for s in added_left)
        return findings

    # --- one unit: an old and a new paragraph (or sentence) ---------------------------------

    def _unit_findings(self, unit: _Unit) -> list[_Raw]:
        # Sentences kept word for word have the same features on both sides: they would
        # cancel, so they are not read at all (most sentences of an edited paragraph).
        same_old = {i for i, j in unit.pairs if unit.old[i] == unit.new[j]}
        same_new = {j for i, j in unit.pairs if unit.old[i] == unit.new[j]}
        skip_old, skip_new = unit.gone | same_old, unit.fresh | same_new
        old_feats = [self._features(s) if i not in skip_old else [] for i, s in enumerate(unit.old)]
        new_feats = [self._features(s) if j not in skip_new else [] for j, s in enumerate(unit.new)]
        by_kind: dict[str, tuple[list[list[_Feature]], list[list[_Feature]]]] = {}
        for side, feats_of in ((0, old_feats), (1, new_feats)):
            for n, feats in enumerate(feats_of):
                for f in feats:
                    lists = by_kind.setdefault(
                        f.kind, ([[] for _ in unit.old], [[] for _ in unit.new])
                    )
                    lists[side][n].append(f)
        raw: list[_Raw] = []
        for kind in ("negation", "modality", "figure", "date", "exclusivity", "party"):
            if kind in by_kind:
                raw.extend(_compare_kind(kind, unit, *by_kind[kind]))
        raw.extend(self._quotes(unit))
        return raw

    def _quotes(self, unit: _Unit) -> list[_Raw]:
        """Quotations changed, added or removed (not those inside whole sentences reported)."""
        old_text, new_text = unit.old_text, unit.new_text
        old_q = [_quote_text(m) for m in _QUOTE.finditer(old_text)]
        new_q = [_quote_text(m) for m in _QUOTE.finditer(new_text)]
        if not old_q and not new_q:
            return []
        common = Counter(old_q) & Counter(new_q)
        left_old = _minus(old_q, common)
        left_new = _minus(new_q, common)
        raw: list[_Raw] = []
        pairs = _best_pairs(left_old, left_new, 40.0)
        paired_old = {i for i, _ in pairs}
        paired_new = {j for _, j in pairs}
        for i, j in pairs:
            sentence = unit.sentence_with(left_new[j], new=True)
            raw.append(_Raw(Finding("quote", left_old[i], left_new[j], sentence)))
        gone_text = " ".join(unit.old[i] for i in unit.gone)
        fresh_text = " ".join(unit.new[j] for j in unit.fresh)
        for i, quote in enumerate(left_old):
            if i not in paired_old and quote not in gone_text:
                raw.append(
                    _Raw(Finding("quote", quote, None, unit.sentence_with(quote, new=False)))
                )
        for j, quote in enumerate(left_new):
            if j not in paired_new and quote not in fresh_text:
                raw.append(_Raw(Finding("quote", None, quote, unit.sentence_with(quote, new=True))))
        return raw

    # --- features of one sentence -----------------------------------------------------------

    def _features(self, sentence: str) -> list[_Feature]:
        feats: list[_Feature] = []
        pieces: list[str] = []  # the sentence with every date blanked out (same length)
        end = 0
        for match in _DATE.finditer(sentence):
            before = _PREPOSITION.search(sentence, max(0, match.start() - 16), match.start())
            prep = before.group() if before else ""
            key = _date_key(match, prep)
            pieces.append(sentence[end : match.start()])
            pieces.append(" " * (match.end() - match.start()))
            end = match.end()
            if key is not None:
                feats.append(_Feature("date", key, (prep + match.group()).strip()))
        without_dates = "".join(pieces) + sentence[end:] if pieces else sentence
        for match in _FIGURE.finditer(without_dates):
            figure = _figure_key(match)
            if figure is not None:
                feats.append(_Feature("figure", figure, match.group().strip()))
        if not self.english:
            return feats
        feats.extend(_modal_features(sentence))
        feats.extend(_negation_features(sentence))
        feats.extend(_exclusive_features(sentence))
        feats.extend(self._names(sentence, without_dates))
        return feats

    def _names(self, sentence: str, without_dates: str) -> list[_Feature]:
        letters = _letter_count(sentence)
        if letters and len(_UPPER.findall(sentence)) > 0.6 * letters:
            return []  # a shouted line ("FOR IMMEDIATE RELEASE"): capitals mean nothing
        feats: list[_Feature] = []
        scan_from = 0
        if _is_heading(sentence):
            # A title-case heading ("Outlook and Guidance", "Media Contacts: Kari Nordmann"):
            # its capitals are style, not names; only what follows a colon is read.
            colon = without_dates.find(":")
            if colon < 0:
                return []
            scan_from = colon + 1
        for match in _NAME.finditer(without_dates, scan_from):
            words = match.group().split(" ")
            start = match.start()
            # Sentence-initial (or after an opening quote, a colon, a dash or a bracket).
            before = without_dates[:start].rstrip()
            initial = not before or before[-1] in "\"“‘'«(:;—–-•*"
            if initial:
                while words and words[0].lower().strip(".") in _STARTERS:
                    words = words[1:]
                    while words and words[0] in ("of", "for", "and", "the", "&", "de", "la"):
                        words = words[1:]
                if not words:
                    continue
                if len(match.group().split(" ")) == len(words) and not self._is_name_alone(words):
                    continue
            elif len(words) == 1 and words[0] == "I":
                continue
            words = _without_job_title(words)
            if not words:
                continue  # "CEO", "Chief Executive Officer": a role, not a party
            name = " ".join(words).rstrip(".")
            name = re.sub(r"[’']s$", "", name)
            if not name or _is_number_suffix(without_dates, start):
                continue
            tokens = [w.lower() for w in re.findall(r"[\w&]+", name)]
            # "Contact"/"Contacts": a plural is the same name.
            key_tokens = [_singular(t) for t in tokens if t not in _TITLES]
            if not key_tokens:
                continue
            feats.append(
                _Feature("party", " ".join(key_tokens), name, tokens=frozenset(key_tokens))
            )
        return feats

    def _is_name_alone(self, words: list[str]) -> bool:
        """Whether a sentence-initial name-like run of words is a name, not a capitalised word."""
        first = words[0]
        if len(first) >= 2 and (first.isupper() or any(c.isupper() for c in first[1:])):
            return True  # an acronym or "OpenAI"
        if len(words) > 1:
            return True  # "Acme Corp", "Maria Lopez": a capitalised run is a name
        return self._capitalised_elsewhere(first)

    def _capitalised_elsewhere(self, word: str) -> bool:
        """Whether the word reads as a name elsewhere in either version of the statement.

        It does when it is capitalised mid-sentence somewhere, or when it comes up more than
        once and never in lower case ("Acme said ... Acme will ...").
        """
        bare = re.sub(r"[’']s$", "", word).rstrip(".")
        if bare in self._capitalised:
            return self._capitalised[bare]
        texts = (self.old_text, self.new_text)
        lower = bare.lower()
        if lower != bare and any(next(_whole_word_at(t, lower), None) is not None for t in texts):
            self._capitalised[bare] = False  # also written in lower case: a word
            return False
        seen = 0
        found = False
        for text in texts:
            for start in _whole_word_at(text, bare):
                seen += 1
                before = start - 1  # the character before, past spaces (no copy)
                while before >= 0 and text[before].isspace():
                    before -= 1
                if before >= 0 and (text[before].isalnum() or text[before] in ",)’'%"):
                    found = True
                    break
            if found:
                break
        found = found or seen >= 3  # the same name in both versions counts twice
        self._capitalised[bare] = found
        return found


# Words of a job title before a name ("Chief Executive Officer of Acme", "Deputy Minister
# Anna Kowalski"): a title written differently is not another party.
_JOB_WORDS = _words(
    "chief executive officer financial operating technology president vice deputy minister"
    " secretary director head chair chairman chairwoman chairperson founder co-founder"
    " managing senior manager spokesperson spokesman spokeswoman ceo cfo coo cto evp svp mr"
    " mrs ms dr prof sir dame lord lady prime foreign commissioner governor senator ambassador"
    " envoy"
)


def _without_job_title(words: list[str]) -> list[str]:
    """A name's words without a leading job title (and its "of"/"at")."""
    k = 0
    while k < len(words) and words[k].lower().rstrip(".") in _JOB_WORDS:
        k += 1
    if 0 < k < len(words) and words[k] in ("of", "for", "at", "of the", "for the"):
        k += 1
    while 0 < k < len(words) and words[k] in ("of", "the", "for"):
        k += 1
    return words[k:]


def _whole_word_at(text: str, word: str) -> Iterator[int]:
    """Where `word` stands as a whole word in `text` (str.find: far faster than a regex)."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "_’'-") and not (after.isalnum() or after in "_-"):
            yield start
        start = text.find(word, start + 1)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _is_heading(sentence: str) -> bool:
    """A short title-case line without a closing full stop, question or exclamation mark."""
    words = sentence.split()
    if not words or len(words) > 8 or sentence.rstrip("\"'”’)").endswith((".", "!", "?")):
        return False
    capitalised = sum(w[0].isupper() for w in words if w not in _CONNECTORS)
    return capitalised >= 0.6 * len(words)


def _is_number_suffix(text: str, start: int) -> bool:
    """A unit right after a number ("100 MW") is not a name."""
    return bool(re.search(r"\d\s?$", text[:start]))


def _modal_features(sentence: str) -> list[_Feature]:
    feats: list[_Feature] = []
    for match in _MODAL.finditer(sentence):
        phrase = match.group()
        if phrase[0].isupper() and phrase.lower() in ("will", "may", "must", "might"):
            continue  # "Will" and "May" capitalised are names and months
        lowered = phrase.lower()
        if lowered.split(" ")[0] in _NOT_MODAL_BEFORE and _MODAL_NOUN.search(
            sentence[: match.start()]
        ):
            continue
        level = _modal_level(lowered)
        if not level:
            continue
        feats.append(_Feature("modality", _lemma(lowered), phrase, level=level))
    for match in re.finditer(
        r"(?i:\b(won't|shan't|mustn't|wouldn't|couldn't|shouldn't)\b)", sentence
    ):
        modal = _CONTRACTED_MODALS[match.group(1).lower()]
        feats.append(_Feature("modality", modal, match.group(1), level=_modal_level(modal)))
    return feats


def _negation_features(sentence: str) -> list[_Feature]:
    excluded = [m.span() for m in _NOT_NEGATION.finditer(sentence)]
    feats: list[_Feature] = []
    for match in _NEGATION.finditer(sentence):
        neg_start = match.start("neg") if match["neg"] else match.start()
        if any(a <= neg_start < b for a, b in excluded):
            continue
        contracted = match["contracted"]
        if contracted:
            lowered = contracted.lower()
            plain = _POSITIVE.get(lowered, contracted[:-3])
            feats.append(_Feature("negation", "neg", contracted, plain=plain))
            continue
        if match["neg"].lower() == "no" and re.match(r"\s?\d", sentence[match.end() :]):
            continue  # "No. 5", "no 10"
        aux = match["aux"]
        plain = aux if aux else None
        if match["neg"].lower() == "cannot":
            plain = "can"
        feats.append(_Feature("negation", "neg", match.group().strip(), plain=plain))
    return feats


def _exclusive_features(sentence: str) -> list[_Feature]:
    excluded = [m.span() for m in _NOT_EXCLUSIVE.finditer(sentence)]
    feats: list[_Feature] = []
    for match in _EXCLUSIVE.finditer(sentence):
        if any(a <= match.start() < b for a, b in excluded):
            continue
        word = match.group()
        level = 2 if match["strong"] else 1
        key = word.lower().removesuffix("ly") if level == 2 else word.lower()
        negated = bool(_NEGATED_BEFORE.search(sentence, max(0, match.start() - 40), match.start()))
        feats.append(_Feature("exclusivity", key, word, level=level, negated=negated))
    return feats


def _quote_text(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g is not None).strip()


def _minus(items: list[str], common: Counter[str]) -> list[str]:
    """`items` in order without one occurrence per count in `common`."""
    left = Counter(common)
    out: list[str] = []
    for item in items:
        if left[item]:
            left[item] -= 1
        else:
            out.append(item)
    return out


def _best_pairs(old: Sequence[str], new: Sequence[str], cutoff: float) -> list[tuple[int, int]]:
    """Best-first pairs of similar strings (each used once), at least `cutoff` alike."""
    if not old or not new or len(old) * len(new) > 2500:
        return []
    scored = sorted(
        (
            (score, i, j)
            for i, a in enumerate(old)
            for j, b in enumerate(new)
            if (score := fuzz.ratio(a, b, score_cutoff=cutoff))
        ),
        reverse=True,
    )
    pairs: list[tuple[int, int]] = []
    used_old: set[int] = set()
    used_new: set[int] = set()
    for _score, i, j in scored:
        if i not in used_old and j not in used_new:
            pairs.append((i, j))
            used_old.add(i)
            used_new.add(j)
    return sorted(pairs)


# --- units: aligned old and new sentences ----------------------------------------------------

# Sentences of a paragraph pair are aligned when fuzz.ratio reaches this: an edited sentence
# keeps most of its characters, a different sentence shares little more than function words.
SENTENCE_PAIR_THRESHOLD = 50.0
# A sentence removed here and added elsewhere at least this alike moved (and was edited).
SENTENCE_MOVE_THRESHOLD = 75.0
# An unaligned sentence whose words are still in the other version (partial_ratio) was split
# or merged, not removed.
SENTENCE_KEPT_THRESHOLD = 90.0


@dataclass
class _Unit:
    """An old and a new text (paragraphs or single sentences) cut into aligned sentences."""

    old: list[str]
    new: list[str]
    pairs: list[tuple[int, int]]
    gone: set[int] = field(default_factory=set)  # old sentences removed whole
    fresh: set[int] = field(default_factory=set)  # new sentences added whole
    old_text: str = ""
    new_text: str = ""

    @classmethod
    def of_sentences(cls, old: str, new: str) -> _Unit:
        return cls([old], [new], [(0, 0)], old_text=old, new_text=new)

    @classmethod
    def of_paragraphs(cls, old_text: str, new_text: str) -> _Unit:
        old, new = _sentences(old_text), _sentences(new_text)
        pairs = _align(old, new)
        paired_old = {i for i, _ in pairs}
        paired_new = {j for _, j in pairs}
        old_lower, new_lower = old_text.lower(), new_text.lower()
        gone = {
            i
            for i, s in enumerate(old)
            if i not in paired_old and not _still_there(s, new_lower) and _has_words(s)
        }
        fresh = {
            j
            for j, s in enumerate(new)
            if j not in paired_new and not _still_there(s, old_lower) and _has_words(s)
        }
        return cls(old, new, pairs, gone, fresh, old_text, new_text)

    def partner(self, i: int) -> int | None:
        return next((j for a, j in self.pairs if a == i), None)

    def sentence_with(self, text: str, *, new: bool) -> str:
        sentences = self.new if new else self.old
        head = text[:40]
        return next((s for s in sentences if head in s), sentences[0] if sentences else text)


def _bare(sentence: str) -> str:
    """A sentence lower-cased, without its closing punctuation: for containment tests."""
    return sentence.rstrip(".!?;:,\"'”’)").lower()


# A sentence is looked for in the other version of its paragraph only up to this length of
# paragraph. Each look reads the whole paragraph, so one as long as a page (megabytes) edited
# throughout took minutes (2.4 MB: 59 s). Past it, a sentence without a counterpart is gone
# or new.
_MAX_LOOKED_IN = 100_000


def _still_there(sentence: str, other: str) -> bool:
    """Whether a sentence's words are found in the other text, given lower-cased (it was split
    or merged)."""
    if len(other) > _MAX_LOOKED_IN:
        return False
    bare = _bare(sentence)
    if bare in other:
        return True
    return len(bare) >= 15 and fuzz.partial_ratio(bare, other) >= SENTENCE_KEPT_THRESHOLD


def _align(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """Order-keeping pairs of identical, then similar, sentences."""
    pairs: list[tuple[int, int]] = []
    for op in Indel.opcodes(old, new):
        if op.tag == "equal":
            pairs.extend(
                (op.src_start + k, op.dest_start + k) for k in range(op.src_end - op.src_start)
            )
    # What lies between identical runs: pair similar sentences in order.
    regions: list[tuple[int, int, int, int]] = []
    i = j = 0
    for a, b in [*pairs, (len(old), len(new))]:
        if a > i or b > j:
            regions.append((i, a, j, b))
        i, j = a + 1, b + 1
    for i1, i2, j1, j2 in regions:
        pairs.extend(_pair_in_order(old, new, i1, i2, j1, j2))
    return sorted(pairs)


def _pair_in_order(
    old: list[str], new: list[str], i1: int, i2: int, j1: int, j2: int
) -> list[tuple[int, int]]:
    """Order-preserving pairs with the highest total similarity inside one region."""
    n, m = i2 - i1, j2 - j1
    if not n or not m:
        return []
    if n * m > 400:  # a rewrite of a huge paragraph: in order, one to one
        return [(i1 + k, j1 + k) for k in range(min(n, m))]
    score = [
        [
            fuzz.ratio(old[i1 + a], new[j1 + b], score_cutoff=SENTENCE_PAIR_THRESHOLD)
            for b in range(m)
        ]
        for a in range(n)
    ]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for a in range(1, n + 1):
        for b in range(1, m + 1):
            value = max(best[a - 1][b], best[a][b - 1])
            s = score[a - 1][b - 1]
            if s and best[a - 1][b - 1] + s > value:
                value = best[a - 1][b - 1] + s
            best[a][b] = value
    pairs: list[tuple[int, int]] = []
    a, b = n, m
    while a and b:
        s = score[a - 1][b - 1]
        if s and best[a][b] == best[a - 1][b - 1] + s:
            pairs.append((i1 + a - 1, j1 + b - 1))
            a, b = a - 1, b - 1
        elif best[a][b] == best[a - 1][b]:
            a -= 1
        else:
            b -= 1
    return pairs[::-1]


def _grown_in_place(
    removed: list[str], added: list[str], paired_old: set[int], paired_new: set[int]
) -> list[tuple[int, int]]:
    """Pairs of a short sentence (a heading) grown or cut in place, "Outlook" → "Outlook and
    Guidance": one holds the other and is at least 0.3 of its length; the first unpaired
    sentence that fits, in order, among those not in `paired_old` and `paired_new` yet.

    Only pairs where one holds the other can fit: found by searching each sentence in all
    the others at once. Trying every pair, a rewritten 100 KB statement (a million pairs)
    took 1.1 s here.
    """
    bare_removed = [_bare(a) for a in removed]
    bare_added = [_bare(b) for b in added]
    searched = len(bare_removed) * sum(map(len, bare_added))
    searched += len(bare_added) * sum(map(len, bare_removed))
    if searched > _MAX_SEARCHED:
        # Rewritten wholesale (as `_best_pairs` gives up on similarity): every sentence is new.
        return []
    candidates = _holders(bare_removed, bare_added)  # j: the removed sentence i may be in j
    for j, holders in enumerate(_holders(bare_added, bare_removed)):
        for i in holders:  # the added sentence j may be in i
            candidates[i].add(j)
    pairs: list[tuple[int, int]] = []
    taken = set(paired_new)
    for i, a in enumerate(bare_removed):
        if i in paired_old:
            continue
        for j in sorted(candidates[i] - taken):
            b = bare_added[j]
            short, long = (a, b) if len(a) <= len(b) else (b, a)
            if short and len(short) >= 0.3 * len(long) and short in long:
                pairs.append((i, j))
                taken.add(j)
                break
    return pairs


# The characters `_grown_in_place` may search, about 0.2 s: a rewrite of a 100 KB statement
# searches 2e8; one of 700 KB (5,000 paragraphs) 1.2e10, which took 2.3 s.
_MAX_SEARCHED = 1_000_000_000


def _holders(needles: list[str], texts: list[str]) -> list[set[int]]:
    """For each needle, the indexes of the texts that may contain it (none for an empty one).

    One search of all the texts joined per needle, in C, instead of a test of every pair. A
    NUL in the texts can make a match run across two of them: callers test each index found.
    """
    joined = "\0".join(texts)
    starts = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
    found: list[set[int]] = []
    for needle in needles:
        holders: set[int] = set()
        at = joined.find(needle) if needle else -1
        while at >= 0:
            j = bisect.bisect_right(starts, at) - 1
            holders.add(j)
            if j + 1 >= len(starts):
                break
            at = joined.find(needle, starts[j + 1])
        found.append(holders)
    return found


def _match_sentences(
    removed: list[str], added: list[str]
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Whole sentences gone and new, without those that only moved (identical or similar)."""
    common = Counter(removed) & Counter(added)
    removed_left, added_left = _minus(removed, common), _minus(added, common)
    pairs = _best_pairs(removed_left, added_left, SENTENCE_MOVE_THRESHOLD)
    paired_old, paired_new = {i for i, _ in pairs}, {j for _, j in pairs}
    pairs += _grown_in_place(removed_left, added_left, paired_old, paired_new)
    paired_old, paired_new = {i for i, _ in pairs}, {j for _, j in pairs}
    moved = [(removed_left[i], added_left[j]) for i, j in pairs]
    return (
        [s for i, s in enumerate(removed_left) if i not in paired_old and _has_words(s)],
        [s for j, s in enumerate(added_left) if j not in paired_new and _has_words(s)],
        moved,
    )


# --- comparing one kind of feature inside a unit ---------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """A finding with the keys it was made from, so a figure moved between paragraphs cancels."""

    finding: Finding
    removed_key: Any = None
    added_key: Any = None


def _compare_kind(
    kind: str, unit: _Unit, old: list[list[_Feature]], new: list[list[_Feature]]
) -> Iterable[_Raw]:
    """The findings of one kind in a unit: features left over on each side, paired."""
    # 1. Cancel equal keys inside each aligned sentence pair, then across the unit (a figure
    #    that only moved between sentences).
    old_left = [list(feats) for feats in old]
    new_left = [list(feats) for feats in new]
    for i, j in unit.pairs:
        if old_left[i] and new_left[j]:
            old_left[i], new_left[j] = _cancel(old_left[i], new_left[j])
    flat_old = [(i, f) for i, feats in enumerate(old_left) for f in feats]
    flat_new = [(j, f) for j, feats in enumerate(new_left) for f in feats]
    flat_old, flat_new = _cancel_equal(flat_old, flat_new, lambda x: x[1].key)
    if not flat_old and not flat_new:
        return []
    if kind == "party":
        flat_old, flat_new = _drop_renamed(flat_old, flat_new)
    # 2. Pair what is left inside aligned sentences, in order.
    pairs: list[tuple[tuple[int, _Feature] | None, tuple[int, _Feature] | None]] = []
    for i, j in unit.pairs:
        olds = [x for x in flat_old if x[0] == i]
        news = [x for x in flat_new if x[0] == j]
        pairs.extend(_pair_features(kind, olds, news))
    in_pairs = {id(x) for pair in pairs for x in pair if x is not None}
    rest_old = [x for x in flat_old if id(x) not in in_pairs]
    rest_new = [x for x in flat_new if id(x) not in in_pairs]
    if kind in ("figure", "date", "party") and len(rest_old) == 1 and len(rest_new) == 1:
        pairs.append((rest_old[0], rest_new[0]))
    elif kind in ("negation", "exclusivity", "figure", "date", "party"):
        pairs.extend(_pair_features(kind, rest_old, []))
        pairs.extend(_pair_features(kind, [], rest_new))
    return [r for pair in pairs if (r := _finding(kind, unit, *pair)) is not None]


_T = TypeVar("_T")


def _cancel_equal(
    old: list[_T], new: list[_T], key: Callable[[_T], Any]
) -> tuple[list[_T], list[_T]]:
    """Both lists without the items whose keys match one to one (the lists are short)."""
    if not old or not new:
        return old, new
    left_new = list(new)
    new_keys = [key(x) for x in left_new]
    kept_old: list[_T] = []
    for item in old:
        k = key(item)
        if k in new_keys:
            at = new_keys.index(k)
            del new_keys[at], left_new[at]
        else:
            kept_old.append(item)
    return kept_old, left_new


def _cancel(old: list[_Feature], new: list[_Feature]) -> tuple[list[_Feature], list[_Feature]]:
    return _cancel_equal(old, new, lambda f: f.key)


def _drop_renamed(
    old: list[tuple[int, _Feature]], new: list[tuple[int, _Feature]]
) -> tuple[list[tuple[int, _Feature]], list[tuple[int, _Feature]]]:
    """A name written longer, shorter or as its acronym ("Acme" / "Acme Corp", "EU" /
    "European Union") is the same party."""
    drop_old: set[int] = set()
    drop_new: set[int] = set()
    for a, (_, f) in enumerate(old):
        for b, (_, g) in enumerate(new):
            if b in drop_new:
                continue
            if f.tokens <= g.tokens or g.tokens <= f.tokens or _initials(f) == _initials(g):
                drop_old.add(a)
                drop_new.add(b)
                break
    return (
        [x for a, x in enumerate(old) if a not in drop_old],
        [x for b, x in enumerate(new) if b not in drop_new],
    )


_Side = tuple[int, _Feature]
_CONNECTORS = _words("of for the and & de du van von der la le")


def _initials(name: _Feature) -> str:
    """A name's initials, acronyms kept whole: "European Union" and "EU" are both "EU"."""
    words = [w for w in re.findall(r"[\w&]+", name.surface) if w.lower() not in _CONNECTORS]
    return "".join(w if w.isupper() else w[0] for w in words).upper()


def _pair_features(
    kind: str, olds: list[_Side], news: list[_Side]
) -> list[tuple[_Side | None, _Side | None]]:
    """Pair the removed and added features of one kind inside one sentence pair."""
    if kind == "exclusivity":
        strong_old = [x for x in olds if x[1].level == 2]
        weak_old = [x for x in olds if x[1].level == 1]
        strong_new = [x for x in news if x[1].level == 2]
        weak_new = [x for x in news if x[1].level == 1]
        # "all" → "every": the claim keeps its scope (paired, so no finding is made of it).
        k = min(len(strong_old), len(strong_new))
        out: list[tuple[_Side | None, _Side | None]] = list(
            zip(strong_old[:k], strong_new[:k], strict=True)
        )
        strong_old, strong_new = strong_old[k:], strong_new[k:]
        for n, x in enumerate(strong_old):
            out.append((x, weak_new[n] if n < len(weak_new) else None))
        for n, y in enumerate(strong_new):
            out.append((weak_old[n] if n < len(weak_old) else None, y))
        # Weak words alone ("some", "many") say nothing; pairing them keeps them out of
        # the unit-wide rest.
        used = {id(x) for pair in out for x in pair if x is not None}
        out.extend((x, None) for x in [*weak_old] if id(x) not in used)
        out.extend((None, y) for y in [*weak_new] if id(y) not in used)
        return out
    if kind == "modality":
        return list(zip(olds, news, strict=False))  # unpaired modals say nothing
    if kind == "negation":
        return [(x, None) for x in olds] + [(None, y) for y in news]
    pairs: list[tuple[_Side | None, _Side | None]] = list(zip(olds, news, strict=False))
    pairs.extend((x, None) for x in olds[len(news) :])
    pairs.extend((None, y) for y in news[len(olds) :])
    return pairs


def _finding(kind: str, unit: _Unit, old: _Side | None, new: _Side | None) -> _Raw | None:
    """The finding of one removed and/or added feature, or None when it means nothing."""
    if new is not None:
        sentence = unit.new[new[0]]
    else:
        assert old is not None
        partner = unit.partner(old[0])
        sentence = unit.new[partner] if partner is not None else unit.old[old[0]]
    before = old[1] if old else None
    after = new[1] if new else None
    direction: Direction | None = None
    if kind == "modality":
        if before is None or after is None or before.level == after.level:
            return None
        direction = "weaker" if after.level < before.level else "stronger"
    elif kind == "exclusivity":
        if before is not None and after is not None and before.level == after.level:
            return None
        if before is not None and before.level == 2:
            direction = "stronger" if before.negated else "weaker"
        elif after is not None and after.level == 2:
            direction = "weaker" if after.negated else "stronger"
        else:
            return None
    elif kind == "negation":
        if before is not None:
            plain = before.plain if before.plain and _has_word(sentence, before.plain) else None
            return _Raw(Finding("negation", before.surface, plain, sentence))
        assert after is not None
        plain = after.plain if after.plain else None
        return _Raw(Finding("negation", plain, after.surface, sentence))
    finding = Finding(
        cast(FindingKind, kind),
        before.surface if before else None,
        after.surface if after else None,
        sentence,
        direction,
    )
    return _Raw(finding, before.key if before else None, after.key if after else None)


def _has_word(sentence: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", sentence, re.IGNORECASE) is not None


def _cancel_moves(raw: list[_Raw]) -> list[_Raw]:
    """A figure, date or name removed in one paragraph and added in another only moved."""
    kinds = ("figure", "date", "party")
    removed = Counter(
        (r.finding.kind, r.removed_key)
        for r in raw
        if r.finding.kind in kinds and r.finding.after is None
    )
    added = Counter(
        (r.finding.kind, r.added_key)
        for r in raw
        if r.finding.kind in kinds and r.finding.before is None
    )
    moved = removed & added
    if not moved:
        return raw
    left_removed, left_added = Counter(moved), Counter(moved)
    out: list[_Raw] = []
    for r in raw:
        f = r.finding
        if f.kind in kinds and f.after is None and left_removed[(f.kind, r.removed_key)]:
            left_removed[(f.kind, r.removed_key)] -= 1
            continue
        if f.kind in kinds and f.before is None and left_added[(f.kind, r.added_key)]:
            left_added[(f.kind, r.added_key)] -= 1
            continue
        out.append(r)
    return out
