"""The daemon's HTTP endpoint: one Starlette app, served by uvicorn on the daemon's loop.

Routes, in the order they match:

- `GET /healthz`: JSON health; 200 while checks run, 503 when the scheduler stopped ticking,
  a check is stuck past its time limit, or no source is being checked. Never needs a token
  (load balancers and Docker's HEALTHCHECK call it).
- `GET /metrics`: Prometheus text (see monitor.daemon.metrics).
- `GET /api/sources`: every configured source with its schedule and last results.
- `GET /api/events?source=&kind=&since=&url=&limit=`: stored events, newest first, each as
  in the JSON contract plus its `id`.
- `POST /sources/{name}/recheck|pause|resume`: the UI's buttons (form fields `csrf`, the
  token of `monitor.review.controls.csrf_token`, and `back`, the page to return to): check
  the source now, or stop and restart its checks. 303 back to the page, 403 without the
  right CSRF token, 404 for an unknown source, 409 when it cannot be done now.
- `/`: the review UI (`monitor.review.app.create_ui`).

Access: with a token (required when listening beyond loopback), every path but /healthz
wants `Authorization: Bearer <token>` or the `token` cookie. Visiting any page once with
`?token=<token>` sets that cookie and redirects to the same page (a path of this site, never
another) without it, so the token does not stay in the address bar or the browser history.
The cookie holds a session value derived from the token (an HMAC), never the token itself,
and is `Secure` when the request or `public_url` is https.

Without a token (loopback only), a page is served only to a `Host` that is a loopback name or
address or the host of `public_url`: a site that rebinds its own name to 127.0.0.1 cannot
read the UI or /api from a browser (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import html
import ipaddress
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor import __version__
from monitor.clock import iso_or_none, parse_utc
from monitor.daemon.cluster import NodeStatus
from monitor.daemon.metrics import CONTENT_TYPE, Metrics
from monitor.daemon.scheduler import Health
from monitor.review.app import create_ui
from monitor.review.controls import (
    ACTIONS,
    BACK_FIELD,
    CSRF_FIELD,
    SourceControls,
    csrf_token,
    csrf_valid,
)
from monitor.sources.config import Config
from monitor.state.store import Store

log = logging.getLogger(__name__)

TOKEN_COOKIE = "token"
TOKEN_COOKIE_MAX_AGE = 30 * 86400
OPEN_PATHS = frozenset({"/healthz"})
MAX_EVENTS = 1000
MAX_FORM_BYTES = 4096  # a button's form is a token and a path


class Daemon(Protocol):
    """What the app needs from the running daemon."""

    @property
    def store(self) -> Store: ...

    @property
    def config(self) -> Config: ...

    @property
    def metrics(self) -> Metrics: ...

    def health(self) -> Health: ...

    @property
    def node_id(self) -> str: ...

    def nodes(self) -> list[NodeStatus]:
        """Every node sharing the database (this one included), alive or not."""
        ...

    def source_statuses(self) -> list[dict[str, Any]]: ...

    def recheck(self, name: str) -> bool:
        """Check the source now; False when it is not scheduled (unknown, disabled, paused)."""
        ...

    def pause(self, name: str) -> bool:
        """No checks of the source until resumed; False when there is no such source."""
        ...

    def resume(self, name: str) -> bool:
        """Check the paused source on its schedule again; False when there is no such source."""
        ...

    def paused_sources(self) -> frozenset[str]: ...


def create_app(daemon: Daemon, *, token: str | None = None) -> ASGIApp:
    """The whole HTTP endpoint; with a token, everything but /healthz asks for it."""
    # With a token, the forms' CSRF token follows from it (open pages stay valid across
    # restarts); without one, from a key of this process.
    csrf = csrf_token(token.encode("utf-8") if token else secrets.token_bytes(32))
    routes: list[BaseRoute] = [
        Route("/healthz", _endpoint(healthz, daemon)),
        Route("/metrics", _endpoint(metrics, daemon)),
        Route("/api/sources", _endpoint(api_sources, daemon)),
        Route("/api/events", _endpoint(api_events, daemon)),
        Route("/sources/{name}/{action}", _control_endpoint(daemon, csrf), methods=["POST"]),
    ]
    controls = SourceControls(csrf, daemon.paused_sources)
    # The review UI after our routes, so ours win.
    ui = create_ui(lambda: daemon.store, lambda: daemon.config, controls=controls)
    routes.append(Mount("/", app=ui))
    app: ASGIApp = Starlette(routes=routes)

    def public_url() -> str | None:
        return daemon.config.defaults.public_url

    if token:
        return TokenGate(app, token, public_url=public_url)
    return HostGate(app, public_url=public_url)


class HostGate:
    """ASGI middleware of the token-less (loopback) endpoint: only known `Host` names.

    Loopback names and addresses, and the host of `public_url`; anything else is a page of
    another site that rebound its name to this address, refused with 421.
    """

    def __init__(self, app: ASGIApp, *, public_url: Callable[[], str | None]) -> None:
        self.app = app
        self._public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if _known_host(request.headers.get("host", ""), self._public_url()):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse(
            {"error": "unknown Host: open the UI at http://127.0.0.1 or localhost"},
            status_code=421,
        )
        await response(scope, receive, send)


def _known_host(header: str, public_url: str | None) -> bool:
    """True for a loopback `Host` (name or address, any port) or the host of public_url."""
    host = header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.rstrip(".")
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    if public_url:
        configured = (urlsplit(public_url).hostname or "").lower().rstrip(".")
        return host == configured
    return False


def _endpoint(
    handler: Callable[[Request, Daemon], Any], daemon: Daemon
) -> Callable[[Request], Any]:
    """Bind a handler to the daemon (async, so it runs on the loop, next to the checks)."""

    async def endpoint(request: Request) -> Response:
        response: Response = await handler(request, daemon)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return endpoint


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------


async def healthz(request: Request, daemon: Daemon) -> Response:
    # The database is read in a thread: a slow database never stalls the checks' loop.
    health = await asyncio.to_thread(daemon.health)
    try:
        nodes = await asyncio.to_thread(daemon.nodes)
    except Exception as exc:  # health says what is wrong; it never fails itself
        log.error("health: cannot read the cluster's nodes: %s", exc)
        nodes = []
    body = {
        "status": health.status,
        "problems": list(health.problems),
        "last_tick": iso_or_none(health.last_tick),
        "started_at": iso_or_none(health.started_at),
        "sources": health.sources,
        "running": health.running,
        "overdue": len(health.overdue),
        "overdue_sources": list(health.overdue),
        "stuck": list(health.stuck),
        "pending_alerts": health.pending_alerts,
        "version": __version__,
        "node": daemon.node_id,
        "nodes": [n.to_json() for n in nodes if n.alive or n.this],
    }
    return JSONResponse(
        body, status_code=200 if health.ok else 503, headers={"Cache-Control": "no-store"}
    )


async def metrics(request: Request, daemon: Daemon) -> Response:
    return Response(await asyncio.to_thread(daemon.metrics.render), media_type=CONTENT_TYPE)


async def api_sources(request: Request, daemon: Daemon) -> Response:
    return JSONResponse({"sources": await asyncio.to_thread(daemon.source_statuses)})


class BadQuery(ValueError):
    """A query parameter that cannot be used; the message says which and why."""


async def api_events(request: Request, daemon: Daemon) -> Response:
    try:
        query = _events_query(request)
    except BadQuery as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    events = await asyncio.to_thread(lambda: daemon.store.events(**query))
    return JSONResponse({"events": [{"id": e.id, **e.event.to_json()} for e in events]})


def _events_query(request: Request) -> dict[str, Any]:
    params = request.query_params
    kinds = [k for value in params.getlist("kind") for k in value.split(",") if k]
    query: dict[str, Any] = {
        "source": params.get("source") or None,
        "url": params.get("url") or None,
        "kinds": kinds or None,
        "limit": 100,
    }
    if "limit" in params:
        try:
            query["limit"] = int(params["limit"])
        except ValueError:
            raise BadQuery(f"limit must be a whole number, not {params['limit']!r}") from None
        if not 1 <= query["limit"] <= MAX_EVENTS:
            raise BadQuery(f"limit must be between 1 and {MAX_EVENTS}")
    if params.get("since"):
        query["since"] = _parse_since(params["since"])
    return query


def _parse_since(value: str) -> dt.datetime:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    try:
        return parse_utc(value)
    except ValueError:
        raise BadQuery(
            f"since must be an ISO 8601 date or time such as 2026-11-26T09:00:00Z, not {value!r}"
        ) from None


def _control_endpoint(daemon: Daemon, csrf: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        response = await control(request, daemon, csrf)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return endpoint


async def control(request: Request, daemon: Daemon, csrf: str) -> Response:
    """A button of the UI: check a source now, pause it or resume it; then back to the page."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return _refused(request, 413, "the form is too large")
    form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    if not csrf_valid(_field(form, CSRF_FIELD), csrf):
        return _refused(request, 403, "the form's CSRF token is missing or wrong; reload the page")
    name, action = request.path_params["name"], request.path_params["action"]
    if action not in ACTIONS:
        return _refused(request, 404, f"there is no action {action!r}")
    if not any(source.name == name for source in daemon.config.sources):
        return _refused(request, 404, f"there is no source named {name!r}")
    if action == "recheck":
        done = daemon.recheck(name)
    elif action == "pause":
        done = daemon.pause(name)
    else:
        done = daemon.resume(name)
    if not done:
        why = "it is paused or disabled" if action == "recheck" else "it is disabled"
        return _refused(request, 409, f"cannot {action} {name}: {why}")
    back = _local_path(_field(form, BACK_FIELD))
    separator = "&" if "?" in back else "?"
    target = f"{back}{separator}{urlencode({'done': action, 'done_for': name})}"
    return RedirectResponse(target, status_code=303)


def _field(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _local_path(value: str | None) -> str:
    """A page of this site to go back to: a path, never another site ("//x", "http://x")."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, v) for k, v in pairs if k not in {"done", "done_for"}])
    return parts.path + (f"?{query}" if query else "")


def _refused(request: Request, status: int, reason: str) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>not done</title></head><body><h1>Not done</h1><p>{html.escape(reason)}.</p>"
            '<p><a href="/">Back to the dashboard</a></p></body></html>'
        )
        return HTMLResponse(page, status_code=status)
    return JSONResponse({"error": reason}, status_code=status)


# ---------------------------------------------------------------------------------------------
# Access token
# ---------------------------------------------------------------------------------------------


class TokenGate:
    """ASGI middleware: every path but /healthz needs the access token.

    Accepted as `Authorization: Bearer <token>` or as the `token` cookie; `?token=<token>` on
    any GET sets the cookie and redirects to the same URL without it. Comparisons are
    constant-time.
    """

    def __init__(
        self, app: ASGIApp, token: str, *, public_url: Callable[[], str | None] = lambda: None
    ) -> None:
        self.app = app
        self._token = token.encode("utf-8")
        # What the cookie holds: a stolen cookie (a backup, a shared profile) is not the token,
        # which also opens /api and /metrics with a Bearer header.
        self._session = session_value(token).encode("ascii")
        self._public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        offered = request.query_params.get("token")
        if offered is not None:
            response = self._login(request, offered)
        elif self._valid(_bearer(request)) or self._valid_session(
            request.cookies.get(TOKEN_COOKIE)
        ):
            await self.app(scope, receive, send)
            return
        else:
            response = _unauthorized(request, "this page needs the access token")
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        await response(scope, receive, send)

    def _valid(self, offered: str | None) -> bool:
        if not offered:
            return False
        return hmac.compare_digest(offered.encode("utf-8"), self._token)

    def _valid_session(self, offered: str | None) -> bool:
        if not offered:
            return False
        return hmac.compare_digest(offered.encode("utf-8", "replace"), self._session)

    def _login(self, request: Request, offered: str) -> Response:
        """Trade a valid `?token=` for the cookie, and drop it from the address."""
        if not self._valid(offered):
            return _unauthorized(request, "the token in the address is not the right one")
        rest = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True)]
        query = urlencode([(k, v) for k, v in rest if k != "token"])
        # `//evil.example/x` is a path to the server but another site to a browser: one slash.
        path = "/" + request.url.path.replace("\\", "/").lstrip("/")
        target = path + (f"?{query}" if query else "")
        response = RedirectResponse(target, status_code=303)
        public_url = self._public_url() or ""
        response.set_cookie(
            TOKEN_COOKIE,
            self._session.decode("ascii"),
            max_age=TOKEN_COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",  # sent on links followed from alerts; not on cross-site POSTs
            secure=request.url.scheme == "https" or public_url.lower().startswith("https:"),
        )
        return response


def session_value(token: str) -> str:
    """The cookie's value for a token: an HMAC of it, so the cookie never holds the token."""
    return hmac.new(token.encode("utf-8"), b"monitor web session", hashlib.sha256).hexdigest()


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _unauthorized(request: Request, reason: str) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="statement monitor"'}
    if "text/html" in request.headers.get("accept", ""):
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>access token needed</title></head><body><h1>Access token needed</h1>"
            f"<p>{html.escape(reason)}. Open this page once with <code>?token=…</code> "
            "added to its address (the token the daemon was started with, "
            "<code>--token</code> or <code>MONITOR_TOKEN</code>); a cookie keeps you "
            "signed in.</p></body></html>"
        )
        return HTMLResponse(page, status_code=401, headers=headers)
    message = f"{reason}: send `Authorization: Bearer <token>`"
    return JSONResponse({"error": message}, status_code=401, headers=headers)
