"""The table of cases for monitor.meaning: before, after and the findings expected.

One row per case. `tests/test_meaning.py` walks it (the findings must match exactly, in any
order; ordering has its own test), and `benchmarks/meaning.py` measures precision and recall
on it and on the held-out set in `meaning_heldout.py`. A row with no expected findings is a
change that must give no finding beyond the plain diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class E:
    """An expected finding: kind, the words before and after, and the direction if any."""

    kind: str
    before: str | None
    after: str | None
    direction: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    before: str
    after: str
    expected: list[E] = field(default_factory=list)
    old_title: str | None = None
    new_title: str | None = None


CASES: list[Case] = [
    # --- figures ---------------------------------------------------------------------------
    Case(
        "figure-amount",
        "The company will invest $10 billion in the region.",
        "The company will invest $13 billion in the region.",
        [E("figure", "$10 billion", "$13 billion")],
    ),
    Case(
        "figure-written-two-ways",
        "The company will invest $10bn in the region.",
        "The company will invest $10 billion in the region.",
    ),
    Case(
        "figure-written-out-number",
        "The programme will hire ten engineers.",
        "The programme will hire 10 engineers.",
    ),
    Case(
        "figure-written-out-changed",
        "The programme will hire ten engineers.",
        "The programme will hire twelve engineers.",
        [E("figure", "ten", "twelve")],
    ),
    Case(
        "figure-percent",
        "Sales rose 12% in the period.",
        "Sales rose 9% in the period.",
        [E("figure", "12%", "9%")],
    ),
    Case(
        "figure-percent-written-two-ways",
        "Sales rose 12 percent in the period.",
        "Sales rose 12% in the period.",
    ),
    Case(
        "figure-only-moved",
        "Revenue rose 10% to $5 billion.",
        "Revenue reached $5 billion, up 10%.",
    ),
    Case(
        "figure-moved-between-sentences",
        "Acme employs 3,000 people. It has offices in Oslo.",
        "Acme has offices in Oslo. It employs 3,000 people.",
    ),
    Case(
        "figure-removed",
        "The fund will provide $200 million to local schools.",
        "The fund will provide support to local schools.",
        [E("figure", "$200 million", None)],
    ),
    Case(
        "figure-added",
        "The fund will provide support to local schools.",
        "The fund will provide $200 million to local schools.",
        [E("figure", None, "$200 million")],
    ),
    Case(
        "figure-range",
        "Growth of 3-4% is expected.",
        "Growth of 2-3% is expected.",
        [E("figure", "3-4%", "2-3%")],
    ),
    Case(
        "figure-thousands",
        "The recall covers 40,000 vehicles.",
        "The recall covers 52,000 vehicles.",
        [E("figure", "40,000", "52,000")],
    ),
    Case(
        "figure-euro",
        "A fine of €4.3 million was imposed.",
        "A fine of €43 million was imposed.",
        [E("figure", "€4.3 million", "€43 million")],
    ),
    Case(
        "figure-scale-written-two-ways",
        "The deal is worth $1.5 billion.",
        "The deal is worth $1,500 million.",
    ),
    Case(
        "figure-one-of-is-no-figure",
        "It is one of the largest projects in Europe.",
        "It is one of the biggest projects in Europe.",
    ),
    # --- dates -----------------------------------------------------------------------------
    Case(
        "date-year",
        "The plant will open in 2025.",
        "The plant will open in 2026.",
        [E("date", "in 2025", "in 2026")],
    ),
    Case(
        "date-by-month",
        "The review will be finished by March.",
        "The review will be finished by June.",
        [E("date", "by March", "by June")],
    ),
    Case(
        "date-may-as-month",
        "The rules take effect in May.",
        "The rules take effect in June.",
        [E("date", "in May", "in June")],
    ),
    Case(
        "date-may-as-modal-and-month",
        "Prices may rise in May.",
        "Prices will rise in May.",
        [E("modality", "may", "will", "stronger")],
    ),
    Case(
        "date-written-two-ways",
        "The summit opens on 5 March 2026.",
        "The summit opens on March 5, 2026.",
    ),
    Case(
        "date-day",
        "The summit opens on 5 March 2026.",
        "The summit opens on 12 March 2026.",
        [E("date", "on 5 March 2026", "on 12 March 2026")],
    ),
    Case(
        "date-frequency",
        "The board will report quarterly.",
        "The board will report annually.",
        [E("date", "quarterly", "annually")],
    ),
    Case(
        "date-quarter-written-two-ways",
        "Deliveries begin in Q1 2026.",
        "Deliveries begin in the first quarter of 2026.",
    ),
    Case(
        "date-quarter-hyphenated",
        "Q3 revenue was $1.2 billion.",
        "Third-quarter revenue was $1.2 billion.",
    ),
    Case(
        "date-time-of-day",
        "The call starts at 8:30 a.m. ET.",
        "The call starts at 9:00 a.m. ET.",
        [E("date", "8:30 a.m.", "9:00 a.m.")],
    ),
    Case(
        "date-season",
        "Work begins in the spring of 2027.",
        "Work begins in the autumn of 2027.",
        [E("date", "in the spring of 2027", "in the autumn of 2027")],
    ),
    Case(
        "date-period",
        "Refunds are paid within 30 days.",
        "Refunds are paid within 90 days.",
        [E("date", "within 30 days", "within 90 days")],
    ),
    Case(
        "date-period-written-out",
        "The programme runs for five years.",
        "The programme runs for 5 years.",
    ),
    Case(
        "date-iso",
        "The offer expires on 2026-01-31.",
        "The offer expires on 2026-02-28.",
        [E("date", "on 2026-01-31", "on 2026-02-28")],
    ),
    # --- modality --------------------------------------------------------------------------
    Case(
        "modality-will-may",
        "We will cut emissions in half.",
        "We may cut emissions in half.",
        [E("modality", "will", "may", "weaker")],
    ),
    Case(
        "modality-may-will",
        "The board may approve the merger.",
        "The board will approve the merger.",
        [E("modality", "may", "will", "stronger")],
    ),
    Case(
        "modality-commits-aims",
        "Acme commits to net zero emissions.",
        "Acme aims to reach net zero emissions.",
        [E("modality", "commits to", "aims to", "weaker")],
    ),
    Case(
        "modality-must-should",
        "Suppliers must publish their data.",
        "Suppliers should publish their data.",
        [E("modality", "must", "should", "weaker")],
    ),
    Case(
        "modality-will-plans",
        "The city will build 500 homes.",
        "The city plans to build 500 homes.",
        [E("modality", "will", "plans to", "weaker")],
    ),
    Case(
        "modality-intends-will",
        "The ministry intends to publish the report.",
        "The ministry will publish the report.",
        [E("modality", "intends to", "will", "stronger")],
    ),
    Case(
        "modality-same-strength",
        "The parties shall meet each year.",
        "The parties will meet each year.",
    ),
    Case(
        "modality-inflection-only",
        "The group plans to expand.",
        "The group is planning to expand.",
    ),
    Case(
        "modality-will-as-name",
        "The speech was given by Will Jones.",
        "The speech was given by Will Smith.",
        [E("party", "Will Jones", "Will Smith")],
    ),
    Case(
        "modality-noun-will",
        "It reflects the will of the people.",
        "It reflects the wishes of the people.",
    ),
    Case(
        "modality-expected",
        "The deal will close this year.",
        "The deal is expected to close this year.",
        [E("modality", "will", "is expected to", "weaker")],
    ),
    Case(
        "modality-could-must",
        "Banks could face new rules.",
        "Banks must face new rules.",
        [E("modality", "could", "must", "stronger")],
    ),
    # --- negation --------------------------------------------------------------------------
    Case(
        "negation-will-not-to-will",
        "We will not raise prices this year.",
        "We will raise prices this year.",
        [E("negation", "will not", "will")],
    ),
    Case(
        "negation-added",
        "The agency will publish the names.",
        "The agency will not publish the names.",
        [E("negation", "will", "will not")],
    ),
    Case(
        "negation-no-longer",
        "The service is available in Canada.",
        "The service is no longer available in Canada.",
        [E("negation", "is", "is no longer")],
    ),
    Case(
        "negation-never",
        "The company has sold user data.",
        "The company has never sold user data.",
        [E("negation", "has", "has never")],
    ),
    Case(
        "negation-contraction",
        "We won't close the factory.",
        "We will close the factory.",
        [E("negation", "won't", "will")],
    ),
    Case(
        "negation-without",
        "The bill passed without amendments.",
        "The bill passed with amendments.",
        [E("negation", "without", None)],
    ),
    Case(
        "negation-reworded-same",
        "We will not raise prices.",
        "We will never raise prices.",
    ),
    Case(
        "negation-fixed-phrase",
        "Payment is due by March.",
        "Payment is due no later than March.",
    ),
    Case(
        "negation-not-only",
        "The plan helps farmers and exporters.",
        "The plan helps not only farmers but also exporters.",
    ),
    # --- exclusivity -----------------------------------------------------------------------
    Case(
        "exclusivity-exclusive-removed",
        "Acme is the exclusive distributor in Asia.",
        "Acme is a distributor in Asia.",
        [E("exclusivity", "exclusive", None, "weaker")],
    ),
    Case(
        "exclusivity-only-added",
        "The offer applies to new customers.",
        "The offer applies only to new customers.",
        [E("exclusivity", None, "only", "stronger")],
    ),
    Case(
        "exclusivity-all-most",
        "All stores will close on Sunday.",
        "Most stores will close on Sunday.",
        [E("exclusivity", "All", "Most", "weaker")],
    ),
    Case(
        "exclusivity-some-every",
        "Some members will vote.",
        "Every member will vote.",
        [E("exclusivity", "Some", "Every", "stronger")],
    ),
    Case(
        "exclusivity-same-scope",
        "All members will vote.",
        "Every member will vote.",
    ),
    Case(
        "exclusivity-at-all",
        "There is no risk.",
        "There is no risk at all.",
    ),
    Case(
        "exclusivity-sole-removed",
        "Fabrikam is the sole supplier of the parts.",
        "Fabrikam is a supplier of the parts.",
        [E("exclusivity", "sole", None, "weaker")],
    ),
    Case(
        "exclusivity-under-negation",
        "The agreement does not give either company exclusive rights to the technology.",
        "The agreement does not give either company rights to the technology.",
        [E("exclusivity", "exclusive", None, "stronger")],
    ),
    Case(
        "exclusivity-in-a-quote",
        '"This deal will create value for all shareholders," she said.',
        '"This deal will create value for shareholders," she said.',
        [
            E("exclusivity", "all", None, "weaker"),
            E(
                "quote",
                "This deal will create value for all shareholders,",
                "This deal will create value for shareholders,",
            ),
        ],
    ),
    # --- parties ---------------------------------------------------------------------------
    Case(
        "party-replaced",
        "The contract was awarded to Contoso.",
        "The contract was awarded to Fabrikam.",
        [E("party", "Contoso", "Fabrikam")],
    ),
    Case(
        "party-list-reordered-one-dropped",
        "Partners include Apple, Google, Microsoft and Meta.",
        "Partners include Google, Apple and Meta.",
        [E("party", "Microsoft", None)],
    ),
    Case(
        "party-list-reordered",
        "Partners include Apple, Google and Meta.",
        "Partners include Meta, Apple and Google.",
    ),
    Case(
        "party-acronym-removed",
        "The plan was approved by NATO and the EU.",
        "The plan was approved by the EU.",
        [E("party", "NATO", None)],
    ),
    Case(
        "party-added",
        "The statement was signed by Japan and Canada.",
        "The statement was signed by Japan, Canada and Brazil.",
        [E("party", None, "Brazil")],
    ),
    Case(
        "party-name-at-sentence-start",
        "Acme and Globex signed the deal. Acme will pay.",
        "Globex signed the deal. Acme will pay.",
        [E("party", "Acme", None)],
    ),
    Case(
        "party-sentence-start-common-word",
        "However, the talks continue.",
        "Moreover, the talks continue.",
    ),
    Case(
        "party-sentence-start-noun",
        "Investors welcomed the plan.",
        "Analysts welcomed the plan.",
    ),
    Case(
        "party-name-longer",
        "The deal was signed with Acme.",
        "The deal was signed with Acme Corporation.",
    ),
    Case(
        "party-acronym-spelled-out",
        "The EU and the UK signed the agreement.",
        "The European Union and the United Kingdom signed the agreement.",
    ),
    Case(
        "party-job-title-spelled-out",
        '"We are delighted," said John Smith, CEO of Acme.',
        '"We are delighted," said John Smith, Chief Executive Officer of Acme.',
    ),
    Case(
        "party-job-title-shortened",
        '"We grew," said Ingrid Halvorsen, Chief Executive Officer of Northwind.',
        '"We grew," said Ingrid Halvorsen, CEO of Northwind.',
    ),
    Case(
        "party-title-before-name",
        "The delegation was led by Deputy Minister Anna Kowalski.",
        "The delegation was led by Minister Anna Kowalski.",
    ),
    Case(
        "figure-unit-written-two-ways",
        "The target is 3 gigawatts of capacity.",
        "The target is 3 GW of capacity.",
    ),
    Case(
        "figure-unit-hyphenated",
        "They will electrify the 420-kilometre corridor.",
        "They will electrify the 380-kilometre corridor.",
        [E("figure", "420-kilometre", "380-kilometre")],
    ),
    Case(
        "date-half-of-next-year",
        "Two wind farms open before the end of the year.",
        "Two wind farms open in the first half of next year.",
        [E("date", "before the end of the year", "in the first half of next year")],
    ),
    Case(
        "party-heading-reworded",
        "Outlook\n\nWe expect growth.",
        "Outlook and Guidance\n\nWe expect growth.",
    ),
    Case(
        "party-heading-with-a-name-after-the-colon",
        "Media Contact: Kari Nordmann\n\nText.",
        "Media Contacts: Kari Nordmann, Ola Hansen\n\nText.",
        [E("party", None, "Ola Hansen")],
    ),
    Case(
        "party-possessive",
        "The board backed Acme's offer.",
        "The board backed the offer from Acme.",
    ),
    Case(
        "party-person",
        "The delegation was led by Anna Kowalski.",
        "The delegation was led by Piotr Nowak.",
        [E("party", "Anna Kowalski", "Piotr Nowak")],
    ),
    Case(
        "party-unit-is-no-name",
        "The farm will produce 100 MW of power.",
        "The farm will produce 120 MW of power.",
        [E("figure", "100 MW", "120 MW")],
    ),
    # --- quotes ----------------------------------------------------------------------------
    Case(
        "quote-rewritten",
        '"We are proud of this result," said Jane Doe.',
        '"We are pleased with this result," said Jane Doe.',
        [E("quote", "We are proud of this result,", "We are pleased with this result,")],
    ),
    Case(
        "quote-curly",
        "“This is a historic day,” the minister said.",
        "“This is an important day,” the minister said.",
        [E("quote", "This is a historic day,", "This is an important day,")],
    ),
    Case(
        "quote-outside-text-edited",
        '"We are proud of this result," said Jane Doe, the chief executive.',
        '"We are proud of this result," said Jane Doe, chief executive.',
    ),
    # --- sentences -------------------------------------------------------------------------
    Case(
        "sentence-removed-pledge",
        "We will cut emissions by 2030. We will also publish an annual report. We thank our staff.",
        "We will cut emissions by 2030. We thank our staff.",
        [E("sentence_removed", "We will also publish an annual report.", None)],
    ),
    Case(
        "sentence-added",
        "The recall covers 40,000 vehicles.",
        "The recall covers 40,000 vehicles. Owners should stop driving them.",
        [E("sentence_added", None, "Owners should stop driving them.")],
    ),
    Case(
        "paragraph-removed",
        "The plant opens in 2026.\n\nIt will employ local workers. Training starts soon.",
        "The plant opens in 2026.",
        [
            E("sentence_removed", "It will employ local workers.", None),
            E("sentence_removed", "Training starts soon.", None),
        ],
    ),
    Case(
        "paragraph-moved",
        "First paragraph here.\n\nSecond paragraph here.\n\nThird paragraph here.",
        "Second paragraph here.\n\nThird paragraph here.\n\nFirst paragraph here.",
    ),
    Case(
        "sentence-moved-between-paragraphs",
        "The plant opens in 2026. It is the largest in Europe.\n\nIt will employ 500 people.",
        "The plant opens in 2026.\n\nIt will employ 500 people. It is the largest in Europe.",
    ),
    Case(
        "sentence-split",
        "The plant opens in 2026, and it will employ 500 people from the region.",
        "The plant opens in 2026. It will employ 500 people from the region.",
    ),
    Case(
        "sentence-abbreviation-no-split",
        "Mr. Smith met Dr. Jones in Oslo.",
        "Mr. Smith met Dr. Jones in Bergen.",
        [E("party", "Oslo", "Bergen")],
    ),
    # --- no finding beyond the plain change --------------------------------------------------
    Case("plain-typo", "The ministry recieved the letter.", "The ministry received the letter."),
    Case(
        "plain-punctuation",
        "The talks, which began today, continue.",
        "The talks which began today continue.",
    ),
    Case(
        "plain-synonym",
        "The company said the plan is ambitious.",
        "The company stated the plan is ambitious.",
    ),
    Case("plain-whitespace", "The  plan is\nready.", "The plan is ready."),
    Case(
        "plain-article",
        "The board approved a plan for growth.",
        "The board approved the plan for growth.",
    ),
    # --- headline --------------------------------------------------------------------------
    Case(
        "headline-changed",
        "Body text stays the same.",
        "Body text stays the same.",
        [E("headline", "Acme to cut 500 jobs", "Acme to cut 300 jobs")],
        old_title="Acme to cut 500 jobs",
        new_title="Acme to cut 300 jobs",
    ),
    # --- several at once ---------------------------------------------------------------------
    Case(
        "combined-modality-and-figure",
        "The company will invest $10 billion by 2030.",
        "The company may invest $8 billion by 2032.",
        [
            E("modality", "will", "may", "weaker"),
            E("figure", "$10 billion", "$8 billion"),
            E("date", "by 2030", "by 2032"),
        ],
    ),
    # --- other languages -------------------------------------------------------------------
    Case(
        "german-figure-and-date",
        "Das Unternehmen investiert 500 Millionen Euro. Die Arbeiten beginnen 2025.",
        "Das Unternehmen investiert 450 Millionen Euro. Die Arbeiten beginnen 2026.",
        [E("figure", "500 Millionen", "450 Millionen"), E("date", "2025", "2026")],
    ),
    Case(
        "german-nouns-are-no-names",
        "Die Regierung unterstützt das Projekt nicht.",
        "Die Regierung unterstützt das Vorhaben nicht.",
    ),
    Case(
        "japanese-figure",
        "同社は100億円を投資する。工場は2025年に稼働する。",
        "同社は130億円を投資する。工場は2025年に稼働する。",
        [E("figure", "100", "130")],
    ),
]
