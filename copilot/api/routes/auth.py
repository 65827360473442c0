"""Login, logout, one's own account, and (administrators) accounts and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from copilot.accounts import audit, service
from copilot.accounts.audit import AuditRow
from copilot.accounts.roles import ROLE_NAMES, Role
from copilot.accounts.service import UserRow
from copilot.api.auth import COOKIE, Admin, SignedIn, client_of, session_token
from copilot.api.deps import ContextDep, Offset

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class MeOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    role_names: list[str]
    must_change_password: bool


class LoginOut(MeOut):
    token: str = Field(description="the session token, for scripts (browsers use the cookie)")
    expires_in_s: int


def _me(p: service.Principal) -> MeOut:
    return MeOut(username=p.username, display_name=p.label, roles=sorted(p.roles),
                 role_names=[ROLE_NAMES[r] for r in sorted(p.roles)],
                 must_change_password=p.must_change_password)


@router.post("/login", response_model=LoginOut, responses={
    401: {"description": "wrong username or password, locked or switched-off account"}})
async def login(ctx: ContextDep, body: LoginIn, request: Request, response: Response
                ) -> LoginOut:
    """Check the password and open a session: the token comes back in the body and as an
    HttpOnly cookie. Five wrong passwords in a row lock the account for 15 minutes."""
    client = client_of(request)
    try:
        principal = await run_in_threadpool(service.authenticate, ctx.db, body.username,
                                            body.password)
    except service.LoginFailed as e:
        await run_in_threadpool(audit.record, ctx.db, body.username, "auth.login",
                                outcome="denied", detail=str(e), client=client)
        raise HTTPException(401, detail=str(e)) from e
    lifetime = dt.timedelta(hours=ctx.settings.session_hours)
    agent = request.headers.get("user-agent", "")
    token = await run_in_threadpool(service.open_session, ctx.db, principal, lifetime,
                                    f"{client} {agent}")
    await run_in_threadpool(audit.record, ctx.db, principal.username, "auth.login",
                            client=client)
    response.set_cookie(COOKIE, token, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="strict", secure=ctx.settings.cookie_secure, path="/")
    return LoginOut(**_me(principal).model_dump(), token=token,
                    expires_in_s=int(lifetime.total_seconds()))


@router.post("/logout", status_code=204)
def logout(ctx: ContextDep, request: Request, response: Response) -> None:
    """End this session (no error when there is none)."""
    token = session_token(request)
    if token:
        service.close_session(ctx.db, token)
    response.delete_cookie(COOKIE, path="/")


@router.get("/me", response_model=MeOut)
def me(principal: SignedIn) -> MeOut:
    return _me(principal)


class PasswordIn(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


@router.post("/password", status_code=204, responses={422: {"description": "wrong old "
                                                            "password or a weak new one"}})
def change_password(ctx: ContextDep, principal: SignedIn, body: PasswordIn, request: Request,
                    response: Response) -> None:
    """Change one's own password. Every session of the account ends, this one too: sign in
    again with the new password."""
    try:
        service.change_password(ctx.db, principal.username, body.old_password,
                                body.new_password)
    except service.AccountError as e:
        raise HTTPException(422, detail=str(e)) from e
    audit.record(ctx.db, principal.username, "auth.password", principal.username,
                 client=client_of(request))
    response.delete_cookie(COOKIE, path="/")


# ---------------------------------------------------------------- administrators

class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(default="", max_length=64)
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=1, max_length=256,
                          description="a first password; its owner must change it")


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, max_length=64)
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None
    password: str | None = Field(default=None, max_length=256,
                                 description="a new password (its owner must change it)")


def _rows(ctx: ContextDep) -> list[UserRow]:
    return service.list_users(ctx.db)


@router.get("/users", response_model=list[UserRow])
def list_users(ctx: ContextDep, _: Admin) -> list[UserRow]:
    return _rows(ctx)


@router.post("/users", response_model=UserRow, status_code=201,
             responses={422: {"description": "invalid or taken username, weak password"}})
def create_user(ctx: ContextDep, _: Admin, body: UserCreate) -> UserRow:
    try:
        service.create_user(ctx.db, body.username, body.password, [r.value for r in body.roles],
                            display_name=body.display_name, must_change_password=True)
    except service.AccountError as e:
        raise HTTPException(422, detail=str(e)) from e
    return next(u for u in _rows(ctx) if u.username == body.username.strip())


@router.patch("/users/{username}", response_model=UserRow,
              responses={404: {"description": "no such user"},
                         422: {"description": "invalid change (e.g. the last administrator)"}})
def update_user(ctx: ContextDep, _: Admin, username: str, body: UserUpdate) -> UserRow:
    """Change roles or name, switch the account off or on, or set a new password (which
    ends its sessions)."""
    if not any(u.username.lower() == username.lower() for u in service.list_users(ctx.db)):
        raise HTTPException(404, detail=f"没有用户 {username}")
    try:
        if body.password is not None:
            service.set_password(ctx.db, username, body.password, must_change_password=True)
        principal = service.update_user(
            ctx.db, username, display_name=body.display_name, active=body.active,
            roles=[r.value for r in body.roles] if body.roles is not None else None)
    except service.AccountError as e:
        raise HTTPException(422, detail=str(e)) from e
    return next(u for u in _rows(ctx) if u.username == principal.username)


class AuditPage(BaseModel):
    total: int
    entries: list[AuditRow]


@router.get("/audit", response_model=AuditPage)
def audit_log(ctx: ContextDep, _: Admin,
              actor: Annotated[str | None, Query(max_length=64)] = None,
              action: Annotated[str | None, Query(max_length=64, description="prefix, e.g. "
                                                  "ticket. or knowledge.change")] = None,
              target: Annotated[str | None, Query(max_length=300)] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100,
              offset: Offset = 0) -> AuditPage:
    """The audit log, newest first: logins, knowledge changes, work-order and call views,
    account changes, refused accesses included."""
    total, rows = audit.search(ctx.db, actor=actor, action=action, target=target, limit=limit,
                               offset=offset)
    return AuditPage(total=total, entries=rows)
