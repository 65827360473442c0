"""Who is asking, and may they: the session cookie (browsers) or bearer token (scripts) turned
into a :class:`~copilot.accounts.service.Principal`, role checks as FastAPI dependencies, the
pages that need a login, and the audit of knowledge changes and work-order views."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, HTTPException, WebSocketException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copilot.accounts import audit
from copilot.accounts.roles import (
    ADMINS,
    KNOWLEDGE_REVIEWERS,
    KNOWLEDGE_STAFF,
    KNOWLEDGE_WRITERS,
    OPERATORS,
    ROLE_NAMES,
    STAFF,
    Role,
    allowed,
)
from copilot.accounts.service import Principal, resolve_session
from copilot.privacy.masking import mask_text

logger = logging.getLogger(__name__)
COOKIE = "copilot_session"
_SCOPE_KEY = "copilot.principal"


def session_token(conn: HTTPConnection) -> str | None:
    """The token of a request: ``Authorization: Bearer …`` first, else the session cookie."""
    header = conn.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return conn.cookies.get(COOKIE) or None


def client_of(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else ""


def principal_of(conn: HTTPConnection) -> Principal | None:
    """The signed-in person (looked up once per request), or None."""
    if _SCOPE_KEY not in conn.scope:
        ctx = conn.app.state.context
        token = session_token(conn)
        idle = dt.timedelta(minutes=ctx.settings.session_idle_minutes)
        conn.scope[_SCOPE_KEY] = resolve_session(ctx.db, token, idle) if token else None
    return conn.scope[_SCOPE_KEY]  # type: ignore[no-any-return]


def _role_list(need: frozenset[Role]) -> str:
    return "、".join(ROLE_NAMES[r] for r in sorted(need | ADMINS))


def require(need: frozenset[Role], *, initial_password_ok: bool = False
            ) -> Callable[[HTTPConnection], Principal]:
    """A dependency that lets through only a signed-in account with one of the roles ``need``
    (administrators always): 401 without a valid session, 403 with the wrong role or while
    the first password has not been changed. On a websocket the refusal closes it (1008)."""

    def dependency(conn: HTTPConnection) -> Principal:
        principal = principal_of(conn)
        problem: tuple[int, str] | None = None
        if principal is None:
            problem = (401, "请先登录（没有会话或会话已过期）：POST /api/v1/auth/login")
        elif principal.must_change_password and not initial_password_ok:
            problem = (403, "请先修改初始密码：POST /api/v1/auth/password")
        elif not allowed(principal.roles, need):
            problem = (403, f"账号 {principal.username} 无权执行此操作，"
                            f"需要角色：{_role_list(need)}")
        if problem is None:
            return principal  # type: ignore[return-value]
        if conn.scope["type"] == "websocket":
            raise WebSocketException(code=1008, reason=problem[1][:120])
        headers = {"WWW-Authenticate": "Bearer"} if problem[0] == 401 else None
        raise HTTPException(problem[0], detail=problem[1], headers=headers)

    return dependency


Staff = Annotated[Principal, Depends(require(STAFF))]
Operator = Annotated[Principal, Depends(require(OPERATORS))]
KnowledgeStaff = Annotated[Principal, Depends(require(KNOWLEDGE_STAFF))]
KnowledgeWriter = Annotated[Principal, Depends(require(KNOWLEDGE_WRITERS))]
KnowledgeReviewer = Annotated[Principal, Depends(require(KNOWLEDGE_REVIEWERS))]
Admin = Annotated[Principal, Depends(require(ADMINS))]
SignedIn = Annotated[Principal, Depends(require(frozenset(Role), initial_password_ok=True))]


# ---------------------------------------------------------------- pages

def page_route(file: str, need: frozenset[Role] | None) -> Callable[[Request], Response]:
    """A web page; with ``need``, only for signed-in accounts with those roles (others are
    sent to the login page, or told which role the page needs)."""

    def page(request: Request) -> Response:
        if need is not None:
            principal = principal_of(request)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if principal is None or principal.must_change_password:
                return RedirectResponse(f"/login?next={target}", status_code=303)
            if not allowed(principal.roles, need):
                return HTMLResponse(
                    "<!doctype html><meta charset=utf-8><title>无权访问</title>"
                    f"<p>账号 {principal.username} 无权打开此页面（需要角色："
                    f"{_role_list(need)}）。<a href=/login?next={target}>换个账号登录</a></p>",
                    status_code=403)
        return FileResponse(file)

    return page


# ---------------------------------------------------------------- audit

# (method, path) → audit action; GETs of work orders and calls are views of personal data.
_AUDITED: tuple[tuple[re.Pattern[str], re.Pattern[str], str], ...] = tuple(
    (re.compile(m), re.compile(p), a) for m, p, a in (
        ("GET", r"^/api/v1/tickets/\d+$", "ticket.view"),
        ("GET", r"^/api/v1/tickets$", "ticket.list"),
        ("POST|PUT|PATCH|DELETE", r"^/api/v1/tickets(/.*)?$", "ticket.change"),
        ("POST", r"^/api/v1/calls/[^/]+/ticket$", "ticket.change"),
        ("GET", r"^/api/v1/calls/[^/]+(/transcript)?$", "call.view"),
        ("GET", r"^/api/v1/km/export/", "knowledge.export"),
        ("POST|PUT|PATCH|DELETE", r"^/api/v1/km/", "knowledge.change"),
        ("POST|PUT|PATCH|DELETE", r"^/api/v1/auth/users", "account.change"),
        ("GET", r"^/api/v1/auth/audit", "audit.view"),
    ))


def audit_action(method: str, path: str) -> str | None:
    for m, p, action in _AUDITED:
        if m.fullmatch(method) and p.match(path):
            return action
    return None


class AuditMiddleware:
    """Adds an audit entry for each audited request once its response has gone out: who (the
    signed-in account, "-" if none), what, which path, and whether it was allowed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        action = (audit_action(scope["method"], scope["path"])
                  if scope["type"] == "http" else None)
        if action is None:
            await self.app(scope, receive, send)
            return
        status: dict[str, int] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            try:
                await anyio.to_thread.run_sync(self._record, scope, action,
                                               status.get("code", 500))
            except Exception:  # the response has gone; say loudly that the entry is missing
                logger.exception("audit entry not written: %s %s", scope["method"],
                                 scope["path"])

    @staticmethod
    def _record(scope: Scope, action: str, code: int) -> None:
        from starlette.applications import Starlette

        app: Starlette = scope["app"]
        ctx: Any = getattr(app.state, "context", None)
        if ctx is None:
            return
        principal: Principal | None = scope.get(_SCOPE_KEY)
        target = scope["path"] + ("?" + scope["query_string"].decode("latin-1")
                                  if scope.get("query_string") else "")
        outcome = "ok" if code < 400 else "denied" if code in (401, 403) else "failed"
        client = scope["client"][0] if scope.get("client") else ""
        audit.record(ctx.db, principal.username if principal else "-", action, mask_text(target),
                     outcome=outcome, detail=f"{scope['method']} {code}", client=client)
