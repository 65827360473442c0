"""Accounts, logins and sessions.

A login checks the password (scrypt), counts failures (five in a row lock the account for 15
minutes) and opens a session: a random token handed to the browser as an HttpOnly cookie (or to
scripts as a bearer token) and kept here only as its SHA-256. A session ends at logout, after
``idle`` without requests, after its absolute lifetime, when its password changes or when the
account is switched off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from copilot.accounts.models import LoginSession, User, utcnow
from copilot.accounts.passwords import (
    WeakPassword,
    check_policy,
    hash_password,
    verify_password,
)
from copilot.accounts.roles import Role, parse_roles
from knowledge_base.db import Database

USERNAME = re.compile(r"^[\w.\-]{2,64}$")
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
SEEN_EVERY = dt.timedelta(seconds=60)  # how often a session's last-seen time is written
WRONG = "用户名或密码错误"


class AccountError(ValueError):
    """A request about accounts that cannot be done (the message says why, in Chinese)."""


class LoginFailed(AccountError):
    pass


@dataclass(frozen=True)
class Principal:
    """The person behind a request."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    must_change_password: bool = False

    @property
    def label(self) -> str:
        return self.display_name or self.username


def _check_policy(password: str, username: str) -> None:
    try:
        check_policy(password, username)
    except WeakPassword as e:
        raise AccountError(str(e)) from e


def _principal(user: User) -> Principal:
    return Principal(user.id, user.username, user.display_name, parse_roles(user.roles),
                     user.must_change_password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise AccountError(f"没有用户 {username}")
    return user


def _active_admins(session: Session) -> list[User]:
    users = session.scalars(select(User).where(User.active.is_(True))).all()
    return [u for u in users if Role.admin in parse_roles(u.roles)]


def create_user(db: Database, username: str, password: str, roles: list[str] | str, *,
                display_name: str = "", must_change_password: bool = False) -> Principal:
    username = username.strip()
    if not USERNAME.match(username):
        raise AccountError("用户名须为 2–64 个字母、数字、汉字、下划线、点或连字符")
    try:
        role_set = parse_roles(roles)
    except ValueError as e:
        raise AccountError(str(e)) from e
    _check_policy(password, username)
    with db.session() as session:
        if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
            raise AccountError(f"用户名 {username} 已存在")
        user = User(username=username, display_name=display_name.strip()[:64],
                    password_hash=hash_password(password),
                    roles=",".join(sorted(role_set)), must_change_password=must_change_password)
        session.add(user)
        session.flush()
        return _principal(user)


def update_user(db: Database, username: str, *, roles: list[str] | str | None = None,
                display_name: str | None = None, active: bool | None = None) -> Principal:
    """Change roles, name or whether the account may sign in; switching an account off ends its
    sessions. The last active administrator cannot lose the role or be switched off."""
    with db.session() as session:
        user = _user(session, username)
        was_admin = user.active and Role.admin in parse_roles(user.roles)
        if roles is not None:
            try:
                user.roles = ",".join(sorted(parse_roles(roles)))
            except ValueError as e:
                raise AccountError(str(e)) from e
        if display_name is not None:
            user.display_name = display_name.strip()[:64]
        if active is not None:
            user.active = active
            if active:
                user.failed_logins, user.locked_until = 0, None
        still_admin = user.active and Role.admin in parse_roles(user.roles)
        if was_admin and not still_admin:
            session.flush()
            if not _active_admins(session):
                raise AccountError("至少要保留一个启用的管理员账号")
        if not user.active:
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        return _principal(user)


def set_password(db: Database, username: str, password: str, *,
                 must_change_password: bool = False) -> None:
    """A new password (by an administrator, or the owner through :func:`change_password`); every
    session of the account ends."""
    with db.session() as session:
        user = _user(session, username)
        _check_policy(password, user.username)
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        user.must_change_password = must_change_password
        user.failed_logins, user.locked_until = 0, None
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def change_password(db: Database, username: str, old: str, new: str) -> None:
    with db.session() as session:
        user = _user(session, username)
        if not verify_password(old, user.password_hash):
            raise AccountError("原密码不正确")
        if old == new:
            raise AccountError("新密码不能与原密码相同")
    set_password(db, username, new)


def authenticate(db: Database, username: str, password: str,
                 now: dt.datetime | None = None) -> Principal:
    """The account if the password is right; :class:`LoginFailed` otherwise (the same message
    for an unknown user and a wrong password)."""
    now = now or utcnow()
    failure: LoginFailed | None = None
    with db.session() as session:
        user = session.scalar(select(User).where(func.lower(User.username)
                                                 == username.strip().lower()))
        if user is None:
            verify_password(password, _DUMMY_HASH)  # the same time as a wrong password
            raise LoginFailed(WRONG)
        if user.locked_until and user.locked_until > now:
            minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
            raise LoginFailed(f"连续输错密码，账号已临时锁定，请 {minutes} 分钟后再试或联系管理员")
        if not verify_password(password, user.password_hash):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + LOCK_FOR, 0
            failure = LoginFailed(WRONG)  # raised after the count is committed
        elif not user.active:
            raise LoginFailed("该账号已停用，请联系管理员")
        else:
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            principal = _principal(user)
    if failure is not None:
        raise failure
    return principal


_DUMMY_HASH = hash_password(secrets.token_hex(8))


def open_session(db: Database, principal: Principal, lifetime: dt.timedelta,
                 client: str = "", now: dt.datetime | None = None) -> str:
    """A new session for the account; returns its token (shown once, never stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with db.session() as session:
        session.add(LoginSession(token_hash=_token_hash(token), user_id=principal.user_id,
                                 created_at=now, last_seen_at=now, expires_at=now + lifetime,
                                 client=client[:200]))
        session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    return token


def resolve_session(db: Database, token: str, idle: dt.timedelta,
                    now: dt.datetime | None = None) -> Principal | None:
    """The account a token belongs to, or None when it is unknown, expired, idle too long, or
    the account is switched off."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    with db.session() as session:
        row = session.execute(select(LoginSession, User).join(User)
                              .where(LoginSession.token_hash == _token_hash(token))).first()
        if row is None:
            return None
        login, user = row
        if not user.active or login.expires_at <= now or now - login.last_seen_at > idle:
            session.delete(login)
            return None
        if now - login.last_seen_at > SEEN_EVERY:
            login.last_seen_at = now
        return _principal(user)


def close_session(db: Database, token: str) -> None:
    with db.session() as session:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    roles: list[str]
    active: bool
    locked: bool
    must_change_password: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


def list_users(db: Database, now: dt.datetime | None = None) -> list[UserRow]:
    now = now or utcnow()
    with db.session() as session:
        return [UserRow(u.username, u.display_name, sorted(parse_roles(u.roles)), u.active,
                        bool(u.locked_until and u.locked_until > now), u.must_change_password,
                        u.created_at, u.last_login_at)
                for u in session.scalars(select(User).order_by(User.username))]


def has_users(db: Database) -> bool:
    with db.session() as session:
        return session.scalar(select(func.count(User.id))) != 0
