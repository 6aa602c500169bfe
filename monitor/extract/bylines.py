"""Bylines and datelines at the edges of a statement body: "By Jane Doe | 3 min read".

Pages print who wrote a statement and when it was published or last updated just above or
below its text. Those lines are metadata, not the statement: the date is read separately
(`Article.published`), an "Updated at 1:23 p.m." line changes on every edit and would make
each edit look bigger, and a `new` alert's summary should start with what the statement says.

Only short lines at the start or the end of the body are considered, and only when the whole
line matches one of the patterns below (a table, so that a form seen on a new site is one
line to add). A sentence that merely starts like a byline ("By 2030 the network will…",
"Published figures show…") never matches in full, so it stays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Longest line taken for a byline: real ones are a name, a date and a reading time.
MAX_BYLINE_CHARS = 120
# How many paragraphs at each end are looked at: a byline sits next to the headline or
# closes the text, perhaps with a subheading or a second metadata line around it.
EDGE_PARAGRAPHS = 3

# --- Building blocks (verbose regexes, case-insensitive unless a part says otherwise) --------

_MONTHS = (
    # English, full and abbreviated (with an optional dot)
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
    # German, French, Spanish, Italian, Dutch, Portuguese
    r"|januar|jänner|februar|märz|mai|juni|juli|oktober|dezember"
    r"|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
    r"|noviembre|diciembre"
    r"|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre"
    r"|januari|februari|maart|mei|augustus"
    r"|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro"
)
_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon|tue|tues|wed|thu|thurs|fri|sat|sun"
    r"|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag"
    r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
    r"|lunes|martes|miércoles|jueves|viernes|sábado|domingo"
    r"|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica"
    r"|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag"
    r"|(?:segunda|terça|quarta|quinta|sexta)(?:-feira)?)\.?,?"
)
_MONTH = rf"(?:{_MONTHS})\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th|\.|º)?"
_YEAR = r"\d{4}"
_CONNECT = r"(?:\s+(?:de|del)\s+|\s+)"  # "20 de noviembre de 2026"
_DATE = rf"""
    (?:{_WEEKDAY}\s+)?
    (?:
        {_DAY}{_CONNECT}{_MONTH}(?:,?{_CONNECT}{_YEAR})?      # 20 November 2026, 20. November
      | {_MONTH}\s+(?:{_DAY},?(?:\s+{_YEAR})?|{_YEAR})        # November 20, 2026; November 2026
      | {_YEAR}-\d{{2}}-\d{{2}}(?:T[\d:.]+(?:Z|[+-]\d{{2}}:?\d{{2}})?)?  # 2026-11-20
      | \d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}                   # 20/11/2026, 20.11.2026
      | {_YEAR}[./]\d{{1,2}}[./]\d{{1,2}}\.?                 # 2026.11.20, 2026/11/20
      | today|yesterday|heute|gestern|hier|aujourd'hui|hoy|ayer|oggi|ieri
    )
"""
_TIME = r"""
    \d{1,2}(?:[:.h]\d{2}){1,2}\s*(?:[ap]\.?\s?m\.?)?        # 13:45, 1:23 p.m., 10h30
  | \d{1,2}\s*[ap]\.?\s?m\.?                                 # 3 pm
"""
_ZONE = r"(?:\s*\(?(?-i:[A-Z]{2,5}|GMT[+-]\d{1,2}|UTC[+-]\d{1,2})\)?|\s+(?:uhr|horas?))?"
# What joins a date to its time: "at", "um", "à", "a las", "alle", "om", "às", a dash.
_AT = r"(?:at|um|à|a\s+las|alle|om|às|-|–|,)"
_AGO = r"\d+\s+(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?)\s+ago"
# A date with an optional time, or a time alone, or "3 hours ago".
_WHEN = rf"""
    (?:
        (?:{_DATE})(?:,?\s*{_AT}?\s*(?:{_TIME}){_ZONE})?
      | (?:{_TIME}){_ZONE}(?:,?\s*(?:on\s+)?(?:{_DATE}))?
      | {_AGO}
    )
"""
# A person or organisation: capitalised words, with the particles names carry. Case matters
# here (the pattern is compiled case-insensitively, so the first letter is checked apart).
_NAME_WORD = r"(?-i:[A-ZÀ-ÖØ-Þ][\w'’.-]*)"
# Lower-case words an organisation's name may go on with ("Press office", "News team").
_ORG_NOUN = (
    r"(?:office|team|staff|desk|department|service|editors?|reporters?|bureau|newsroom"
    r"|correspondents?|communications|relations|writers?|redaktion|rédaction|redacción)"
)
_PARTICLE = (
    r"(?-i:de|da|di|del|della|van|von|der|den|du|le|la|dos|das|bin|al|ibn|ten|ter|of|for|the)"
)
_NAME = (
    rf"(?:(?-i:the)\s+)?{_NAME_WORD}"
    rf"(?:\s+(?:{_PARTICLE}\s+){{0,2}}(?:{_NAME_WORD}|{_ORG_NOUN}\b)){{0,5}}"
)
_NAMES = rf"{_NAME}(?:\s*(?:,|&|\band\b|\bund\b|\bet\b|\by\b|\be\b|\ben\b)\s*{_NAME}){{0,3}}"
_READ_TIME = (
    r"\d+\s*(?:-\s*)?(?:min(?:ute)?s?\.?)\s+(?:read|reading(?:\s+time)?|lesezeit|de\s+lecture"
    r"|de\s+lectura|de\s+leitura|di\s+lettura|leestijd)"
    r"|(?:reading\s+time|lesezeit|temps\s+de\s+lecture|tiempo\s+de\s+lectura"
    r"|tempo\s+de\s+leitura|tempo\s+di\s+lettura|leestijd)\s*:?\s*\d+\s*"
    r"(?:min(?:ute)?s?|minuten|minut[oi]s?)\.?"
)
# Words that introduce the author: English, German, French, Spanish/Portuguese, Dutch.
_BY = r"(?:by|written\s+by|posted\s+by|words\s+by|von|par|por|door|autor(?:in)?:|author:)"
_PUBLISHED = r"""
    (?:
        published|posted|updated|last\s+updated|last\s+modified|modified|released|issued
      | first\s+published|date|dated|release\s+date
      | veröffentlicht|aktualisiert|zuletzt\s+aktualisiert|stand|datum
      | publié|mis\s+à\s+jour|mise\s+à\s+jour|date\s+de\s+publication
      | publicado|actualizado|atualizado|fecha
      | pubblicato|aggiornato
      | gepubliceerd|bijgewerkt|laatst\s+bijgewerkt
      | 기사입력|입력|수정|최종수정|등록|발행
    )
    (?:\s+(?:on|at|am|um|le|el|em|il|op|à|a\s+las|alle|:))?\s*:?\s*\[?
"""
# What may follow the main part of a byline after a separator: more metadata.
_SEP = r"\s*(?:\||·|•|/|–|—|-|,|;)?\s*"
_TAIL = rf"(?:{_SEP}(?:{_READ_TIME}|(?:(?:{_PUBLISHED})\s*)?{_WHEN}|{_BY}\s+{_NAMES}))*"

# --- The table ----------------------------------------------------------------------------

# Each form is the main part of a byline line; more metadata (`_TAIL`) may follow it where
# the last column says so.
BYLINE_PATTERNS: tuple[tuple[str, str, bool], ...] = (
    # "By Jane Doe | 3 min read", "By the Press Office · 12 May 2024", "Par Jean Dupont"
    ("author", rf"{_BY}\s+{_NAMES}", True),
    # "Published 20 November 2026 by Press office", "Updated at 1:23 p.m.",
    # "Last updated: 2 hours ago", "Veröffentlicht am 20. November 2026" (an author after
    # the date is part of the tail), "Press office | Published 20 November 2026" (the name
    # first)
    ("published", rf"(?:{_NAMES}{_SEP})?(?:{_PUBLISHED})\s*{_WHEN}", True),
    # "3 min read", "Reading time: 4 minutes"
    ("reading time", rf"(?:{_READ_TIME})", True),
    # A date on its own line: "Thursday, 20 November 2026", "November 20, 2026 at 3:00 pm"
    # (not a time alone: "10 p.m." heads a section of a live blog)
    ("date alone", rf"(?:{_DATE}|{_AGO})(?:,?\s*{_AT}?\s*(?:{_TIME}){_ZONE})?", True),
    # The time first: "5:45 AM PST 11/19/2019 by Jane Doe", "10:02 a.m., Nov. 20, 2026"
    ("time then date", rf"(?:{_TIME}){_ZONE},?\s*(?:on\s+)?(?:{_DATE})", True),
    # "Berlin and Vienna, 2 November 2023", "BRUSSELS, 20 Nov 2026 –" (place, date)
    ("place and date", rf"{_NAMES}\s*(?:\((?-i:[A-Z][\w ]+)\))?,\s*{_DATE}\s*[-–—]?", False),
)


def _compile(patterns: tuple[tuple[str, str, bool], ...]) -> re.Pattern[str]:
    """The table as one regex, in which the forms followed by a tail share one copy of it.

    The building blocks are pasted into each other as text, so the regex is as long as every
    copy of them together, and compiling it (at import, in every `monitor` process that
    extracts) costs time in proportion. A regex per form, each with its own tail, came to
    110,000 characters and 0.13 s, a sixth of `monitor check`'s imports; this one is 22,000
    characters and 0.03 s. Which form matches does not matter, only whether one does.
    """

    def either(forms: list[str]) -> str:
        # each form on a line of its own: a verbose comment at the end of one ends there
        return "(?:" + "\n|".join(forms) + "\n)"

    with_tail = either([pattern for _, pattern, tail in patterns if tail])
    without_tail = either([pattern for _, pattern, tail in patterns if not tail])
    return re.compile(
        rf"(?:{with_tail}{_TAIL}|{without_tail})\s*\]?\s*[.:]?", re.IGNORECASE | re.VERBOSE
    )


_BYLINE = _compile(BYLINE_PATTERNS)


def is_byline(line: str) -> bool:
    """Whether one line is only a byline or dateline (who wrote it, when, how long to read)."""
    line = line.strip()
    if not line or len(line) > MAX_BYLINE_CHARS:
        return False
    return _BYLINE.fullmatch(line) is not None


def drop_bylines(paragraphs: Sequence[str]) -> list[str]:
    """`paragraphs` without the bylines and datelines at the start and the end of the body.

    From each end, up to `EDGE_PARAGRAPHS` paragraphs are looked at: one made of bylines only
    is dropped, a short one that is not a sentence (a subheading) is stepped over, and the
    first sentence ends the search, so that a date line inside the text stays. The first
    paragraph also loses byline lines that open it (a byline joined to the text by a line
    break), and the last paragraph those that close it. A body of bylines only is returned
    as it is: the page then has nothing else to offer.
    """
    kept = list(paragraphs)
    dropped = _edge_bylines(kept) | {len(kept) - 1 - i for i in _edge_bylines(kept[::-1])}
    result = [p for index, p in enumerate(kept) if index not in dropped]
    if result:
        result[0] = _trim_lines(result[0], from_start=True)
        result[-1] = _trim_lines(result[-1], from_start=False)
    result = [p for p in result if p]
    return result or kept


_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")


def _edge_bylines(paragraphs: Sequence[str]) -> set[int]:
    """Indexes of the byline paragraphs that open `paragraphs`, before its first sentence."""
    found = set()
    for index, paragraph in enumerate(paragraphs[:EDGE_PARAGRAPHS]):
        if _all_bylines(paragraph):
            found.add(index)
        elif len(paragraph) > MAX_BYLINE_CHARS or _SENTENCE_END.search(paragraph):
            break
    return found


def _all_bylines(paragraph: str) -> bool:
    lines = [line for line in paragraph.split("\n") if line.strip()]
    return bool(lines) and all(is_byline(line) for line in lines)


def _trim_lines(paragraph: str, *, from_start: bool) -> str:
    """A paragraph without the byline lines at its start (or end), when text remains."""
    lines = paragraph.split("\n")
    if len(lines) < 2:
        return paragraph
    ordered = lines if from_start else lines[::-1]
    while len(ordered) > 1 and is_byline(ordered[0]):
        ordered = ordered[1:]
    return "\n".join(ordered if from_start else ordered[::-1])
