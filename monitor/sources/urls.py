"""URL identity and URL redaction.

Identity: one statement, one URL, however the link to it was decorated (`canonical_url`).
Redaction, owned here: `redact_url` shows a page's URL with its password and secret-looking
query values masked; `url_site` shows only the site of a notifier's URL; `UrlSecrets`
resolves a source URL's `${NAME}` for its fetch alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import (
    SplitResult,
    parse_qsl,
    quote,
    quote_plus,
    urlencode,
    urlsplit,
    urlunsplit,
)

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
DEFAULT_PORTS = {"http": 80, "https": 443}  # the port a URL of the scheme means unsaid
# Apprise URLs often carry tokens where a host would be (slack://TokenA/TokenB/TokenC).
HOST_LIKE = re.compile(
    r"^(localhost|[0-9.]+|\[?[0-9a-fA-F]*:[0-9a-fA-F:]+\]?|([A-Za-z0-9-]+\.)+[A-Za-z]{2,})$"
)
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
    # hostname and port each parse the netloc again: read once (a check asks for every
    # source's canonical URL)
    hostname, port = parts.hostname, parts.port
    host = (hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if "@" in parts.netloc:
        host = f"{parts.netloc.rsplit('@', 1)[0]}@{host}"
    path = _INDEX_FILE.sub("/", parts.path) or "/"
    query = ""
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, v) for k, v in pairs if not is_tracking_parameter(k)], doseq=True)
    return urlunsplit((scheme, host, path, query, ""))


def redact_url(url: str) -> str:
    """The URL with any password (or a lone user token) and secret-looking query values
    (api_key, token, ...) replaced by ***, for messages.

    Keeps the user name (https://user:***@host/) so people can tell which account failed.
    """
    url = mask_query_secrets(url)
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    user, has_password, _ = userinfo.partition(":")
    shown = f"{user}:***" if has_password else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{hostport}"))


def url_site(url: str) -> str:
    """Only `scheme://host[:port]`, plus "/…" when the URL had a path or query.

    For a notifier's URL (a webhook, an Apprise service), whose path and query are often
    the secret; a page's URL, whose path matters, is shown by `redact_url`.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an unparsable URL)"
    if not parts.scheme:
        return "(a URL without a scheme)"
    if host and not HOST_LIKE.match(host):
        host = "…"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    rest = parts.path.strip("/") or parts.query
    return f"{parts.scheme}://{netloc}" + ("/…" if rest else "")


def connect_port(parts: SplitResult) -> int:
    """The port a split URL connects to: its own, else its scheme's default (80 for another
    scheme, and for a port out of range, which the fetch itself then refuses)."""
    try:
        port = parts.port
    except ValueError:
        port = None
    return port or DEFAULT_PORTS.get(parts.scheme, 80)


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


# --- Secrets in source URLs -------------------------------------------------------------------
#
# A source URL may hold `${NAME}` references (`https://user:${PASS}@host/`, `?api_key=${KEY}`).
# The configuration keeps them as written: the URL stored, shown, logged and sent in alerts is
# the template, so a secret cannot leak through any of them. Only the fetch resolves it, and
# whatever it reports back (final URL, error texts) is masked to the template again.

# `${NAME}` as written, or as canonical_url's urlencode leaves it in a query (%24%7BNAME%7D).
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|%24%7B([A-Za-z_][A-Za-z0-9_]*)%7D", re.I)
_MIN_MASKED = 3  # shorter values would mask ordinary parts of a URL


def url_references(url: str) -> list[str]:
    """The names of the environment variables a URL template refers to, in order."""
    return [m.group(1) or m.group(2) for m in _ENV_REF.finditer(url)]


class UrlSecretError(ValueError):
    """A URL refers to an environment variable that is not set."""


@dataclass(frozen=True)
class UrlSecrets:
    """The resolution of one URL template, and the masking of what comes back."""

    template: str
    resolved: str
    masks: tuple[tuple[str, str], ...]  # (a form of a secret value, its `${NAME}`), longest first

    @classmethod
    def of(cls, url: str, env: Mapping[str, str] | None = None) -> UrlSecrets | None:
        """None when the URL holds no `${NAME}`; raises UrlSecretError when one is unset."""
        names = url_references(url)
        if not names:
            return None
        env = os.environ if env is None else env
        missing = [n for n in names if n not in env]
        if missing:
            raise UrlSecretError(f"environment variable {missing[0]} is not set")

        def value(match: re.Match[str]) -> str:
            # Encoded, so a password holding "@", "/" or "&" stays inside its part of the URL.
            return quote(env[match.group(1) or match.group(2)], safe="")

        masks: dict[str, str] = {}
        for name in names:
            secret = env[name]
            for form in (secret, quote(secret, safe=""), quote(secret), quote_plus(secret)):
                if len(form) >= _MIN_MASKED:
                    masks[form] = "${" + name + "}"
        ordered = tuple(sorted(masks.items(), key=lambda item: len(item[0]), reverse=True))
        return cls(url, _ENV_REF.sub(value, url), ordered)

    def mask(self, text: str) -> str:
        """The text with every form of the secret values replaced by their `${NAME}`."""
        for form, name in self.masks:
            text = text.replace(form, name)
        return text


def mask_query_secrets(url: str) -> str:
    """The URL with the values of secret-looking query parameters (api_key, token, ...) masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(_SECRET_PARAMETER.search(k) for k, _v in pairs):
        return url
    kept = [(k, "***" if _SECRET_PARAMETER.search(k) else v) for k, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(kept, safe="*")))


_SECRET_PARAMETER = re.compile(
    r"(key|token|secret|passw|pwd|auth|sig|session|credential)", re.IGNORECASE
)
