"""Accounts, sessions, roles and the audit log, on the real app and a real SQLite database:
hashing, lock-out, session expiry, the role each API and page needs, first accounts, and audit
entries for knowledge changes, work-order views and refused accesses."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from copilot.accounts import audit, service
from copilot.accounts.bootstrap import PASSWORDS_FILE, ensure_initial_accounts
from copilot.accounts.passwords import (
    WeakPassword,
    check_policy,
    hash_password,
    verify_password,
)
from copilot.api.app import create_app
from copilot.context import AppContext
from copilot.settings import Settings
from knowledge_base.db import Database
from tests.conftest import TEST_PASSWORD, sign_in

TICKET = {"content": "小区门口路灯坏了一个月", "request_type": "求助", "phone": "13812345678",
          "caller_name": "王小明", "district": "越秀区"}


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    context = AppContext(settings)
    yield context
    context.close()


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as c:
        yield c


# ---------------------------------------------------------------- service


def test_passwords_are_salted_hashes_and_the_policy_says_what_is_wrong() -> None:
    a, b = hash_password("correct-horse"), hash_password("correct-horse")
    assert a != b and "correct-horse" not in a
    assert verify_password("correct-horse", a) and not verify_password("correct-hors", a)
    assert not verify_password("x", "not-a-hash")
    with pytest.raises(WeakPassword, match="至少 8"):
        check_policy("short")
    with pytest.raises(WeakPassword, match="用户名"):
        check_policy("amy-2026-pass", "Amy")


def test_wrong_passwords_lock_the_account_and_the_message_gives_nothing_away(db: Database
                                                                              ) -> None:
    from copilot.accounts.models import create_tables

    create_tables(db.engine)
    service.create_user(db, "amy", TEST_PASSWORD, ["operator"])
    with pytest.raises(service.LoginFailed) as unknown:
        service.authenticate(db, "nobody", TEST_PASSWORD)
    with pytest.raises(service.LoginFailed) as wrong:
        service.authenticate(db, "amy", "wrong-password")
    assert str(unknown.value) == str(wrong.value) == "用户名或密码错误"
    now = dt.datetime(2026, 11, 23, 9, 0)
    for _ in range(4):
        with pytest.raises(service.LoginFailed):
            service.authenticate(db, "amy", "wrong-password", now=now)
    with pytest.raises(service.LoginFailed, match="锁定"):  # even the right password, now
        service.authenticate(db, "AMY", TEST_PASSWORD, now=now)
    later = now + dt.timedelta(minutes=16)
    assert service.authenticate(db, "amy", TEST_PASSWORD, now=later).username == "amy"


def test_sessions_end_when_idle_expired_or_the_account_is_switched_off(db: Database) -> None:
    from copilot.accounts.models import create_tables

    create_tables(db.engine)
    service.create_user(db, "boss", TEST_PASSWORD, ["admin"])
    amy = service.create_user(db, "amy", TEST_PASSWORD, ["operator"], display_name="艾米")
    t0 = dt.datetime(2026, 11, 23, 9, 0)
    idle = dt.timedelta(minutes=30)
    token = service.open_session(db, amy, dt.timedelta(hours=8), now=t0)
    assert service.resolve_session(db, token, idle, now=t0 + dt.timedelta(minutes=20)) == amy
    assert service.resolve_session(db, token, idle, now=t0 + dt.timedelta(minutes=45)) == amy
    assert service.resolve_session(db, token, idle, now=t0 + dt.timedelta(minutes=90)) is None
    token = service.open_session(db, amy, dt.timedelta(hours=1), now=t0)
    assert service.resolve_session(db, token, dt.timedelta(days=1),
                                   now=t0 + dt.timedelta(hours=2)) is None  # absolute limit
    token = service.open_session(db, amy, dt.timedelta(hours=8))
    service.update_user(db, "amy", active=False)
    assert service.resolve_session(db, token, idle) is None
    with pytest.raises(service.LoginFailed, match="停用"):
        service.authenticate(db, "amy", TEST_PASSWORD)
    assert service.resolve_session(db, "forged", idle) is None


def test_the_last_administrator_cannot_be_removed(db: Database) -> None:
    from copilot.accounts.models import create_tables

    create_tables(db.engine)
    service.create_user(db, "boss", TEST_PASSWORD, ["admin"])
    with pytest.raises(service.AccountError, match="管理员"):
        service.update_user(db, "boss", roles=["operator"])
    with pytest.raises(service.AccountError, match="管理员"):
        service.update_user(db, "boss", active=False)
    service.create_user(db, "deputy", TEST_PASSWORD, ["admin", "reviewer"])
    assert service.update_user(db, "boss", active=False).username == "boss"


def test_first_accounts_get_random_passwords_in_a_private_file(tmp_path: Path,
                                                                db: Database) -> None:
    from copilot.accounts.models import create_tables

    create_tables(db.engine)
    made = ensure_initial_accounts(db, tmp_path, admin_password=None, demo=True)
    assert set(made) == {"admin", "operator", "editor", "reviewer"}
    assert len(set(made.values())) == 4
    file = tmp_path / PASSWORDS_FILE
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    assert f"admin\t{made['admin']}" in file.read_text(encoding="utf-8")
    admin = service.authenticate(db, "admin", made["admin"])
    assert admin.must_change_password
    assert ensure_initial_accounts(db, tmp_path, admin_password=None, demo=True) == {}


# ---------------------------------------------------------------- API and pages


def test_login_sets_an_httponly_cookie_and_logout_ends_the_session(client: TestClient,
                                                                    ctx: AppContext) -> None:
    service.create_user(ctx.db, "amy", TEST_PASSWORD, ["operator"], display_name="艾米")
    bad = client.post("/api/v1/auth/login", json={"username": "amy", "password": "nope-nope"})
    assert bad.status_code == 401 and bad.json()["detail"] == "用户名或密码错误"
    r = client.post("/api/v1/auth/login", json={"username": "amy", "password": TEST_PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "copilot_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = client.get("/api/v1/auth/me").json()  # the cookie alone is enough
    assert (me["username"], me["display_name"], me["roles"]) == ("amy", "艾米", ["operator"])
    assert client.get("/api/v1/tickets").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.cookies.clear()
    token = r.json()["token"]
    after = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401 and "请先登录" in after.json()["detail"]


@pytest.mark.parametrize(("roles", "method", "path", "allowed"), [
    (("operator",), "GET", "/api/v1/tickets", True),
    (("operator",), "POST", "/api/v1/km/units", False),
    (("operator",), "GET", "/api/v1/km/answers", False),
    (("operator",), "GET", "/api/v1/auth/users", False),
    (("knowledge_manager",), "GET", "/api/v1/tickets", False),
    (("knowledge_manager",), "POST", "/api/v1/calls", False),
    (("knowledge_manager",), "GET", "/api/v1/km/answers", True),
    (("knowledge_manager",), "GET", "/api/v1/kb/units", True),
    (("reviewer",), "GET", "/api/v1/km/answers", True),
    (("reviewer",), "POST", "/api/v1/km/units", False),
    (("reviewer",), "POST", "/api/v1/km/answers/1/approve", True),  # 404: no such answer
    (("knowledge_manager",), "POST", "/api/v1/km/answers/1/approve", False),
    (("admin",), "GET", "/api/v1/tickets", True),
    (("admin",), "GET", "/api/v1/auth/users", True),
])
def test_every_api_checks_the_role(client: TestClient, ctx: AppContext, roles: tuple[str, ...],
                                   method: str, path: str, allowed: bool) -> None:
    headers = sign_in(client, ctx.db, f"u-{'-'.join(roles)}", roles)
    body = {"name": "某局"} if path.endswith("/units") else {}
    r = client.request(method, path, headers=headers, json=body if method == "POST" else None)
    if allowed:
        assert r.status_code not in (401, 403), r.text
    else:
        assert r.status_code == 403 and "无权" in r.json()["detail"], r.text
    assert client.request(method, path).status_code == 401  # and nobody signed in


def test_chat_and_health_stay_open_to_anonymous_citizens(client: TestClient) -> None:
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/chat/greeting").status_code == 200
    assert client.get("/chat").status_code == 200
    assert client.get("/login").status_code == 200


def test_pages_send_strangers_to_login_and_refuse_the_wrong_role(client: TestClient,
                                                                  ctx: AppContext) -> None:
    r = client.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/console"
    sign_in(client, ctx.db, "kim", ("knowledge_manager",))
    client.post("/api/v1/auth/login", json={"username": "kim", "password": TEST_PASSWORD})
    assert client.get("/km").status_code == 200
    refused = client.get("/console")
    assert refused.status_code == 403 and "无权" in refused.text
    assert client.get("/admin").status_code == 403


def test_a_first_password_must_be_changed_before_anything_else(client: TestClient,
                                                               ctx: AppContext) -> None:
    admin = sign_in(client, ctx.db)
    made = client.post("/api/v1/auth/users", headers=admin, json={
        "username": "newbie", "roles": ["operator"], "password": "first-pass-1"})
    assert made.status_code == 201 and made.json()["must_change_password"]
    weak = client.post("/api/v1/auth/users", headers=admin, json={
        "username": "weak", "roles": ["operator"], "password": "123"})
    assert weak.status_code == 422 and "至少" in weak.json()["detail"]
    login = client.post("/api/v1/auth/login",
                        json={"username": "newbie", "password": "first-pass-1"}).json()
    first = {"Authorization": f"Bearer {login['token']}"}
    client.cookies.clear()
    assert login["must_change_password"]
    blocked = client.get("/api/v1/tickets", headers=first)
    assert blocked.status_code == 403 and "修改初始密码" in blocked.json()["detail"]
    own_name = client.post("/api/v1/auth/password", headers=first, json={
        "old_password": "first-pass-1", "new_password": "newbie-2026-ok"})
    assert own_name.status_code == 422 and "用户名" in own_name.json()["detail"]
    wrong_old = client.post("/api/v1/auth/password", headers=first, json={
        "old_password": "guess-guess", "new_password": "fresh-2026-ok"})
    assert wrong_old.status_code == 422 and "原密码" in wrong_old.json()["detail"]
    assert client.post("/api/v1/auth/password", headers=first, json={
        "old_password": "first-pass-1", "new_password": "fresh-2026-ok"}).status_code == 204
    assert client.get("/api/v1/auth/me", headers=first).status_code == 401  # sessions ended
    again = client.post("/api/v1/auth/login",
                        json={"username": "newbie", "password": "fresh-2026-ok"}).json()
    client.cookies.clear()
    assert client.get("/api/v1/tickets", headers={
        "Authorization": f"Bearer {again['token']}"}).status_code == 200


def test_the_audit_log_records_ticket_views_knowledge_changes_and_refusals(
        client: TestClient, ctx: AppContext) -> None:
    operator = sign_in(client, ctx.db, "op1", ("operator",))
    editor = sign_in(client, ctx.db, "ed1", ("knowledge_manager",))
    created = client.post("/api/v1/tickets", headers=operator, json=TICKET)
    assert created.status_code == 201, created.text
    tid = created.json()["ticket"]["id"]
    assert client.get(f"/api/v1/tickets/{tid}", headers=operator).status_code == 200
    assert client.get(f"/api/v1/tickets/{tid}", headers=editor).status_code == 403
    assert client.post("/api/v1/km/units", headers=editor,
                       json={"name": "城管局"}).status_code == 201
    client.post("/api/v1/auth/login", json={"username": "op1", "password": "wrong-one"})

    _, rows = audit.search(ctx.db, limit=50)
    seen = {(r.actor, r.action, r.target, r.outcome) for r in rows}
    assert ("op1", "ticket.change", "/api/v1/tickets", "ok") in seen
    assert ("op1", "ticket.view", f"/api/v1/tickets/{tid}", "ok") in seen
    assert ("ed1", "ticket.view", f"/api/v1/tickets/{tid}", "denied") in seen
    assert ("ed1", "knowledge.change", "/api/v1/km/units", "ok") in seen
    assert ("op1", "auth.login", "", "denied") in seen

    admin = sign_in(client, ctx.db)
    page = client.get("/api/v1/auth/audit", headers=admin,
                      params={"action": "ticket.view", "actor": "op1"}).json()
    assert page["total"] == 1 and page["entries"][0]["target"] == f"/api/v1/tickets/{tid}"
    assert client.get("/api/v1/auth/audit", headers=operator).status_code == 403


def test_the_users_command_adds_and_lists_accounts(settings: Settings) -> None:
    from copilot.cli import app

    env = {"COPILOT_HOME": str(settings.home), "COPILOT_LOAD_DEMO": "false"}
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "carol", "--role", "reviewer", "--name", "卡罗",
                                "--password-stdin"], input="reviews-2026-ok\n", env=env)
    assert added.exit_code == 0, added.output
    weak = runner.invoke(app, ["users", "add", "dave", "--role", "operator",
                               "--password-stdin"], input="dave\n", env=env)
    assert weak.exit_code == 2 and "至少" in weak.output
    bad_role = runner.invoke(app, ["users", "add", "erin", "--role", "boss",
                                   "--password-stdin"], input="erin-pass-2026\n", env=env)
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    listed = runner.invoke(app, ["users", "list"], env=env)
    assert '"username": "carol"' in listed.output and "dave" not in listed.output
    db = Database(settings.db_url)
    assert service.authenticate(db, "carol", "reviews-2026-ok").must_change_password
