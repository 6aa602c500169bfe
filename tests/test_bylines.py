"""Bylines and datelines are dropped from the edges of a statement body, sentences never."""

from __future__ import annotations

import pytest

from monitor.extract import extract_article
from monitor.extract.bylines import drop_bylines, is_byline

# Lines a page prints around a statement: who wrote it, when, how long it takes to read.
BYLINES = [
    "Published 20 November 2026 by Press office",
    "Updated at 1:23 p.m.",
    "Updated at 1:23 p.m. EST",
    "By Jane Doe | 3 min read",
    "By Jane Doe and John Smith",
    "By the Communications Team · 12 May 2024",
    "Last updated: 20 November 2026",
    "Last updated: 2 hours ago",
    "Posted on November 20, 2026 at 3:00 pm",
    "Published: 2026-11-20",
    "Published 2026-11-20T09:30:00+01:00",
    "Thursday, 20 November 2026",
    "November 20, 2026",
    "20/11/2026",
    "November 20, 2026 - 11:28 AM",
    "3 min read",
    "Reading time: 4 minutes",
    "Press office | Published 20 November 2026",
    "Berlin and Vienna, 2 November 2023",
    "BRUSSELS, 20 Nov 2026 –",
    "Written by Maria de la Cruz, 20 Nov. 2026",
    "Release date: 20.11.2026",
    # German, French, Spanish, Italian, Dutch, Portuguese
    "Veröffentlicht am 20. November 2026",
    "Aktualisiert am 20.11.2026, 13:45 Uhr",
    "Von Max Mustermann",
    "Stand: 20.11.2026",
    "Publié le 20 novembre 2026",
    "Mis à jour le 21 novembre 2026 à 10h30",
    "Par Jean Dupont | 4 min de lecture",
    "Publicado el 20 de noviembre de 2026",
    "Actualizado: 21 de noviembre de 2026",
    "Por Juan Pérez",
    "Pubblicato il 20 novembre 2026",
    "Gepubliceerd op 20 november 2026",
    "Door Jan Jansen",
    "Atualizado em 21 de novembro de 2026",
    "sexta-feira, 22 de outubro de 2010 às 20:13",
    "Venerdì 20 novembre 2026",
    "Donderdag 20 november 2026",
    "Tempo de leitura: 2 minutos",
    "Tempo di lettura: 1 minuto",
    # The time first
    "5:45 AM PST 11/19/2026 by Jane Doe",
    "10:02 a.m., Nov. 20, 2026",
    # Korean: "article posted", "posted", "modified"; the date in brackets or year first
    "기사입력 :[ 2026-11-20 17:32 ]",
    "입력 2026.11.20 10:31",
    "수정 2026.11.20. 10:31",
    # Several parts after one another (the forms share what may follow them)
    "Press office | Published 20 November 2026 by Jane Doe",
    "Published 20 November 2026, by Jane Doe | 3 min read",
    "Published 2 hours ago by the News Team",
    "By Jane Doe | Updated 2 hours ago | 20 November 2026",
    "By Jane Doe 20 November 2026 at 3:00 pm CET",
    "3 min read · by Jane Doe",
    "10:02 a.m. on 20 November 2026",
    "November 2026",
    "November 20 2026",
    "Nov. 20",
]

# Real sentences and lines of statements that start like a byline or hold a date.
STATEMENT_LINES = [
    "By 2030 the network will carry twice as much freight.",
    "By signing this agreement, the parties commit to a common timetable.",
    "By the end of the year, all customers will have been contacted.",
    "Published figures show a 4% rise in exports.",
    "Updated guidance will be issued to all members on 20 November 2026.",
    "The ceasefire will take effect on 20 November 2026 at 6:00 a.m.",
    "On 20 November 2026 the ministers met in Berlin.",
    "Posted workers are covered by the same rules.",
    "Date of the next meeting to be announced.",
    "Von Anfang an haben wir mit allen Partnern eng zusammengearbeitet.",
    "Par ailleurs, le conseil a approuvé le budget.",
    "Por último, agradecemos a todos los participantes.",
    "Door deze samenwerking worden de kosten gedeeld.",
    "Stand with Ukraine.",
    "About Contoso Grid",
    "Media contact: press@example.org",
    "Jane Doe, Chief Executive Officer",
    "We will publish the report in November 2026.",
    "- 20 November 2026: the first trains run on the new line.",
    "Q3 2026 revenue: 4.2 billion",
    "10 p.m.",  # a section of a live blog, not a dateline
    "10 p.m. on 20 November 2026 the polls closed.",
    "입력한 정보는 2026.11.20 이후 삭제됩니다.",  # "the data entered is deleted after …"
    "BRUSSELS, 20 Nov 2026 – 3 min read",  # a place and date is followed by nothing more
    "November",
    "Updated",
]


@pytest.mark.parametrize("line", BYLINES)
def test_a_byline_or_dateline_is_recognised(line: str) -> None:
    assert is_byline(line)


@pytest.mark.parametrize("line", STATEMENT_LINES)
def test_a_line_of_the_statement_is_not_a_byline(line: str) -> None:
    assert not is_byline(line)


BODY = ["The two companies agree to electrify the corridor.", "Construction begins in 2027."]


@pytest.mark.parametrize(
    ("paragraphs", "expected"),
    [
        (["By Jane Doe | 3 min read", *BODY], BODY),
        ([*BODY, "Last updated: 20 November 2026"], BODY),
        (["Published 20 November 2026 by Press office", *BODY, "Updated at 1:23 p.m."], BODY),
        # a subheading before the byline stays, the byline goes
        (["Key points", "By Jane Doe", *BODY], ["Key points", *BODY]),
        # a byline joined to the first paragraph by a line break
        ([f"By Jane Doe\n{BODY[0]}", BODY[1]], BODY),
        # a dateline line among the body's middle paragraphs is the statement's business
        ([*BODY, "20 November 2026", *BODY, *BODY], [*BODY, "20 November 2026", *BODY, *BODY]),
        # nothing but a byline: kept, there is nothing else
        (["By Jane Doe"], ["By Jane Doe"]),
    ],
)
def test_bylines_at_the_edges_of_the_body_are_dropped(
    paragraphs: list[str], expected: list[str]
) -> None:
    assert drop_bylines(paragraphs) == expected


def test_a_long_line_that_nearly_matches_is_judged_quickly() -> None:
    # Nested name and date patterns must not backtrack without end on a near miss.
    line = "By " + "Jane Doe and " * 9 + "x"
    assert not is_byline(line)


def test_byline_and_update_line_are_not_in_the_extracted_body() -> None:
    html = """<!DOCTYPE html><html><head><title>Statement on the corridor</title></head><body>
      <main><article><h1>Statement on the corridor</h1>
        <p>Published 20 November 2026 by Press office</p>
        <p>Contoso Grid and Fabrikam Rail have today agreed to electrify the Northern Corridor
        between Hamburg and Gdańsk by 2030, sharing the cost of the new lines.</p>
        <p>By 2030 the corridor will carry twice as much freight as it does today, the two
        companies said in a joint statement issued in Berlin.</p>
        <p>Updated at 1:23 p.m.</p>
      </article></main></body></html>"""

    text = extract_article(html, "https://example.org/news/corridor").text

    assert text.startswith("Contoso Grid and Fabrikam Rail have today agreed")
    assert text.endswith("issued in Berlin.")
    assert "Published 20 November" not in text
    assert "1:23" not in text
