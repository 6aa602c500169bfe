"""A held-out set for monitor.meaning, written from real statement styles.

Press releases, joint statements, corporate disclosures, government readouts and product
notices, each edited the way such statements are quietly edited after publication. These
cases are NOT walked by the unit tests and the module was not tuned on them: they were
written before the rules, and `benchmarks/meaning.py` measures precision and recall on
them next to the tuned table in `meaning_cases.py`.

The expectation is what a careful analyst would want flagged. Matching in the benchmark is
lenient about phrasing (same kind and direction; each of before/after equal, both missing,
or one containing the other), so "March" matches "by March".
"""

from __future__ import annotations

from meaning_cases import Case, E

HELDOUT: list[Case] = [
    Case(
        "investment-amount",
        "Today, Northwind Energy announced it will invest $2.5 billion in new solar capacity"
        " across Texas and Arizona over the next five years.",
        "Today, Northwind Energy announced it will invest $1.8 billion in new solar capacity"
        " across Texas and Arizona over the next five years.",
        [E("figure", "$2.5 billion", "$1.8 billion")],
    ),
    Case(
        "jobs-softened",
        "The new facility will create 1,200 jobs when it opens in 2027.",
        "The new facility is expected to create up to 1,200 jobs when it opens in 2028.",
        [E("modality", "will", "is expected to", "weaker"), E("date", "2027", "2028")],
    ),
    Case(
        "joint-statement-commitment",
        "The leaders committed to phasing out unabated coal power by 2035.",
        "The leaders aim to phase out unabated coal power by 2035.",
        [E("modality", "committed to", "aim to", "weaker")],
    ),
    Case(
        "joint-statement-party-dropped",
        "The statement was endorsed by the United States, Japan, Canada and the European Union.",
        "The statement was endorsed by the United States, Japan and the European Union.",
        [E("party", "Canada", None)],
    ),
    Case(
        "ceasefire-negation",
        "Both sides agreed that humanitarian convoys will be inspected at the border.",
        "Both sides agreed that humanitarian convoys will not be inspected at the border.",
        [E("negation", "will", "will not")],
    ),
    Case(
        "exclusive-partner",
        "Contoso has been selected as the exclusive cloud provider for the programme.",
        "Contoso has been selected as a cloud provider for the programme.",
        [E("exclusivity", "exclusive", None, "weaker")],
    ),
    Case(
        "ceo-quote-rewritten",
        '"We are confident this acquisition will close in the third quarter," said Maria Lopez,'
        " chief executive of Fabrikam.",
        '"We believe this acquisition can close this year," said Maria Lopez,'
        " chief executive of Fabrikam.",
        [
            E(
                "quote",
                "We are confident this acquisition will close in the third quarter,",
                "We believe this acquisition can close this year,",
            ),
            E("date", "third quarter", "this year"),
        ],
    ),
    Case(
        "guidance-range",
        "The company now expects full-year revenue of $4.1 billion to $4.3 billion.",
        "The company now expects full-year revenue of $3.9 billion to $4.1 billion.",
        [E("figure", "$4.3 billion", "$3.9 billion")],
    ),
    Case(
        "pledge-sentence-deleted",
        "Acme will cut its emissions in half by 2030. The company will also publish an annual"
        " climate report. Acme remains on track with its targets.",
        "Acme will cut its emissions in half by 2030. Acme remains on track with its targets.",
        [E("sentence_removed", "The company will also publish an annual climate report.", None)],
    ),
    Case(
        "safety-sentence-added",
        "The recall affects 40,000 vehicles built between March and June.",
        "The recall affects 40,000 vehicles built between March and June. Owners should not"
        " drive affected vehicles until repairs are completed.",
        [
            E(
                "sentence_added",
                None,
                "Owners should not drive affected vehicles until repairs are completed.",
            )
        ],
    ),
    Case(
        "recall-count",
        "The recall affects 40,000 vehicles built between March and June.",
        "The recall affects 52,000 vehicles built between March and August.",
        [E("figure", "40,000", "52,000"), E("date", "June", "August")],
    ),
    Case(
        "typo-fix",
        "The Ministry of Finance recieved the proposal on Tuesday.",
        "The Ministry of Finance received the proposal on Tuesday.",
        [],
    ),
    Case(
        "style-edit",
        "The agreement, which was signed in Geneva, covers trade and investment.",
        "The agreement, signed in Geneva, covers trade and investment.",
        [],
    ),
    Case(
        "readout-date",
        "The two ministers will meet again in Brussels on 14 October.",
        "The two ministers will meet again in Brussels on 21 October.",
        [E("date", "14 October", "21 October")],
    ),
    Case(
        "readout-place",
        "The two ministers will meet again in Brussels on 14 October.",
        "The two ministers will meet again in Paris on 14 October.",
        [E("party", "Brussels", "Paris")],
    ),
    Case(
        "percent-points",
        "Operating margin improved by 2.1 percentage points to 18.4%.",
        "Operating margin improved by 1.2 percentage points to 17.5%.",
        [
            E("figure", "2.1 percentage points", "1.2 percentage points"),
            E("figure", "18.4%", "17.5%"),
        ],
    ),
    Case(
        "no-longer",
        "The service is available to customers in all EU member states.",
        "The service is no longer available to customers in all EU member states.",
        [E("negation", None, "no longer")],
    ),
    Case(
        "only-added",
        "The update applies to devices sold in Europe.",
        "The update applies only to devices sold in Europe.",
        [E("exclusivity", None, "only", "stronger")],
    ),
    Case(
        "all-to-some",
        "All employees will receive the one-time bonus.",
        "Some employees will receive the one-time bonus.",
        [E("exclusivity", "All", "Some", "weaker")],
    ),
    Case(
        "must-to-should",
        "Suppliers must disclose their emissions every year.",
        "Suppliers should disclose their emissions every year.",
        [E("modality", "must", "should", "weaker")],
    ),
    Case(
        "may-to-will",
        "The board may consider a special dividend.",
        "The board will consider a special dividend.",
        [E("modality", "may", "will", "stronger")],
    ),
    Case(
        "paragraph-reordered",
        "Northwind was founded in 1998.\n\nIt employs 3,000 people.",
        "It employs 3,000 people.\n\nNorthwind was founded in 1998.",
        [],
    ),
    Case(
        "written-figure",
        "The partnership will train ten thousand teachers.",
        "The partnership will train 10,000 teachers.",
        [],
    ),
    Case(
        "timeline-moved",
        "Deliveries are scheduled to begin in the first quarter of 2026.",
        "Deliveries are scheduled to begin in the second half of 2026.",
        [E("date", "first quarter of 2026", "second half of 2026")],
    ),
    Case(
        "fine-amount",
        "The regulator imposed a fine of €4.3 million on the bank.",
        "The regulator imposed a fine of €43 million on the bank.",
        [E("figure", "€4.3 million", "€43 million")],
    ),
    Case(
        "person-replaced",
        "The delegation was led by Deputy Minister Anna Kowalski.",
        "The delegation was led by Deputy Minister Piotr Nowak.",
        [E("party", "Anna Kowalski", "Piotr Nowak")],
    ),
    Case(
        "never-added",
        "The company has shared customer data with advertisers.",
        "The company has never shared customer data with advertisers.",
        [E("negation", None, "never")],
    ),
    Case(
        "list-item-dropped",
        "Partners include Contoso, Fabrikam, Litware and Tailspin.",
        "Partners include Tailspin, Contoso and Fabrikam.",
        [E("party", "Litware", None)],
    ),
    Case(
        "weekday-period",
        "Applications close after 30 days.",
        "Applications close after 14 days.",
        [E("date", "30 days", "14 days")],
    ),
    Case(
        "frequency",
        "The committee will report quarterly to parliament.",
        "The committee will report annually to parliament.",
        [E("date", "quarterly", "annually")],
    ),
    Case(
        "german-statement",
        "Das Unternehmen investiert 500 Millionen Euro in das Werk.\n\nDie Arbeiten beginnen 2025.",
        "Das Unternehmen investiert 450 Millionen Euro in das Werk.\n\nDie Arbeiten beginnen 2026.",
        [E("figure", "500", "450"), E("date", "2025", "2026")],
    ),
    Case(
        "french-quote",
        "« Nous sommes fiers de ce partenariat », a déclaré la directrice.",
        "« Nous sommes heureux de ce partenariat », a déclaré la directrice.",
        [
            E(
                "quote",
                "Nous sommes fiers de ce partenariat",
                "Nous sommes heureux de ce partenariat",
            )
        ],
    ),
    Case(
        "forward-looking-boilerplate-added",
        "Fabrikam reported record sales.",
        "Fabrikam reported record sales.\n\nThis press release contains forward-looking"
        " statements. Actual results may differ materially.",
        [
            E("sentence_added", None, "This press release contains forward-looking statements."),
            E("sentence_added", None, "Actual results may differ materially."),
        ],
    ),
    Case(
        "intends-to-will",
        "The government intends to introduce the bill before the summer recess.",
        "The government will introduce the bill before the summer recess.",
        [E("modality", "intends to", "will", "stronger")],
    ),
    Case(
        "acronym-party",
        "The plan was approved by the IMF and the World Bank.",
        "The plan was approved by the World Bank.",
        [E("party", "IMF", None)],
    ),
]
