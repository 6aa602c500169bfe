"""Statement extraction: what a user sees in the body, and what must never end up there."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.extract.article import Article, ExtractionError, extract_article, extract_statement

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
PRESS_URL = "https://newsroom.northwind.example/news/q1-2024-results"

PRESS_RELEASE_BODY = [
    "OSLO, 18 April 2024 – Northwind Energy today reported revenue of NOK 4.2 billion for the "
    "first quarter of 2024, an increase of 18 percent compared with the same period last year, "
    "driven by higher output from its offshore wind portfolio.",
    "Operating profit rose to NOK 1.1 billion, while net debt fell for the fourth consecutive "
    "quarter. The board confirmed its dividend policy and its guidance for the full year.",
    "“Our turbines produced more electricity this winter than in any quarter since the company "
    "was founded,” said Ingrid Halvorsen, Chief Executive Officer of Northwind Energy. “We will "
    "keep investing in grid connections and storage so that this growth reaches our customers.”",
    "Outlook",
    "Northwind expects to commission two further wind farms before the end of the year and "
    "maintains its target of 3 gigawatts of installed capacity by 2026.",
    "The full interim report and the presentation for analysts are available on the company’s "
    "investor pages.",
    "Media contact",
    "Kari Nordmann, Head of Communications, press@northwind.example",
]

# Text of the press release page that is not the statement.
PRESS_RELEASE_NOISE = [
    "cookies",  # consent banner
    "Home",  # navigation
    "Careers",
    "Search the newsroom",
    "Financial news",  # kicker link
    "Viewed",  # view counter
    "Share on",
    "Advertisement",
    "enable JavaScript",  # <noscript> of the ad slot
    "renderAd",  # inline script
    "Read more",  # in-body teaser
    "fourth-quarter 2023",
    "Tags",
    "Most read",
    "Bergen",
    "Subscribe",
    "Related news",
    "capital markets day",
    "All rights reserved",
    "Page generated",
    "dataLayer",
]


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


# --- Automatic extraction ---------------------------------------------------------------------


def test_press_release_body_is_found_whole_and_in_order() -> None:
    article = extract_article(page("press_release.html"), PRESS_URL)

    assert paragraphs(article.text) == PRESS_RELEASE_BODY


@pytest.mark.parametrize("noise", PRESS_RELEASE_NOISE)
def test_press_release_boilerplate_stays_out_of_the_body(noise: str) -> None:
    article = extract_article(page("press_release.html"), PRESS_URL)

    assert noise not in article.text


def test_title_comes_without_site_name_and_date_from_metadata() -> None:
    article = extract_article(page("press_release.html"), PRESS_URL)

    assert article.title == "Northwind Energy reports record first-quarter results"
    assert article.published == dt.date(2024, 4, 18)
    assert not article.text.startswith(article.title)  # the headline is not repeated as body


def test_noise_and_markup_changes_alone_give_identical_text() -> None:
    # Same statement; different cookie banner, counters, ads, sidebars, related links, footer
    # timestamp, wrapper divs, class names, whitespace and <strong>/<b>.
    original = extract_article(page("press_release.html"), PRESS_URL)
    restyled = extract_article(page("press_release_restyled.html"), PRESS_URL)

    assert restyled.text == original.text
    assert restyled.title == original.title


def test_a_one_word_edit_of_the_statement_changes_the_text() -> None:
    html = page("press_release_restyled.html")
    edited = html.replace("fell for the fourth consecutive quarter", "fell for the fourth quarter")

    before, after = extract_article(html).text, extract_article(edited).text

    assert before != after
    assert "fell for the fourth quarter" in after


def test_joint_statement_keeps_both_companies_in_order() -> None:
    text = extract_article(page("joint_statement.html")).text
    parts = paragraphs(text)

    weber = next(i for i, p in enumerate(parts) if "said Anna Weber" in p)
    nowak = next(i for i, p in enumerate(parts) if "said Tomasz Nowak" in p)
    assert parts[0].startswith("Contoso Grid and Fabrikam Rail have today agreed")
    assert weber < nowak < parts.index("About Contoso Grid") < parts.index("About Fabrikam Rail")
    assert parts[-1].startswith("Fabrikam Rail is a freight railway")
    for noise in ("Latest news", "Lübeck", "Imprint", "Friedrichstraße", "Projects", "DE"):
        assert noise not in text


def test_joint_statement_title_and_date_from_structured_data() -> None:
    article = extract_article(page("joint_statement.html"))

    assert article.title == (
        "Joint statement by Contoso Grid and Fabrikam Rail on the Northern Corridor electrification"
    )
    assert article.published == dt.date(2023, 11, 2)


def test_list_items_are_paragraphs_between_their_lead_in_and_what_follows() -> None:
    parts = paragraphs(extract_article(page("list_in_body.html")).text)

    start = parts.index("Our investigation found three causes:")
    assert parts[start : start + 8] == [
        "Our investigation found three causes:",
        "- An expired certificate on an internal authentication service.",
        "- Monitoring that checked the service’s availability but not its certificate.",
        "- A failover procedure that had not been tested since the last upgrade.",
        "We have taken the following steps to prevent a repeat:",
        "- All certificates are now renewed automatically, 30 days before they expire.",
        "- Certificate expiry is monitored for every internal service.",
        "- Failover is tested every month.",
    ]
    assert parts[start + 8].startswith("Customers on an enterprise plan")


def test_body_split_into_chunks_around_ads_is_joined() -> None:
    article = extract_article(page("split_body.html"))

    assert [p.split(",")[0].split(" ")[0] for p in paragraphs(article.text)] == [
        "From",
        "Over",
        "Customers",
        "We",
    ]
    assert "Advertisement" not in article.text


def test_short_statement_among_boilerplate() -> None:
    article = extract_article(page("short_statement.html"))

    assert article.text == (
        "We are aware of reports about unauthorised access to a supplier's systems. Our own "
        "systems were not affected and no customer data was exposed."
    )
    assert article.title == "Statement on reports about a data incident"
    assert article.published == dt.date(2024, 5, 12)


def test_body_of_a_script_rendered_page_comes_from_its_structured_data() -> None:
    article = extract_article(page("script_rendered.html"))

    assert article.text.startswith("Tailspin Toys is withdrawing the Sky Glider kite from sale")
    assert article.text.endswith("for a full refund, with or without a receipt.")
    assert "Loading" not in article.text
    assert article.title == "Product withdrawal: Sky Glider kite"


def test_page_without_an_article_gives_empty_text() -> None:
    article = extract_article(page("newsroom_index.html"))

    assert article.text == ""
    assert article.title == "Newsroom"


def test_page_with_only_navigation_gives_empty_text() -> None:
    html = "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>"

    assert extract_article(html).text == ""


def test_entities_and_script_text_are_handled_as_text() -> None:
    article = extract_article(page("tricky_text.html"))

    assert article.title == 'Smith & Jones on <script> tags & "safe" HTML'
    assert "a comment such as <script>alert(1)</script> is shown as text" in article.text
    assert "written as &amp; in the page source" in article.text
    for never in ("trackingPixel", "must never reach", "hijacked", "color: #333"):
        assert never not in article.text
    assert len(paragraphs(article.text)) == 2


def test_source_line_breaks_inside_a_paragraph_are_spaces() -> None:
    text = extract_article(page("press_release.html")).text

    assert all("\n" not in paragraph for paragraph in paragraphs(text))
    assert "  " not in text


def test_truncated_page_keeps_what_arrived() -> None:
    html = page("press_release.html")
    cut = html[: html.index("The board confirmed")]

    text = extract_article(cut).text

    assert text.startswith("OSLO, 18 April 2024 – Northwind Energy today reported revenue")
    assert "Operating profit rose to NOK 1.1 billion" in text


def test_malformed_markup_is_read_as_browsers_would() -> None:
    html = (
        "<html><head><title>Statement</title><body><div class=content>"
        "<p>We have paused the rollout of the new app version <b>after reports of crashes"
        "<p>Customers who installed it can keep using it safely</i>, and an update follows."
        "<p>We apologise for the inconvenience.</div></span></td>"
    )

    article = extract_article(html)

    assert paragraphs(article.text) == [
        "We have paused the rollout of the new app version after reports of crashes",
        "Customers who installed it can keep using it safely, and an update follows.",
        "We apologise for the inconvenience.",
    ]


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n\t ",
        "<!-- nothing but a comment -->",
        "<html></html>",
        "<html><body></body></html>",
        "\x00" * 100,
        bytes(range(256)).decode("latin-1") * 20,  # an image or a PDF decoded as text
        "%PDF-1.7\n" + "".join(map(chr, range(0x80, 0x100))) * 10,
    ],
    ids=["empty", "whitespace", "comment", "empty-html", "empty-body", "nul", "binary", "pdf"],
)
def test_empty_or_garbage_input_gives_an_empty_article(html: str) -> None:
    assert extract_article(html) == Article(title="", text="")


def test_text_without_article_markup_is_still_found() -> None:
    html = (
        "<html><body><nav><a href='/'>Home</a> <a href='/press'>Press</a></nav>"
        "<div>We are aware of the reports and are looking into them with our partners.<br>"
        "More information will follow as soon as we have it.</div>"
        "<footer>© 2024 Example</footer></body></html>"
    )

    assert extract_article(html).text == (
        "We are aware of the reports and are looking into them with our partners.\n"
        "More information will follow as soon as we have it."
    )


def test_deeply_nested_page_does_not_crash() -> None:
    html = "<div>" * 20_000 + page("short_statement.html")

    article = extract_article(html)

    assert isinstance(article.text, str)


def test_huge_page_is_extracted() -> None:
    sidebar = "".join(
        f'<li><a href="/n/{i}">Older press release {i}</a></li>' for i in range(20_000)
    )
    html = page("press_release.html").replace(
        '<aside class="sidebar">', f"<aside><ul>{sidebar}</ul>"
    )

    assert paragraphs(extract_article(html).text) == PRESS_RELEASE_BODY


# Pieces of markup that trip up parsers: unclosed, misnested and raw-text elements, entities,
# invisible characters, lone surrogates from badly decoded responses.
MARKUP = st.sampled_from(
    [
        "<p>", "</p>", "<div class='article-body'>", "</div>", "<ul><li>", "</li>", "<table><tr>",
        "<td>", "<a href='/x'>", "<a href='mailto:a@b.example'>", "</a>", "<h2>", "</h2>", "<br>",
        "<script>", "</script>", "<style>", "<pre>", "<!--", "-->", "<![CDATA[", "<title>",
        "<article>", "<nav>", "<footer>", "&amp;", "&lt;", "&#0;", "&#xD800;", "\u00a0", "\u200b",
        "\ud800", "\x00", "\n\n", " | ", "Read more: ",
    ]
)  # fmt: skip
HTMLISH = st.lists(st.one_of(MARKUP, st.text(max_size=40)), max_size=60).map("".join)


@settings(max_examples=150, deadline=None)
@given(HTMLISH)
def test_any_input_gives_an_article_with_tidy_paragraphs(html: str) -> None:
    article = extract_article(html)

    assert article.text == article.text.strip()
    assert "\n\n\n" not in article.text
    assert all(paragraph.strip() for paragraph in paragraphs(article.text) if article.text)


@settings(max_examples=100, deadline=None)
@given(HTMLISH, st.sampled_from(["div", "p, li", "body", "td:nth-child(2)"]))
def test_statement_extraction_fails_only_with_extraction_error(html: str, selector: str) -> None:
    try:
        article = extract_statement(html, selector=selector, ignore=[re.compile(r"\d+")])
    except ExtractionError:
        return
    assert article.text.strip()


# --- Per-source settings ----------------------------------------------------------------------


def test_selector_takes_exactly_the_matched_elements() -> None:
    article = extract_statement(
        page("joint_statement.html"), selector="div.statement-text, div.contacts"
    )
    parts = paragraphs(article.text)

    assert parts[0].startswith("Contoso Grid and Fabrikam Rail have today agreed")
    assert "About Fabrikam Rail" in parts
    # The contacts, which automatic extraction leaves out; <br> breaks lines in a paragraph.
    assert parts[-2:] == [
        "Contoso Grid press office\n+49 30 555 0100\npresse@contoso.example",
        "Fabrikam Rail media relations\n+48 22 555 0199\nmedia@fabrikam.example",
    ]
    assert "Joint statement by" not in article.text  # the <h1> is outside the selection
    assert "Latest news" not in article.text
    assert article.title.startswith("Joint statement by Contoso Grid")
    assert article.published == dt.date(2023, 11, 2)


def test_selector_drops_scripts_and_styles_inside_the_selection() -> None:
    text = extract_statement(page("tricky_text.html"), selector=".entry-content").text

    assert "trackingPixel" not in text
    assert "color: #333" not in text
    assert "a comment such as <script>alert(1)</script> is shown as text" in text


def test_selector_gives_the_same_paragraphs_as_automatic_extraction() -> None:
    automatic = extract_statement(page("list_in_body.html"))
    selected = extract_statement(page("list_in_body.html"), selector="article > :not(h1)")

    assert selected.text == automatic.text


def test_selector_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(ExtractionError, match=r"selector '\.press-body' matched nothing"):
        extract_statement(page("press_release.html"), selector=".press-body")


def test_invalid_selector_is_an_error_naming_it() -> None:
    with pytest.raises(ExtractionError, match=r"invalid CSS selector 'div\[class='"):
        extract_statement(page("press_release.html"), selector="div[class=")


def test_ignore_pattern_removes_a_changing_line() -> None:
    # "Last updated: …" is a dateline, dropped without any pattern; a visitor counter is not.
    html = page("list_in_body.html").replace(
        "Last updated: 15 March 2024, 16:05 UTC", "Status page views this week: 1,204"
    )
    later = html.replace("1,204", "1,310")
    ignore = [re.compile(r"Status page views this week: .*")]

    first = extract_statement(html, ignore=ignore)
    second = extract_statement(later, ignore=ignore)

    assert "Status page views" in extract_statement(html).text
    assert "Status page views" not in first.text
    assert first.text == second.text
    assert paragraphs(first.text)[-1].startswith("Customers on an enterprise plan")
    assert "\n\n\n" not in first.text


def test_last_updated_line_is_not_part_of_the_body() -> None:
    html = page("list_in_body.html")
    later = html.replace("15 March 2024, 16:05 UTC", "16 March 2024, 09:40 UTC")

    assert "Last updated" not in extract_article(html).text
    assert extract_article(html).text == extract_article(later).text


def test_ignore_pattern_inside_a_paragraph_leaves_tidy_text() -> None:
    ignore = [re.compile(r"If you have questions, please contact your account manager\.")]

    text = extract_statement(page("list_in_body.html"), ignore=ignore).text

    assert (
        "Customers on an enterprise plan will receive a service credit with their next invoice."
        in paragraphs(text)
    )


def test_page_without_statement_text_is_an_error() -> None:
    with pytest.raises(ExtractionError, match="no statement text"):
        extract_statement(page("newsroom_index.html"))


def test_ignoring_all_of_the_text_is_an_error() -> None:
    with pytest.raises(ExtractionError, match="no statement text"):
        extract_statement(page("short_statement.html"), ignore=[re.compile(r"(?s).+")])


def test_empty_selection_is_an_error() -> None:
    html = "<html><body><div class='statement'> <script>x = 1</script> </div></body></html>"

    with pytest.raises(ExtractionError, match="no statement text"):
        extract_statement(html, selector=".statement")


@pytest.mark.parametrize(
    "notice",
    [
        "Advertisement",
        "ADVERTISEMENT",
        "Story continues below advertisement",
        "Anzeige",
        "We use cookies to improve your experience. By continuing to browse you accept our "
        "cookie policy.",
    ],
)
def test_ad_labels_and_cookie_notices_between_paragraphs_are_not_the_statement(
    notice: str,
) -> None:
    first = "Example Corp and Sample Industries today announced a research partnership. " * 3
    second = "The partnership will fund ten doctoral positions over the next five years. " * 3
    page = (
        "<html><head><title>Partnership</title></head><body><article><h1>Partnership</h1>"
        f"<p>{first}</p><p>{notice}</p><p>{second}</p></article></body></html>"
    )

    text = extract_article(page).text

    assert notice not in text
    assert first.strip() in text and second.strip() in text


def test_a_sentence_about_advertisements_stays() -> None:
    body = (
        "The advertisement campaign will run in twelve countries from March. " * 3,
        "Advertising revenue rose by ten percent over the year, the company said. " * 3,
    )
    page = (
        "<html><body><article>" + "".join(f"<p>{p}</p>" for p in body) + "</article></body></html>"
    )

    text = extract_article(page).text

    assert all(p.strip() in text for p in body)


def test_loose_text_between_paragraphs_is_part_of_the_body_and_its_edits_show() -> None:
    # A subheading written as bold text outside any paragraph: the extractor hands it over
    # as loose text after the paragraph before it, which was once dropped unseen.
    body = [
        "Example Corp and Sample Industries today announced a research partnership. " * 2,
        "Under the agreement, Example Corp will provide dedicated capacity to institutions. " * 2,
        "The review board will publish its first annual report in 2028. " * 2,
    ]

    def page(subheading: str) -> str:
        return (
            "<html><head><title>Partnership</title></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>Partnership</h1><div class='body'><p>{body[0]}</p><p>{body[1]}</p>"
            f"<strong>{subheading}</strong><br><p>{body[2]}</p></div></article></body></html>"
        )

    before = paragraphs(extract_article(page("What comes next")).text)
    after = paragraphs(extract_article(page("What comes later")).text)

    assert before == [body[0].strip(), body[1].strip(), "What comes next", body[2].strip()]
    assert "What comes later" in after


def test_a_visible_headline_a_word_apart_from_the_metadata_is_the_title() -> None:
    # Its edit must show as a headline change, so it is read rather than the metadata.
    body = "<p>" + "Example Corp will provide dedicated capacity to research institutions. " * 4
    head = (
        "<html><head><title>Example Corp opens research capacity | Example News</title>"
        '<meta property="og:title" content="Example Corp opens research capacity"></head>'
        "<body><div class='logo'><h1>Example News</h1></div><article><h1>{}</h1>"
    )

    def page(headline: str) -> str:
        return head.format(headline) + body + "</p></article></body></html>"

    shown = extract_article(page("Example Corp opens new research capacity"))
    edited = extract_article(page("Example Corp opens more research capacity"))

    assert shown.title == "Example Corp opens new research capacity"
    assert edited.title == "Example Corp opens more research capacity"
    # The site's logo in an <h1> is never the headline, however short.
    assert extract_article(page("Corporate news")).title == "Example Corp opens research capacity"


@pytest.mark.parametrize(
    "wrapper",
    [
        '<div class="social-media-embed">{}<script src="https://platform.example/widgets.js">'
        "</script></div>",
        '<inline-embed name="blockquote">{}</inline-embed>',
    ],
    ids=["embedded post", "quote box"],
)
def test_a_quote_between_paragraphs_is_part_of_the_body_and_its_edits_show(wrapper: str) -> None:
    first = "The state's new slogan drew a great deal of attention on social media on Monday. " * 2
    second = "So many people were talking about the slogan that it became a top trend. " * 2

    def page(quoted: str) -> str:
        quote = (
            '<blockquote class="embed-post"><div class="embed-post__content">'
            f"<p>{quoted}</p></div></blockquote>"
        )
        return (
            "<html><head><title>Slogan</title></head><body><article><h1>Slogan</h1>"
            f"<p>{first}</p>{wrapper.format(quote)}<p>{second}</p></article></body></html>"
        )

    before = extract_article(page("Yes this is real and the state paid for it.")).text
    after = extract_article(page("Yes this is real and the state paid a lot for it.")).text

    assert "Yes this is real and the state paid for it." in before
    assert before.index(first.strip()) < before.index("Yes this") < before.index(second.strip())
    assert "the state paid a lot for it" in after


def test_a_labelled_block_of_links_to_other_articles_is_not_the_statement() -> None:
    body = [
        "Example Corp and Sample Industries today announced a research partnership. " * 2,
        "The partnership will fund ten doctoral positions over the next five years. " * 2,
        "Both companies will continue to work with other partners in the field. " * 2,
    ]
    more = (
        '<div class="heading-h3">More Great Stories</div><ul>'
        '<li>Unions are coming, <a href="/a">no matter what the platforms say</a></li>'
        '<li>Paid ads are not the problem. <a href="/b">Our perceptions are</a></li></ul>'
    )
    dont_miss = (
        "<p><strong>DON'T MISS</strong></p><p><a href='/c'>A story about something else</a>"
        " [<strong>VIDEO</strong>]<br><a href='/d'>Another story entirely</a></p>"
    )
    page = (
        "<html><head><title>Partnership</title></head><body><article><h1>Partnership</h1>"
        f"<p>{body[0]}</p><p>{body[1]}</p>{dont_miss}<p>{body[2]}</p>{more}"
        "</article></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [p.strip() for p in body]


def test_a_related_label_over_prose_stays_with_the_prose() -> None:
    # A label followed by text rather than links may head part of the statement: kept.
    first = "Example Corp and Sample Industries today announced a research partnership. " * 2
    related = "The partnership builds on an earlier agreement on shared computing capacity. " * 2
    page = (
        "<html><head><title>Partnership</title></head><body><article><h1>Partnership</h1>"
        f"<p>{first}</p><h2>Related coverage</h2><p>{related}</p></article></body></html>"
    )

    text = extract_article(page).text

    assert "Related coverage" in text and related.strip() in text


def test_paragraphs_written_as_text_and_blank_lines_read_as_written() -> None:
    body = [
        "We are not certain when Example Corp last issued four updates to one product line.",
        "Just months after the last <a href='/laptop'>Example Laptop</a> was released, the "
        "company has unveiled a larger model with a new keyboard and better cooling.",
        "It is smaller and thinner than the model of five years ago.<br>Prices start at $2,399.",
    ]
    page = (
        "<html><head><title>Review</title></head><body><div class='content'><h1>Review</h1>"
        "<div class='text'><br><br>\n" + "<br><br>\n".join(body) + "</div></div></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [
        body[0],
        "Just months after the last Example Laptop was released, the company has unveiled a "
        "larger model with a new keyboard and better cooling.",
        "It is smaller and thinner than the model of five years ago.\nPrices start at $2,399.",
    ]


# (case, the statement's paragraphs, the run closing the page's text after them)
CLOSING_RUNS = [
    (
        # the statement's own sentence about newsletters stays: only the closing run goes
        "offers and prompts",
        [
            "Example Corp and Sample Industries today announced a research partnership. " * 2,
            "Readers who subscribe to the partners' newsletters will hear about the results. " * 2,
        ],
        [
            "Like this story? Share it with a friend!",
            "Get the latest updates right in your inbox. Sign up for our newsletters.",
            "Tell us what you think...",
            "Comments",
        ],
    ),
    (
        "credits and reporter contacts",
        [
            "Example Corp and Sample Industries today announced a research partnership. " * 2,
            "Reporters asked both companies about the cost; neither would comment on it. " * 2,
        ],
        [
            "___",
            "Associated Press writers Jane Doe and John Roe contributed to this report.",
            "(Reporting by Jane Doe; editing by John Roe.)",
            "Write to Jane Doe at jane.doe@news.example",
            "SOURCE: News agencies",
            "jane.doe@news.example",
            "twitter.com/janedoe",
        ],
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "closing"), CLOSING_RUNS, ids=[c[0] for c in CLOSING_RUNS]
)
def test_a_run_closing_the_page_after_the_statement_is_not_part_of_it(case, body, closing) -> None:
    page = (
        "<html><head><title>Partnership</title></head><body><article><h1>Partnership</h1>"
        + "".join(f"<p>{p}</p>" for p in body + closing)
        + "</article></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [p.strip() for p in body]


def test_body_sections_side_by_side_keep_their_order_around_a_quote_box() -> None:
    # Sections of one class that are siblings already read as one body: not moved together,
    # which put the quote box between them after the last section.
    first = "Example Corp today named Jane Doe as its new chief executive officer. " * 2
    quote = "The best thing about this company is the people who work here, every day. " * 2
    second = "Jane Doe joined the company ten years ago and has led its sales since 2020. " * 2
    third = "She takes over from John Roe, who retires after twenty years in the role. " * 2
    page = (
        "<html><head><title>New CEO</title></head><body><main><article><div>"
        f"<section class='article__content'><p>{first}</p></section>"
        f"<section class='article__content article__content--quote'><p>{quote}</p></section>"
        f"<section class='article__content'><p>{second}</p></section>"
        f"<section class='article__content'><p>{third}</p></section>"
        "</div></article></main></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [
        p.strip() for p in (first, quote, second, third)
    ]


def test_embedded_posts_in_a_row_between_paragraphs_are_all_part_of_the_body() -> None:
    first = "The state's new slogan drew a great deal of attention on social media on Monday. " * 2
    second = "So many people were talking about the slogan that it became a top trend. " * 2
    posts = ["It seems the other campaigns are just as bad as this one.", "on. it. dot. com."]
    embeds = "".join(
        '<div class="social-media-embed"><blockquote class="twitter-tweet">'
        f'<p>{post}</p></blockquote><script src="https://platform.example/widgets.js"></script>'
        "</div>"
        for post in posts
    )
    page = (
        "<html><head><title>Slogan</title></head><body><article><h1>Slogan</h1>"
        f"<p>{first}</p>{embeds}<p>{second}</p></article></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [first.strip(), *posts, second.strip()]


def test_a_statements_own_contact_address_under_a_contact_label_stays() -> None:
    body = "Example Corp today announced a research partnership with Sample Industries. " * 2
    page = (
        "<html><head><title>Partnership</title></head><body><article><h1>Partnership</h1>"
        f"<p>{body}</p><p>Media contact</p><p>press@example.com</p></article></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [
        body.strip(),
        "Media contact",
        "press@example.com",
    ]


def test_the_headline_repeated_above_the_body_goes_when_the_title_names_the_site() -> None:
    # "Headline - Site": a dash is not cut from the title when the site is not known, but
    # the headline printed above the body is the title without that part.
    body = [
        "Example Corp today named Jane Doe as its new chief executive officer. " * 2,
        "Jane Doe joined the company ten years ago and has led its sales since 2020. " * 2,
    ]
    page = (
        "<html><head><title>Example Corp names a new chief executive - Example Weekly</title>"
        "</head><body><article><p><b>Example Corp names a new chief executive</b></p>"
        + "".join(f"<p>{p}</p>" for p in body)
        + "</article></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [p.strip() for p in body]


@pytest.mark.parametrize(
    "names",
    ["article-body embargo-wrap", "article__body article-overlay-handle", "story-body meta-grid"],
    ids=["bar", "overlay", "meta"],
)
def test_a_body_container_with_a_furniture_like_class_name_is_still_the_body(names: str) -> None:
    # trafilatura drops furniture by substrings of class names ("bar", "overlay", "meta");
    # a body container's styling names that happen to hold one must not make it furniture,
    # else the whole page is read: promotions and print notices around the body included.
    body = [
        "Example Corp today named Jane Doe as its new chief executive officer. " * 2,
        "Jane Doe joined the company ten years ago and has led its sales since 2020. " * 2,
        "She takes over from John Roe, who retires after twenty years in the role. " * 2,
    ]
    page = (
        "<html><head><title>Example Corp names Jane Doe its new chief executive officer</title>"
        "</head><body>"
        "<div class='print-header'><p>This copy is for your personal use only.</p></div>"
        "<section class='promo'><h3 class='promo-title'>Awards night 2024</h3></section>"
        # The article's wrapper is what trafilatura takes for the content, and within it
        # the body container is pruned as furniture.
        "<main><article class='article__content-well'><header>"
        "<h1>Example Corp names Jane Doe its new chief executive officer</h1>"
        f"<p>By John Roe, Staff Writer</p></header><div class='{names}'>"
        + "".join(f"<p>{p}</p>" for p in body)
        + "</div></article></main></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [p.strip() for p in body]


@pytest.mark.parametrize(
    ("label", "where"),
    [
        ("Most read in world news", "between"),
        ("MOST POPULAR", "between"),
        ("You may also like...", "after"),
        ("You might have missed", "after"),
        ("Editors' picks", "after"),
    ],
)
def test_a_recommendation_widgets_label_left_without_its_links_is_not_the_statement(
    label: str, where: str
) -> None:
    # The widget's links are filled in by a script: only its label is in the page's HTML.
    body = [
        "Example Corp today named Jane Doe as its new chief executive officer. " * 2,
        "Jane Doe joined the company ten years ago and has led its sales since 2020. " * 2,
    ]
    widget = f'<div class="rail"><div class="rail__header">{label}</div><div class="rail__items">'
    widget += "</div></div>"
    inside = (
        f"<p>{body[0]}</p>{widget}<p>{body[1]}</p>"
        if where == "between"
        else f"<p>{body[0]}</p><p>{body[1]}</p><p>{label}</p>"
    )
    page = (
        "<html><head><title>New CEO</title></head><body><article><h1>New CEO</h1>"
        f"{inside}</article></body></html>"
    )

    assert paragraphs(extract_article(page).text) == [p.strip() for p in body]
