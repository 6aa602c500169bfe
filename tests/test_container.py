"""The learned statement container: noise outside it is skipped, any edit inside is not."""

from __future__ import annotations

from pages import PARTNERSHIP, Noise, press_release

from monitor.extract.article import extract_article
from monitor.extract.container import container_digest, learn_container

TITLE = "Example Corp and Sample Industries announce research partnership"


def learned(html: str) -> tuple[str, str]:
    found = learn_container(html, extract_article(html))
    assert found is not None
    return found


def test_container_holds_the_statement_and_not_the_page_chrome():
    html = press_release(TITLE, PARTNERSHIP)
    path, digest = learned(html)
    assert "body" not in path.rsplit("/", 1)[-1]
    noisy = press_release(TITLE, PARTNERSHIP, Noise(views=9, rendered_at="tomorrow"))
    assert container_digest(noisy, path) == digest


def test_any_edit_in_the_statement_or_its_headline_changes_the_digest():
    path, digest = learned(press_release(TITLE, PARTNERSHIP))
    edited = [PARTNERSHIP[0].replace("multi-year", "multiyear"), *PARTNERSHIP[1:]]
    assert container_digest(press_release(TITLE, edited), path) != digest
    assert container_digest(press_release(TITLE + ".", PARTNERSHIP), path) != digest


def test_a_container_that_is_gone_gives_no_digest():
    path, _ = learned(press_release(TITLE, PARTNERSHIP))
    assert container_digest("<html><body><p>Redesigned</p></body></html>", path) is None
    assert container_digest("", path) is None
