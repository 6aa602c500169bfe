"""Bot walls named as such: a challenge or block page of a bot-protection service.

A newsroom behind Cloudflare, Akamai, DataDome, ... answers the monitor with a challenge
(a page that needs JavaScript or a captcha) or a block page. Reported as a bare "HTTP 403"
it looks like a broken site; read as a page it would become a stand-in "statement". The
signatures below come from the services' documented headers, cookies and page markers; a
match is a `BotWallError` whose message names the service and what to try. A 403 with none
of them stays a plain HTTP error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.fetch.base import FetchError

_ANY_ERROR = frozenset({401, 403, 405, 429, 503})
# A success carrying a challenge is matched only on a small page: a real article may quote
# a marker, a challenge page is a few kilobytes of script.
_SMALL_PAGE = 24 * 1024


@dataclass(frozen=True)
class Signature:
    """How one service's refusals look.

    A response matches when its status is in `statuses` and it shows one of the `headers`
    (name, or name=value regex), `cookies` (set by the response) or `body` markers; or, for
    `challenge_body` markers, on any status (including 200) in a small page.
    """

    service: str
    statuses: frozenset[int] = _ANY_ERROR
    headers: tuple[tuple[str, str | None], ...] = ()
    cookies: tuple[str, ...] = ()  # name prefixes
    body: tuple[str, ...] = ()  # regexes, case-insensitive
    challenge_body: tuple[str, ...] = ()  # regexes that mean a challenge whatever the status
    advice: str = ""


_GENERIC = (
    "try `render = true` (a real browser), a browser's `user_agent` and `headers`, "
    "`cookies` from a browser session, or a `proxy`; or ask the site to allow the monitor"
)

SIGNATURES: tuple[Signature, ...] = (
    # A 503 passed on from a site's own server behind Cloudflare carries cf-ray too: only
    # Cloudflare's own refusals (cf-mitigated, its error page) count there.
    Signature(
        "Cloudflare",
        statuses=frozenset({503}),
        headers=(("cf-mitigated", None),),
        body=(r"cloudflare ray id", r"attention required! \| cloudflare"),
        advice="try `render = true`; " + _GENERIC,
    ),
    Signature(
        "Cloudflare",
        statuses=frozenset({403, 429}),
        headers=(("cf-ray", None), ("server", r"cloudflare"), ("cf-mitigated", None)),
        cookies=("__cf_bm", "cf_clearance"),
        challenge_body=(
            r"<title>\s*just a moment\.\.\.",
            r"/cdn-cgi/challenge-platform/",
            r"cf[-_]chl[-_]",
        ),
        advice="a Cloudflare challenge needs a browser: try `render = true`; " + _GENERIC,
    ),
    Signature(
        "Akamai",
        statuses=frozenset({403, 429}),
        headers=(("server", r"akamaighost"), ("akamai-grn", None), ("x-akamai-transformed", None)),
        cookies=("_abck", "bm_sz", "ak_bmsc"),
        body=(r"you don't have permission to access .* on this server.*reference #",),
        advice=_GENERIC,
    ),
    Signature(
        "DataDome",
        headers=(("x-datadome", None), ("x-dd-b", None), ("server", r"datadome")),
        cookies=("datadome",),
        challenge_body=(r"captcha-delivery\.com", r"ct\.captcha-delivery"),
        advice=_GENERIC,
    ),
    Signature(
        "PerimeterX (HUMAN)",
        cookies=("_px3", "_pxhd", "_pxvid"),
        challenge_body=(r"px-captcha", r"_pxAppId", r"perimeterx", r"captcha\.px-cdn\.net"),
        advice=_GENERIC,
    ),
    Signature(
        "Imperva (Incapsula)",
        headers=(("x-iinfo", None), ("x-cdn", r"incapsula|imperva")),
        cookies=("incap_ses_", "visid_incap_", "reese84"),
        body=(r"incapsula incident id", r"request unsuccessful\. incapsula"),
        challenge_body=(r"_Incapsula_Resource",),
        advice=_GENERIC,
    ),
    Signature(
        "Sucuri",
        headers=(("x-sucuri-id", None), ("x-sucuri-block", None), ("server", r"sucuri")),
        body=(r"sucuri website firewall",),
        advice=_GENERIC,
    ),
    Signature(
        "AWS WAF",
        statuses=frozenset({202, 403, 405, 429}),
        headers=(("x-amzn-waf-action", None),),
        cookies=("aws-waf-token",),
        challenge_body=(r"AwsWafIntegration", r"awswaf\.com"),
        advice=_GENERIC,
    ),
    Signature(
        "Kasada",
        statuses=frozenset({403, 429}),
        headers=(("x-kpsdk-ct", None), ("x-kpsdk-cd", None)),
        advice=_GENERIC,
    ),
)


@dataclass(frozen=True)
class BotWall:
    """A recognised refusal: which service, and what to try."""

    service: str
    challenge: bool  # a challenge page (needs a browser), not a plain block
    advice: str


class BotWallError(FetchError):
    """A bot-protection service refused the fetch; the message names it and what to try."""

    def __init__(self, wall: BotWall, shown_url: str, status: int) -> None:
        what = "a challenge page" if wall.challenge else "a block page"
        super().__init__(
            f"{shown_url} is behind {wall.service}, which answered HTTP {status} with {what} "
            f"instead of the page (a bot wall): {wall.advice}"
        )
        self.service = wall.service
        self.status = status


def detect_bot_wall(status: int, headers: Iterable[tuple[str, str]], text: str) -> BotWall | None:
    """The bot wall this response is, or None. `headers` are (name, value) pairs, repeats
    kept (several Set-Cookie); `text` is the start of the body."""
    pairs = [(name.lower(), value) for name, value in headers]
    cookies = [value.split("=", 1)[0].strip() for name, value in pairs if name == "set-cookie"] + [
        part.split("=", 1)[0].strip()
        for name, value in pairs
        if name == "cookie"
        for part in value.split(";")
    ]
    small = len(text) <= _SMALL_PAGE
    # a large page answered with a status no service refuses with cannot match: not read
    folded = text.lower() if small or status in _REFUSING else ""
    for sig, challenge_body, body in _FOLDED:
        challenge = small and any(p.search(folded) for p in challenge_body)
        if challenge:
            return BotWall(sig.service, True, sig.advice)
        if status not in sig.statuses:
            continue
        marked = (
            any(_header_matches(pairs, name, pattern) for name, pattern in sig.headers)
            or any(c.startswith(prefix) for c in cookies for prefix in sig.cookies)
            or any(p.search(folded) for p in body)
        )
        if marked:
            return BotWall(sig.service, False, sig.advice)
    return None


def _folded(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """A case-insensitive marker compiled to run on lower-cased text.

    Every page passes through these markers; `re.IGNORECASE` makes a search about ten
    times slower (no literal prefix scan), while lower-casing the page once is cheap.
    """
    if re.search(r"\\[A-Z]", pattern):
        # \S, \W, \D, \B, ... would change meaning once lower-cased
        raise ValueError(f"bot-wall marker {pattern!r}: write it without upper-case escapes")
    return re.compile(pattern.lower(), flags)


_FOLDED = tuple(
    (
        sig,
        tuple(_folded(p) for p in sig.challenge_body),
        tuple(_folded(p, re.S) for p in sig.body),
    )
    for sig in SIGNATURES
)


_REFUSING = frozenset().union(*(sig.statuses for sig in SIGNATURES))


def _header_matches(pairs: list[tuple[str, str]], name: str, pattern: str | None) -> bool:
    return any(
        n == name and (pattern is None or re.search(pattern, value, re.I)) for n, value in pairs
    )
