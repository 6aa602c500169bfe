"""The review web UI: server-rendered pages the daemon mounts at "/".

`create_ui(store_provider, config_provider)` returns a Starlette app with:

- `/`: the dashboard (sources and their status, recent changes); `?q=` searches sources
  and statements by name, title and URL; changes newer than the last visit (the `seen`
  cookie holds the newest event id shown then) are marked unread;
- `/sources/{name}`: one source and its statements;
- `/statement?url=<url>`: a statement's versions;
- `/diff?url=<url>&from=N&to=M`: the changes between two versions (the permalink alerts
  link to; `to` defaults to the latest version, `from` to the one before `to`);
- `/original?url=<url>&version=N`: a version's page as fetched, from the archive, sandboxed;
- `/events?source=&type=&since=`: every event, filtered by a plain GET form;
- `/feed.xml`: an Atom feed of changes (`?source=` for one source);
- `/static/style.css`: the one stylesheet.

No JavaScript anywhere. Every response carries a strict Content-Security-Policy (no script,
styles only from this server, no framing) and nosniff / no-referrer headers. Pages are built
by `monitor.review.views` and rendered with the package's templates, the same ones the static
export (`monitor report`) and `monitor diff --format html` use.

Under the daemon, `controls` (see `monitor.review.controls`) adds a check-now and a pause or
resume button per source on the dashboard and the source pages; the daemon answers them.

Endpoints are plain functions: Starlette runs them in its thread pool, so reading the
database and comparing long statements never blocks the daemon's event loop.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.archive.keeper import stored_page
from monitor.archive.model import ArchiveError
from monitor.clock import utcnow
from monitor.review import views as ui_pages
from monitor.review.controls import Buttons, SourceControls
from monitor.review.feed import atom_feed
from monitor.sources.config import Config
from monitor.state.store import Store, StoreError

log = logging.getLogger(__name__)

# The policy of every response. Styles come from /static/style.css only (no inline style),
# forms submit only here, nothing else loads at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# The same policy in a <meta> tag of every page (frame-ancestors is not allowed there).
META_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'"
)

# Archived pages as fetched: nothing runs, nothing loads but inline styles and data: images,
# and the sandbox (no allow-* at all) also blocks forms, popups and top navigation.
ARCHIVED_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; sandbox"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

FEED_ENTRIES = 50
SEEN_COOKIE = "seen"  # the newest event id the dashboard showed: later ones are unread
SEEN_COOKIE_MAX_AGE = 365 * 86400

StoreProvider = Callable[[], Store]
ConfigProvider = Callable[[], Config]


@functools.cache
def stylesheet() -> tuple[bytes, str]:
    """The package's stylesheet and a short hash of it, to version its URL."""
    css = resources.files("monitor.review").joinpath("templates/style.css").read_bytes()
    return css, hashlib.sha256(css).hexdigest()[:12]


# --- links of the served pages ---------------------------------------------------------------


@dataclass(frozen=True)
class ServedLinks:
    """Links between served pages: absolute paths under `root` (where the UI is mounted).

    `root` may also be an absolute URL (scheme and host), for links in the Atom feed.
    """

    root: str = ""
    forms: bool = True

    def _to(self, path: str, params: dict[str, object] | None = None) -> str:
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return f"{self.root}{path}" + (f"?{urlencode(query)}" if query else "")

    def home(self) -> str:
        return self._to("/")

    def stylesheet(self) -> str:
        return self._to("/static/style.css", {"v": stylesheet()[1]})

    def events(
        self,
        source: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> str:
        return self._to("/events", {"source": source, "type": kind, "since": since, "limit": limit})

    def events_form(self) -> str:
        return self._to("/events")

    def diff_form(self) -> str:
        return self._to("/diff")

    def feed(self, source: str | None = None) -> str:
        return self._to("/feed.xml", {"source": source})

    def source(self, name: str) -> str:
        # Source names are plain (letters, digits, '-', '_', '.'), but stored ones are not
        # validated again: quote them like any path segment.
        return self._to(f"/sources/{quote(name, safe='')}")

    def statement(self, source: str, url: str) -> str:
        return self._to("/statement", {"url": url, "source": source})

    def diff(self, source: str, url: str, old: int, new: int) -> str:
        return self._to("/diff", {"url": url, "from": old, "to": new, "source": source})

    def original(self, source: str, url: str, version: int) -> str:
        return self._to("/original", {"url": url, "version": version, "source": source})


# --- the app ---------------------------------------------------------------------------------


class SecurityHeaders:
    """ASGI middleware setting the security headers on every response of the UI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name == "Content-Security-Policy" and name in headers:
                        continue  # an endpoint's own policy (the archived pages' sandbox)
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_ui(
    store_provider: StoreProvider,
    config_provider: ConfigProvider,
    *,
    controls: SourceControls | None = None,
) -> Starlette:
    """The review UI as a Starlette app, to mount at "/" (it works under any prefix).

    The providers are called on every request, so a reloaded configuration or a reopened
    store is picked up without rebuilding the app. With `controls`, pages show the
    per-source buttons.
    """
    ui = _Endpoints(store_provider, config_provider, controls)
    routes = [
        Route("/", ui.dashboard, name="dashboard"),
        Route("/sources/{name}", ui.source, name="source"),
        Route("/statement", ui.statement, name="statement"),
        Route("/diff", ui.diff, name="diff"),
        Route("/original", ui.original, name="original"),
        Route("/events", ui.events, name="events"),
        Route("/feed.xml", ui.feed, name="feed"),
        Route("/static/style.css", ui.stylesheet, name="stylesheet"),
    ]
    handlers = {HTTPException: ui.http_error, 500: ui.server_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    # A long diff page is a few hundred KB of repetitive HTML: compressed for phones.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    app.add_middleware(SecurityHeaders)
    return app


def _links(request: Request) -> ServedLinks:
    return ServedLinks(root=str(request.scope.get("root_path", "")).rstrip("/"))


def _seen(request: Request) -> int | None:
    """The newest event id of the last dashboard visit (the `seen` cookie); None at first."""
    value = request.cookies.get(SEEN_COOKIE, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _html(body: str, status: int = 200) -> HTMLResponse:
    # Pages show live state: browsers may keep them but must ask again before reusing them.
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-cache"})


class _Endpoints:
    """The UI's request handlers, around the page builders of `monitor.review.views`."""

    def __init__(
        self,
        store_provider: StoreProvider,
        config_provider: ConfigProvider,
        controls: SourceControls | None = None,
    ) -> None:
        self.store_provider = store_provider
        self.config_provider = config_provider
        self.controls = controls

    def _buttons(self, request: Request) -> Buttons | None:
        """The per-source buttons of a page, when the daemon lent its controls."""
        if self.controls is None:
            return None
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Buttons(
            self.controls.csrf_token,
            self.controls.paused(),
            root=_links(request).root,
            back=back,
        )

    def _page(
        self, request: Request, build: Callable[[Store, ServedLinks], ui_pages.Page]
    ) -> Response:
        """Build and render a page; known failures become error pages with their status."""
        links = _links(request)
        try:
            page = build(self.store_provider(), links)
        except ui_pages.PageError as error:
            return self._error(links, error)
        except StoreError as exc:
            log.warning("the web UI cannot read the state: %s", exc)
            return self._error(
                links,
                ui_pages.PageError(503, "State unavailable", f"The state cannot be read: {exc}"),
            )
        return _html(ui_pages.render(page, links, meta_csp=META_CSP))

    def _error(self, links: ServedLinks, error: ui_pages.PageError) -> Response:
        page = ui_pages.error_page(error)
        return _html(ui_pages.render(page, links, meta_csp=META_CSP), status=error.status)

    def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own errors (unknown path, wrong method) as our error page."""
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = f"There is no page at {request.url.path}."
            error = ui_pages.PageError(404, "Not found", message)
        else:
            error = ui_pages.PageError(exc.status_code, "Error", str(exc.detail))
        response = self._error(_links(request), error)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    def server_error(self, request: Request, exc: Exception) -> Response:
        """An unexpected failure (logged by the server): a page, with the security headers.

        Starlette answers it outside the middleware, so the headers are set here.
        """
        error = ui_pages.PageError(
            500, "Server error", "This page failed to render; the daemon's log says why."
        )
        response = self._error(_links(request), error)
        response.headers.update(SECURITY_HEADERS)
        return response

    def dashboard(self, request: Request) -> Response:
        params = request.query_params
        seen = _seen(request)
        shown: list[int] = []
        buttons = self._buttons(request)

        def build(store: Store, links: ServedLinks) -> ui_pages.Page:
            page = ui_pages.dashboard_page(
                store,
                self.config_provider(),
                links,
                utcnow(),
                query=params.get("q", ""),
                seen=seen,
                buttons=buttons,
                notice=ui_pages.notice(params.get("done"), params.get("done_for")),
            )
            shown.append(page.context["newest_event"])
            return page

        response = self._page(request, build)
        if shown and shown[0] is not None and (seen is None or shown[0] > seen):
            response.set_cookie(
                SEEN_COOKIE,
                str(shown[0]),
                max_age=SEEN_COOKIE_MAX_AGE,
                path=_links(request).root or "/",
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    def source(self, request: Request) -> Response:
        name = request.path_params["name"]
        params = request.query_params
        buttons = self._buttons(request)
        return self._page(
            request,
            lambda store, links: ui_pages.source_page(
                store,
                self.config_provider(),
                links,
                utcnow(),
                name,
                buttons=buttons,
                notice=ui_pages.notice(params.get("done"), params.get("done_for")),
            ),
        )

    def statement(self, request: Request) -> Response:
        params = request.query_params
        return self._page(
            request,
            lambda store, links: ui_pages.statement_page(
                store, links, utcnow(), params.get("url", ""), params.get("source")
            ),
        )

    def diff(self, request: Request) -> Response:
        params = request.query_params

        def build(store: Store, links: ServedLinks) -> ui_pages.Page:
            old = ui_pages.parse_version(params.get("from"), "from")
            new = ui_pages.parse_version(params.get("to"), "to")
            url, source = params.get("url", ""), params.get("source")
            return ui_pages.diff_page(store, links, utcnow(), url, source, old, new)

        return self._page(request, build)

    def original(self, request: Request) -> Response:
        """A version's page exactly as fetched (from the archive), sandboxed.

        The page is hostile: its scripts, plugins, forms and requests are blocked by the
        sandbox and a policy allowing only inline styles and data: images, so it shows what
        it said without running anything or calling home.
        """
        params = request.query_params
        links = _links(request)
        try:
            store = self.store_provider()
            statement, _source = ui_pages.find_statement(
                store, params.get("url", ""), params.get("source")
            )
            version = ui_pages.parse_version(params.get("version"), "version")
            snapshot = store.snapshot(statement.id, version or statement.version)
            if snapshot is None:
                raise ui_pages.not_found(f"{statement.url} has no version {version}.")
            page = stored_page(self.config_provider(), store, snapshot)
        except ui_pages.PageError as error:
            return self._error(links, error)
        except ArchiveError as exc:
            log.error("an archived page cannot be read: %s", exc)
            message = f"The archived page cannot be read: {exc}. Run `monitor archive verify`."
            return self._error(links, ui_pages.PageError(500, "Archive damaged", message))
        except StoreError as exc:
            message = f"The state cannot be read: {exc}"
            return self._error(links, ui_pages.PageError(503, "State unavailable", message))
        if page is None:
            message = f"Version {snapshot.version} of this statement was stored without its page."
            return self._error(links, ui_pages.not_found(message))
        return Response(
            page.html.encode("utf-8"),
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": ARCHIVED_PAGE_CSP,
                "Cache-Control": "private, max-age=3600",
            },
        )

    def events(self, request: Request) -> Response:
        params = dict(request.query_params)

        def build(store: Store, links: ServedLinks) -> ui_pages.Page:
            filters = ui_pages.parse_event_filters(params)
            return ui_pages.events_page(store, self.config_provider(), links, utcnow(), filters)

        return self._page(request, build)

    def feed(self, request: Request) -> Response:
        """The Atom feed of changes, with absolute links (to `public_url` when configured)."""
        config = self.config_provider()
        public_url = config.defaults.public_url
        base = (public_url or str(request.base_url)).rstrip("/")
        links = ServedLinks(root=base)
        source = request.query_params.get("source") or None
        try:
            store = self.store_provider()
            events = store.events(source=source, kinds=ui_pages.CHANGE_KINDS, limit=FEED_ENTRIES)
            state = ui_pages.StateView.read(store)
        except StoreError as exc:
            log.warning("the web UI cannot read the state: %s", exc)
            return Response("the state cannot be read", status_code=503, media_type="text/plain")
        now = utcnow()
        body = atom_feed(
            ui_pages.event_views(events, state, links, now),
            feed_url=links.feed(source),
            home_url=links.home(),
            title="statement monitor: changes" + (f" of {source}" if source else ""),
            now=now,
        )
        return Response(
            body,
            media_type="application/atom+xml; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    def stylesheet(self, request: Request) -> Response:
        css, version = stylesheet()
        # Pages link the stylesheet with its hash (?v=), so it may be kept for long.
        cache = "public, max-age=31536000, immutable"
        if request.query_params.get("v") != version:
            cache = "public, max-age=300"
        return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": cache})
