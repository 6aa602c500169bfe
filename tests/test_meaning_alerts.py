"""What a change means, in alerts: email (real aiosmtpd), webhook and Apprise (real receivers)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from notify_support import Receiver, SmtpServer, make_config, queue_alert

from monitor.alerts.channels import ChannelOptions
from monitor.alerts.messages import MAX_FINDINGS, MessageRenderer
from monitor.diff import compare, title_change
from monitor.events import Event
from monitor.meaning import explain
from monitor.state.store import Store

OLD = (
    "Acme and Globex today announced a partnership.\n\n"
    "Acme will invest $10 billion in the project by 2030.\n\n"
    "The parties thank their staff."
)
NEW = (
    "Acme and Globex today announced a partnership.\n\n"
    "Acme may invest $13 billion in the project by 2030.\n\n"
    "The parties thank their staff. Enquiries to <b>press</b> are welcome."
)
PUBLIC = "https://monitor.example.org"


def meaningful_event(old: str = OLD, new: str = NEW, title: str = "Acme invests") -> Event:
    """A `changed` event as the pipeline builds it: compared, then explained."""
    comparison = compare(old, new)
    return Event(
        "changed",
        "newsroom",
        "https://news.example.org/acme",
        title=title,
        version=2,
        similarity=comparison.similarity,
        changes=comparison.changes,
        meaning=explain(old, new, comparison=comparison),
    )


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    yield server
    await server.stop()


async def test_email_subject_names_the_most_important_finding_and_the_body_leads_with_all(
    store: Store, smtp: SmtpServer
) -> None:
    from monitor.alerts.outbox import deliver_due

    queue_alert(store, meaningful_event(), ["mail"])
    config = make_config({"mail": smtp.notifier()}, public_url=PUBLIC)

    report = await deliver_due(
        store, config, options=ChannelOptions(ssl_context=smtp.client_context())
    )

    assert report.messages == 1
    (message,) = smtp.messages
    assert message["Subject"].strip() == (
        '[monitor] Changed: Acme invests: "will" → "may" (newsroom)'
    )
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert text.splitlines()[:5] == [
        "Changed: Acme invests",
        '* "will" → "may" (weaker commitment)',
        '* "$10 billion" → "$13 billion" (figure)',
        '* sentence added: "Enquiries to <b>press</b> are welcome."',
        "",
    ]
    # HTML: each finding links to its paragraph on the diff page; scraped text is escaped.
    diff = f"{PUBLIC}/diff?url=https%3A%2F%2Fnews.example.org%2Facme&amp;from=1&amp;to=2"
    assert f'<a href="{diff}#p2">&#34;will&#34; → &#34;may&#34; (weaker commitment)</a>' in html
    assert f'<a href="{diff}#p3">sentence added: &#34;Enquiries to &lt;b&gt;press&lt;/b&gt;' in html
    assert "<b>press</b>" not in html
    assert html.index('class="meaning"') < html.index("Source:")


async def test_webhook_body_carries_the_meaning(store: Store, http_server: Any) -> None:
    from monitor.alerts.outbox import deliver_due

    receiver = Receiver()
    http_server.route("/hook", receiver)
    queue_alert(store, meaningful_event(), ["hook"])
    config = make_config({"hook": {"type": "webhook", "url": http_server.url("/hook")}})

    await deliver_due(store, config)

    ((_, body),) = receiver.received
    payload = json.loads(body)
    assert payload["meaning"] == [
        {
            "kind": "modality",
            "before": "will",
            "after": "may",
            "direction": "weaker",
            "sentence": "Acme may invest $13 billion in the project by 2030.",
        },
        {
            "kind": "figure",
            "before": "$10 billion",
            "after": "$13 billion",
            "sentence": "Acme may invest $13 billion in the project by 2030.",
        },
        {
            "kind": "sentence_added",
            "before": None,
            "after": "Enquiries to <b>press</b> are welcome.",
            "sentence": "Enquiries to <b>press</b> are welcome.",
        },
    ]


async def test_apprise_title_and_body_lead_with_the_findings(
    store: Store, http_server: Any
) -> None:
    from monitor.alerts.outbox import deliver_due

    receiver = Receiver()
    http_server.route("/apprise", receiver)
    queue_alert(store, meaningful_event(), ["chat"])
    url = f"json://127.0.0.1:{http_server.port}/apprise"
    config = make_config({"chat": {"type": "apprise", "urls": [url]}})

    await deliver_due(store, config)

    ((_, body),) = receiver.received
    payload = json.loads(body)
    assert payload["title"] == '[monitor] Changed: Acme invests: "will" → "may" (newsroom)'
    assert payload["message"].startswith(
        'Changed: Acme invests\n* "will" → "may" (weaker commitment)\n'
    )


def test_a_change_without_findings_keeps_the_plain_subject() -> None:
    event = meaningful_event(OLD, OLD.replace("today announced", "announced today"))
    assert event.meaning == ()
    message = MessageRenderer().alert(event)
    assert message.subject == "[monitor] Changed: Acme invests (newsroom)"
    assert message.text.startswith("Changed: Acme invests\nSource: newsroom\n")


def test_many_findings_are_capped_and_counted() -> None:
    old = "\n\n".join(f"Item {n} costs ${n} million." for n in range(1, 13))
    new = "\n\n".join(f"Item {n} costs ${n + 20} million." for n in range(1, 13))
    event = meaningful_event(old, new)
    assert len(event.meaning) == 12
    message = MessageRenderer().alert(event)
    lines = message.text.splitlines()
    assert sum(line.startswith('* "$') for line in lines) == MAX_FINDINGS
    assert "* ... and 4 more (see the full diff)" in lines
    assert "… and 4 more" in message.html


def test_headline_only_change_names_the_headline() -> None:
    headline = title_change("Acme invests", "Acme may invest")
    assert headline is not None
    event = Event(
        "changed",
        "newsroom",
        "https://news.example.org/acme",
        title="Acme may invest",
        version=2,
        changes=(headline,),
        meaning=explain(OLD, OLD, old_title="Acme invests", new_title="Acme may invest"),
    )
    message = MessageRenderer().alert(event, public_url=PUBLIC)
    assert message.subject == (
        '[monitor] Changed: Acme may invest: headline: "Acme invests" → "Acme may invest"'
        " (newsroom)"
    )
    assert "#diff-title" in message.html


def test_a_long_title_is_cut_so_the_finding_fits_the_subject() -> None:
    event = meaningful_event(title="A very long headline " * 12)
    message = MessageRenderer().alert(event)
    assert message.subject.endswith(': "will" → "may" (newsroom)')
    assert "…" in message.subject


def test_a_digest_leads_each_alert_with_its_findings() -> None:
    first = meaningful_event()
    second = meaningful_event(OLD, OLD.replace("by 2030", "by 2032"), title="Acme delays")
    message = MessageRenderer().digest([first, second])
    text = message.text
    assert text.index('* "will" → "may" (weaker commitment)') < text.index("Changed: Acme delays")
    assert '* "by 2030" → "by 2032" (date)' in text.split("Changed: Acme delays")[1]
    assert message.html.count('class="meaning"') == 2
