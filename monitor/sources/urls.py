"""URL identity: one statement, one URL, however the link to it was decorated."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track where a click came from; they never select content.
_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "_hsenc",
        "_hsmi",
        "_ga",
        "_gl",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "ref_src",
        "cmpid",
        "ocid",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "ga_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_INDEX_FILE = re.compile(r"/(index|default)\.(html?|php|aspx?)$", re.IGNORECASE)


def is_tracking_parameter(name: str) -> bool:
    """True for query parameters such as utm_source or fbclid."""
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL used as a statement's identity.

    Drops the fragment and tracking parameters, lower-cases scheme and host, removes
    default ports, a trailing `index.html`, and empty query strings; keeps the path's case
    and the order of the remaining parameters (some sites select content with them).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    if "@" in parts.netloc:
        host = f"{parts.netloc.rsplit('@', 1)[0]}@{host}"
    path = _INDEX_FILE.sub("/", parts.path) or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if not is_tracking_parameter(k)]
    return urlunsplit((scheme, host, path, urlencode(kept, doseq=True), ""))


def redact_url(url: str) -> str:
    """The URL with any password (or a lone user token) replaced by ***, for messages.

    Keeps the user name (https://user:***@host/) so people can tell which account failed.
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    user, has_password, _ = userinfo.partition(":")
    shown = f"{user}:***" if has_password else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{hostport}"))


def same_site(url: str, other: str) -> bool:
    """True when both URLs are on the same host, ignoring a leading `www.`."""

    def host(u: str) -> str:
        return (urlsplit(u).hostname or "").lower().removeprefix("www.")

    return host(url) == host(other)


def safe_href(url: str | None) -> str | None:
    """The URL if it may be a link (http or https), else None: no javascript: or data: links."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None
