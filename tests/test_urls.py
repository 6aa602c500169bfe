"""URL identity: a link that only gained tracking parameters is the same statement."""

from __future__ import annotations

import pytest

from monitor.sources.urls import canonical_url, redact_url, same_site


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "https://Example.ORG/News/Post?utm_source=x&utm_medium=y#top",
            "https://example.org/News/Post",
        ),
        ("HTTP://example.org:80/a?fbclid=1&id=7&gclid=2", "http://example.org/a?id=7"),
        ("https://example.org:443/a/index.html", "https://example.org/a/"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?b=2&a=1"),
        ("https://example.org/a?", "https://example.org/a"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_canonical_url_is_idempotent():
    url = "https://Example.org:443/x/index.html?utm_campaign=a&q=1#f"
    assert canonical_url(canonical_url(url)) == canonical_url(url)


def test_redact_url_hides_credentials():
    assert redact_url("https://user:pw@example.org/x") == "https://user:***@example.org/x"
    assert redact_url("https://token@example.org/x") == "https://***@example.org/x"
    assert redact_url("https://example.org/x") == "https://example.org/x"


def test_same_site_ignores_www():
    assert same_site("https://www.example.org/a", "http://example.org/b")
    assert not same_site("https://example.org/a", "https://evil.example.com/b")
