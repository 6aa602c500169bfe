"""Configuration: `sources.toml` read with tomllib and validated once, here, with pydantic.

Everything downstream trusts these models. A broken file is refused with a `ConfigError`
naming the file, the line and the key, with a did-you-mean hint for misspelt keys.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.alerts.channels import (
    NotifierSettings,
    channel_types,
    notifier_settings_union,
    settings_models,
)
from monitor.sources.durations import (
    Duration,
    OptionalDuration,
    Size,
    format_duration,
    parse_duration,
    parse_size,
)

__all__ = ["format_duration", "parse_duration", "parse_size"]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Defaults(_Strict):
    """The `[defaults]` table: settings every source inherits unless it sets its own."""

    interval: Duration = 3600.0
    timeout: Duration = 30.0
    # the whole fetch of one URL: every attempt, the waits between them, and its redirects
    fetch_deadline: Duration = 120.0
    max_bytes: Size = 10_000_000
    max_redirects: int = Field(10, ge=0, le=50)
    retries: int = Field(2, ge=0, le=10)
    concurrency: int = Field(20, ge=1, le=1000)
    per_host: int = Field(4, ge=1, le=100)
    user_agent: str = "statement-monitor/0.1 (+https://github.com/statement-monitor)"
    contact: str | None = None  # an email or URL appended to the User-Agent for site owners
    max_new_per_check: int = Field(50, ge=1)  # statement pages fetched per check of an index
    # the daemon (`monitor run`)
    jitter: float = Field(0.1, ge=0, le=0.5)  # random delay, as a share of each interval
    check_timeout: Duration = 600.0  # a check running longer is cancelled (an error)
    host_spacing: OptionalDuration = 0.5  # least time between two requests to one host
    overdue_after: float = Field(3.0, ge=1)  # intervals without success before "overdue"
    keep_raw: bool = True  # keep the compressed raw page with each snapshot (archive "off")
    # a statement that answered 404/410 is still fetched, at most this often, until it is back
    recheck_removed: Duration = 3600.0
    # the evidence archive: WARC files of what was fetched
    archive: Literal["versions", "all", "off"] = "versions"  # "all": every fetch that changed
    archive_dir: Path | None = None  # default: <state>/archive
    archive_file_size: Size = 100 * 1024 * 1024  # a new WARC file once one would pass this
    # retention, applied by the daemon: None keeps everything; the newest version of a
    # statement is never deleted
    keep_versions: int | None = Field(None, ge=1)  # versions kept per statement
    archive_keep: Duration | None = None  # older versions are deleted after this ("365d")
    # alerts
    alert_give_up: Duration = 2 * 86400.0  # an undeliverable alert becomes dead after this
    error_alert_after: int = Field(3, ge=1)  # failed checks in a row before an error alert
    templates: Path | None = None  # a folder of message templates overriding the built-in ones
    public_url: str | None = None  # where the web UI is reachable, for links in alerts
    # how pages are requested (each source may set its own; headers and cookies merge)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    cookies: dict[str, str] = Field(default_factory=dict, repr=False)
    proxy: str | None = Field(
        None, repr=False
    )  # http://, https:// or socks5:// (credentials may use ${ENV})
    verify: bool = True  # false: accept self-signed TLS certificates (warned about)
    render: bool = False  # fetch pages with a real Chromium (needs statement-monitor[browser])
    wait: OptionalDuration = 0.0  # rendered pages: extra time for scripts after load
    render_timeout: Duration = 30.0  # rendered pages: the whole rendering of one page
    browser: str = "/usr/bin/chromium"  # the Chromium executable (Debian's `chromium`)
    browser_pages: int = Field(2, ge=1, le=32)  # pages rendered at once
    # networks beyond the public internet that fetches may reach (see monitor/fetch/guard.py)
    allow_networks: tuple[str, ...] = ()
    # the state database (see monitor/state/database.py): postgresql://user:${PGPASSWORD}@host/db
    # lets several `monitor run` nodes share one state; default SQLite in the state folder
    database: str | None = Field(None, repr=False)
    # several nodes: a node silent this long is gone, and its checks and alerts are taken over
    lease_timeout: Duration = 60.0

    _check_headers = field_validator("headers")(classmethod(lambda cls, v: _valid_headers(v)))
    _check_cookies = field_validator("cookies")(classmethod(lambda cls, v: _valid_cookies(v)))
    _check_proxy = field_validator("proxy")(classmethod(lambda cls, v: _valid_proxy(v)))
    _check_database = field_validator("database")(classmethod(lambda cls, v: _valid_database(v)))

    @field_validator("allow_networks")
    @classmethod
    def _networks_parse(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for value in values:
            try:
                ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f'{value!r} is not a network; write it like "10.0.0.0/8" or "192.168.1.7"'
                ) from None
        return values


class Source(_Strict):
    """One `[[sources]]` entry: a page, an index of statements, or a feed."""

    name: str = Field(min_length=1, max_length=100)
    url: str
    kind: Literal["page", "index", "feed"] = "page"
    interval: Duration | None = None
    cron: str | None = None  # crontab times ("0 9 * * 1-5"), instead of an interval
    selector: str | None = None
    links: str | None = None
    follow_feed: bool = False  # index: also read the feed the page advertises
    ignore: tuple[str, ...] = ()
    notify: tuple[str, ...] | None = None
    enabled: bool = True
    # request settings; unset ones come from [defaults] (headers and cookies merge with them)
    headers: dict[str, str] | None = Field(None, repr=False)  # values may hold secrets
    cookies: dict[str, str] | None = Field(None, repr=False)
    user_agent: str | None = None
    proxy: str | None = Field(None, repr=False)
    verify: bool | None = None
    render: bool | None = None
    wait_for: str | None = None  # rendered pages: a CSS selector to wait for
    wait: OptionalDuration | None = None
    render_timeout: Duration | None = None
    fetch_deadline: Duration | None = None

    _check_headers = field_validator("headers")(classmethod(lambda cls, v: _valid_headers(v)))
    _check_cookies = field_validator("cookies")(classmethod(lambda cls, v: _valid_cookies(v)))
    _check_proxy = field_validator("proxy")(classmethod(lambda cls, v: _valid_proxy(v)))

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ValueError(
                f"{name!r}: use letters, digits, '-', '_' and '.', starting with a letter or digit"
            )
        return name

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url

    @field_validator("ignore")
    @classmethod
    def _ignore_compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        import regex  # what checks run the patterns with (see monitor.extract.patterns)

        for pattern in patterns:
            try:
                regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(f"ignore pattern {pattern!r} is not a valid regex: {exc}") from exc
        return patterns

    @field_validator("selector", "links")
    @classmethod
    def _css_compiles(cls, selector: str | None) -> str | None:
        if selector is not None:
            import soupsieve  # the CSS engine of both keys (monitor.extract)

            try:
                soupsieve.compile(selector)
            except soupsieve.SelectorSyntaxError as exc:
                reason = str(exc).splitlines()[0]  # the rest repeats the selector with a caret
                raise ValueError(f"{selector!r} is not a valid CSS selector: {reason}") from None
        return selector

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, cron: str | None) -> str | None:
        if cron is not None:
            from monitor.sources.schedule import parse_cron  # APScheduler loads for cron only

            parse_cron(cron)  # raises ScheduleError, a ValueError, with a message for people
        return cron

    @model_validator(mode="after")
    def _one_timing(self) -> Source:
        if self.cron is not None and self.interval is not None:
            raise ValueError("set either interval or cron, not both")
        return self


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _valid_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    for name, value in (headers or {}).items():
        if not _TOKEN.match(name):
            raise ValueError(f"{name!r} is not a valid HTTP header name")
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"the value of header {name!r} holds a line break")
    return headers


def _valid_cookies(cookies: dict[str, str] | None) -> dict[str, str] | None:
    for name, value in (cookies or {}).items():
        if not _TOKEN.match(name):
            raise ValueError(f"{name!r} is not a valid cookie name")
        if any(c in value for c in ";\r\n\0"):
            raise ValueError(f"the value of cookie {name!r} holds ';' or a line break")
    return cookies


def _valid_proxy(proxy: str | None) -> str | None:
    if proxy is not None and not re.match(r"^(https?|socks5h?)://[^/\s]+/?$", proxy, re.IGNORECASE):
        raise ValueError(
            'a proxy is written like "http://host:3128" or "socks5://user:pass@host:1080"'
        )
    return proxy


def _valid_database(url: str | None) -> str | None:
    if url is not None and not re.match(
        r"^(postgres(ql)?(\+psycopg)?://\S+|sqlite:///\S+)$", url, re.IGNORECASE
    ):
        raise ValueError(
            'write the database as "postgresql://user:${PGPASSWORD}@host/db" or '
            '"sqlite:///path/monitor.db"'
        )
    return url


# Each channel declares its settings model (monitor.alerts.channels); the `type` key picks it.
if TYPE_CHECKING:
    Notifier = NotifierSettings
else:
    Notifier = notifier_settings_union()


class Config(_Strict):
    """A whole validated configuration file."""

    defaults: Defaults = Field(default_factory=Defaults)
    sources: tuple[Source, ...] = ()
    notifiers: dict[str, Notifier] = Field(default_factory=dict)
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _name_notifiers(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("notifiers"), dict):
            data = dict(data)
            data["notifiers"] = {
                name: {**body, "name": name} if isinstance(body, dict) else body
                for name, body in data["notifiers"].items()
            }
        return data

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def interval_of(self, source: Source) -> float:
        return source.interval if source.interval is not None else self.defaults.interval

    def verify_of(self, source: Source) -> bool:
        """Whether TLS certificates of this source's pages are verified."""
        return source.verify if source.verify is not None else self.defaults.verify

    def notifiers_for(self, source: Source) -> list[str]:
        """Names of the notifiers a source alerts: its `notify` list, else all of them."""
        if source.notify is not None:
            return list(source.notify)
        return list(self.notifiers)

    @cached_property
    def notifiers_by_source(self) -> dict[str, tuple[str, ...]]:
        """Each source's notifiers (`notifiers_for`), by source name: an event of a statement
        several sources track alerts the notifiers of all of them."""
        return {source.name: tuple(self.notifiers_for(source)) for source in self.sources}

    def statement_reader(self, names: Collection[str], url: str) -> Source | None:
        """The source whose settings fetch and read the statement at `url`, whichever source
        checks it: a `page` source of that very URL, else the first in the file of the
        sources named (those tracking it); None when none of them is configured.

        One statement has one timeline: two sources reading its page differently (another
        `selector`, `ignore` or headers) would each find the other's version changed.
        """
        page = self._page_sources.get(url)
        if page is not None:
            return page
        positions = self._positions
        named = [positions[name] for name in names if name in positions]
        return self.sources[min(named)] if named else None

    @cached_property
    def _page_sources(self) -> dict[str, Source]:
        from monitor.sources.urls import canonical_url

        pages: dict[str, Source] = {}
        for source in self.sources:
            if source.kind == "page":
                try:
                    pages.setdefault(canonical_url(source.url), source)
                except ValueError:
                    continue  # refused when checked; reads nothing meanwhile
        return pages

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {source.name: index for index, source in enumerate(self.sources)}


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, line and key."""


class _KeyProblem(ValueError):
    """A cross-field problem that knows which key it is about."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True)
class _Problem:
    loc: tuple[str | int, ...]
    message: str


# No setting nests deeper than a few levels; far deeper is hostile or broken input that
# would exhaust the recursion of the parser and validators.
MAX_NESTING = 32
# A file with thousands of problems is listed by its first ones and a count.
MAX_LISTED_PROBLEMS = 50

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def load_config(
    path: str | Path, environ: dict[str, str] | None = None, *, require_env: bool = True
) -> Config:
    """Read and validate a configuration file; raises ConfigError with file, line and key.

    `require_env=False` is for commands that use no secret (`report`, `history`, ...): a
    `${NAME}` whose variable is not set then stays as written instead of refusing the
    file, as long as the value it is in can be validated without it (see parse_config).
    """
    path = Path(path)
    env = os.environ if environ is None else environ
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file. Copy the example with `monitor init` or pass --config."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return parse_config(raw_text, path, env, require_env=require_env)


def parse_config(
    raw_text: str,
    path: Path,
    env: os._Environ[str] | dict[str, str],
    *,
    require_env: bool = True,
) -> Config:
    """Validate the text of a configuration file (see load_config).

    Every `${NAME}` is filled in from `env` first, then the whole file is validated once,
    whatever the command. A variable that is not set keeps its `${NAME}`; a value holding
    one cannot be judged, so the problems found in it are that variable's. An unset
    variable is a problem (file, line, key) when `require_env`, else only where the value
    holding it cannot be validated without it (a webhook `url = "${HOOK_URL}"`).
    """
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        data = None  # nested beyond what the parser can follow: said below with the line
    if data is None or _depth(data) > MAX_NESTING:
        line = _deep_line(raw_text)
        raise ConfigError(
            f"{path}:{line}: nested too deeply: arrays or tables more than "
            f"{MAX_NESTING} levels deep (no setting needs more than a few)"
        )
    unset: list[_Problem] = []
    data = _interpolate(data, env, (), unset)
    problems: list[_Problem] = []
    try:
        config = Config.model_validate({**data, "path": path})
        _cross_check(config)
    except _KeyProblem as problem:
        problems = [_Problem(problem.loc, problem.message)]
    except ValidationError as exc:
        problems = _problems(exc)
    unjudged = [p for p in problems if any(_within(p.loc, u.loc) for u in unset)]
    problems = [p for p in problems if p not in unjudged]
    if not require_env:
        unset = [u for u in unset if any(_within(p.loc, u.loc) for p in unjudged)]
    if unset or problems:
        described = _describe(path, raw_text, [*unset, *problems], _source_names(data))
        raise ConfigError(described) from None
    # Said once per process for each source: a reload (SIGHUP) names only new ones.
    warned = _warned.setdefault(str(path), set())
    unverified = [s.name for s in config.sources if not config.verify_of(s)]
    if unverified:
        log.warning(
            "TLS certificates are not verified for %s (verify = false): anyone on the path "
            "can change what these sources show",
            ", ".join(unverified[:5])
            + (f" and {len(unverified) - 5} more" if len(unverified) > 5 else ""),
        )
    hurried = [
        s.name
        for s in config.sources
        if s.cron is None and config.interval_of(s) < 60 and s.name not in warned
    ]
    if hurried:
        warned.update(hurried)
        shown = ", ".join(hurried[:5]) + (
            f" and {len(hurried) - 5} more" if len(hurried) > 5 else ""
        )
        log.warning("%s checked more often than once a minute: meant for tests and demos", shown)
    _warn_crowded_hosts(config, warned)
    return config


def _warn_crowded_hosts(config: Config, warned: set[str]) -> None:
    """Warn when one host's sources cannot all be checked within their interval.

    Requests to one host are spaced by `host_spacing`, so N sources there need at least
    N x host_spacing per round; more than their shortest interval means checks fall behind.
    """
    spacing = config.defaults.host_spacing
    if spacing <= 0:
        return
    hosts: dict[str, list[Source]] = {}
    for source in config.sources:
        if source.enabled:
            host = (urlsplit(source.url).hostname or "").lower()
            hosts.setdefault(host, []).append(source)
    for host, sources in hosts.items():
        needed = len(sources) * spacing
        shortest = (
            min(config.interval_of(s) for s in sources if s.cron is None)
            if any(s.cron is None for s in sources)
            else None
        )
        key = f"host:{host}:{len(sources)}:{shortest}"
        if shortest is None or needed <= shortest or key in warned:
            continue
        warned.add(key)
        log.warning(
            "%d sources on %s need %s per round at host_spacing %s, longer than their "
            "interval %s: their checks will fall behind (fewer sources there, a longer "
            "interval or a shorter host_spacing)",
            len(sources),
            host,
            format_duration(needed),
            format_duration(spacing),
            format_duration(shortest),
        )


_warned: dict[str, set[str]] = {}  # sources file -> sources warned of


def _depth(value: Any, limit: int = MAX_NESTING + 1) -> int:
    """How deeply arrays and tables nest in `value` (stops counting past `limit`)."""
    depth = 0
    level = [value]
    while level and depth <= limit:
        nested = [v for item in level if isinstance(item, dict | list) for v in _children(item)]
        depth += 1
        level = nested
    return depth - 1 if depth else 0


def _children(item: dict[str, Any] | list[Any]) -> list[Any]:
    return list(item.values()) if isinstance(item, dict) else item


def _deep_line(raw_text: str) -> int:
    """The first line where `[`/`{` open more than MAX_NESTING deep (strings skipped)."""
    depth = 0
    quote = ""
    for number, line in enumerate(raw_text.splitlines(), start=1):
        for char in line:
            if quote:
                quote = "" if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "#":
                break
            elif char in "[{":
                depth += 1
                if depth > MAX_NESTING + 1:
                    return number
            elif char in "]}":
                depth -= 1
    return 1


def _source_names(data: Any) -> dict[int, str]:
    """The `name` of each `[[sources]]` entry that has a usable one, by position."""
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}
    return {
        i: entry["name"]
        for i, entry in enumerate(entries)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]
    }


def _cross_check(config: Config) -> None:
    """Checks across tables, which pydantic cannot locate: unique names, known notifiers."""
    seen: set[str] = set()
    for index, source in enumerate(config.sources):
        if source.name in seen:
            raise _KeyProblem(("sources", index, "name"), f"two sources are named {source.name!r}")
        seen.add(source.name)
        for wanted in source.notify or ():
            if wanted not in config.notifiers:
                raise _KeyProblem(
                    ("sources", index, "notify"),
                    f"no notifier is named {wanted!r}" + did_you_mean(wanted, config.notifiers),
                )


def _interpolate(value: Any, env: Any, loc: tuple[str | int, ...], unset: list[_Problem]) -> Any:
    """Replace ${NAME} in every string with the environment variable NAME; a variable that
    is not set keeps its ${NAME} and is listed in `unset` (with where it is written).

    A source's `url` and the `database` keep their `${NAME}` even when it is set: the URL
    stored and shown everywhere is the template, and the fetch (monitor.sources.urls
    .UrlSecrets) or the connection (monitor.state.database) resolves it where it is used.
    """
    if isinstance(value, str):
        names = _ENV_REF.findall(value)
        unset.extend(
            _Problem(loc, f"environment variable {name} is not set")
            for name in dict.fromkeys(names)
            if name not in env
        )
        if not names or _kept_as_written(loc):
            return value
        return _ENV_REF.sub(lambda m: str(env.get(m.group(1), m.group(0))), value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env, (*loc, k), unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, (*loc, i), unset) for i, v in enumerate(value)]
    return value


def _kept_as_written(loc: tuple[str | int, ...]) -> bool:
    """Values whose `${NAME}` is resolved where they are used, not here (see _interpolate)."""
    source_url = len(loc) == 3 and loc[0] == "sources" and loc[2] == "url"
    return source_url or loc == ("defaults", "database")


def _within(loc: tuple[str | int, ...], outer: tuple[str | int, ...]) -> bool:
    """Whether `loc` is the key at `outer` or inside it."""
    return loc[: len(outer)] == outer


def _problems(exc: ValidationError) -> list[_Problem]:
    problems: list[_Problem] = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key {key!r}" + did_you_mean(key, _allowed_keys(loc[:-1]))
        elif error["type"] == "missing":
            message = f"missing required key {loc[-1]!r}"
        elif error["type"] == "union_tag_invalid":
            message = f"type must be one of {_quoted_types()}"
        elif error["type"] == "union_tag_not_found":
            message = f'missing key "type" (one of {_quoted_types()})'
        problems.append(_Problem(loc, message))
    return problems


def _is_union_tag(part: str | int) -> bool:
    return part in channel_types()


def _quoted_types() -> str:
    return ", ".join(f'"{kind}"' for kind in channel_types())


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] | None = None
    if loc == ():
        model = Config
    elif loc == ("defaults",):
        model = Defaults
    elif len(loc) == 2 and loc[0] == "sources":
        model = Source
    elif len(loc) == 2 and loc[0] == "notifiers":
        return sorted({key for m in settings_models() for key in _model_keys(m)})
    return _model_keys(model) if model else []


def _model_keys(model: type[BaseModel]) -> list[str]:
    keys = [field.alias or name for name, field in model.model_fields.items()]
    return [k for k in keys if k not in {"path", "name"} or model is Source]


def did_you_mean(word: str, choices: Any) -> str:
    """A hint naming the closest of `choices` to a misspelt `word` ("" when none is close)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(
    path: Path, raw_text: str, problems: list[_Problem], names: dict[int, str] | None = None
) -> str:
    lines = [f"{path}: invalid configuration"]
    index = _LineIndex(raw_text)  # built once: a file with thousands of problems stays fast
    for problem in problems[:MAX_LISTED_PROBLEMS]:
        key = _dotted(problem.loc)
        loc = problem.loc
        if names and len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
            # `sources[3]` means little in a long file: name the source too
            name = names.get(loc[1])
            if name is not None:
                key = key.replace(f"sources[{loc[1]}]", f"sources[{loc[1]}] ({name})", 1)
        line = index.find(problem.loc)
        where = f"line {line}" if line else "file"
        lines.append(
            f"  {path}:{line or '?'}: {key}: {problem.message}"
            if key
            else f"  {path} ({where}): {problem.message}"
        )
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(
            f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more problems "
            f"({len(problems)} in all; the first {MAX_LISTED_PROBLEMS} are listed)"
        )
    return "\n".join(lines)


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_HEADER = re.compile(r"^\s*\[(\[)?\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"^\s*\"?([A-Za-z0-9_-]+)\"?\s*=")


class _LineIndex:
    """Where each table and key of a sources file is, read once from its lines.

    tomllib keeps no positions, so this follows the file's own structure: the n-th
    `[[sources]]` header opens sources[n], `[notifiers.x]` opens notifiers.x, and a key is
    the first `key =` line after its table's header (or the header itself).
    """

    def __init__(self, raw_text: str) -> None:
        self.sources: list[int] = []  # line index of each [[sources]] header
        self.tables: dict[str, int] = {}  # "defaults", "notifiers.x" -> header line index
        self.keys: dict[int | None, dict[str, int]] = {None: {}}  # header -> key -> line
        header: int | None = None
        for number, text in enumerate(raw_text.splitlines()):
            match = _HEADER.match(text)
            if match:
                header = number
                self.keys[header] = {}
                name = match.group(2).replace('"', "").replace(" ", "")
                if match.group(1) and name == "sources":
                    self.sources.append(number)
                else:
                    self.tables.setdefault(name, number)
                continue
            key = _KEY.match(text)
            if key:
                self.keys[header].setdefault(key.group(1), number)

    def find(self, loc: tuple[str | int, ...]) -> int | None:
        """The line number (from 1) of the key at `loc`, or of its table, if found."""
        if not loc:
            return None
        header = self._table_start(loc)
        keys = self.keys.get(header, {})
        # the innermost key with a line of its own: `headers = { Authorization = … }` is
        # found on the line of `headers`
        for key in reversed(loc):
            if isinstance(key, str) and key in keys:
                return keys[key] + 1
        return header + 1 if header is not None else None

    def _table_start(self, loc: tuple[str | int, ...]) -> int | None:
        if loc[0] == "sources" and len(loc) > 1 and isinstance(loc[1], int):
            return self.sources[loc[1]] if loc[1] < len(self.sources) else None
        if loc[0] == "notifiers" and len(loc) > 1:
            return self.tables.get(f"notifiers.{loc[1]}")
        return self.tables.get(str(loc[0]))
