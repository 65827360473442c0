"""Personal data: masking of numbers and names in lists, logs and the audit log, and the
retention purge of call transcripts and chatbot questions (from the API's start-up, from the
CLI), on the real app and a real SQLite database."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from copilot.accounts import audit
from copilot.api.app import create_app
from copilot.calls.store import CallStore
from copilot.chat.log import ChatTurn, create_tables
from copilot.context import AppContext
from copilot.privacy.masking import (
    MaskingFilter,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)
from copilot.privacy.retention import purge
from copilot.settings import Settings, get_settings
from tests.conftest import sign_in

TICKET = {"content": "小区门口路灯坏了一个月", "request_type": "求助", "phone": "13812345678",
          "caller_name": "王小明", "id_number": "11010519491231002X", "district": "越秀区"}


def test_numbers_and_names_are_masked_the_way_hotlines_show_them() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("020-83456789") == "020******89"
    assert mask_id_number("11010119900307123X") == "110101********123X"
    assert mask_name("王小明") == "王**" and mask_name("王") == "*"
    assert mask_phone(None) is None and mask_name("") == ""
    said = "电话13812345678，身份证11010119900307123X，座机020-83456789，尾号138-1234-5678"
    masked = mask_text(said)
    assert "12345678" not in masked and "19900307" not in masked and "83456789" not in masked
    assert masked.startswith("电话138****5678，身份证110101********123X")
    kept = "2020年交房，金额3600元，20261123到期，工单GZ20261123-0001，股票600519"
    assert mask_text(kept) == kept


def test_log_lines_carry_no_citizen_number() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    log = logging.getLogger("test.privacy")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("caller %s said %s", "13812345678", "身份证11010119900307123X")
    finally:
        log.removeHandler(handler)
    line = stream.getvalue()
    assert "138****5678" in line and "110101********123X" in line
    assert "13812345678" not in line


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    context = AppContext(settings)
    yield context
    context.close()


def test_ticket_lists_mask_personal_data_and_the_full_view_is_audited(ctx: AppContext) -> None:
    with TestClient(create_app(context=ctx)) as client:
        auth = sign_in(client, ctx.db, "operator", ("operator",))
        tid = client.post("/api/v1/tickets", headers=auth, json=TICKET).json()["ticket"]["id"]
        listed = client.get("/api/v1/tickets", headers=auth,
                            params={"q": "13812345678"}).json()["items"]
        assert [t["id"] for t in listed] == [tid]  # found by the full number…
        row = listed[0]
        assert (row["phone"], row["caller_name"], row["id_number"]) == (
            "138****5678", "王**", "110105********002X")  # …but shown masked
        full = client.get(f"/api/v1/tickets/{tid}", headers=auth).json()
        assert (full["phone"], full["caller_name"]) == ("13812345678", "王小明")
    _, rows = audit.search(ctx.db, actor="operator")
    targets = [r.target for r in rows]
    assert f"/api/v1/tickets/{tid}" in targets
    assert "/api/v1/tickets?q=138****5678" in targets  # the searched number is masked too
    assert not any("13812345678" in t for t in targets)


def _old_call(store: CallStore, call_id: str, days: float) -> Path:
    store.append(call_id, {"speaker": "caller", "text": "我的电话是13812345678"})
    folder = store.folder(call_id)
    past = time.time() - days * 86400
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (past, past))
    return folder


def _chat_turn(ctx: AppContext, question: str, days_ago: float) -> None:
    create_tables(ctx.db.engine)
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days_ago)
    with ctx.db.session() as session:
        session.add(ChatTurn(conversation_id="c1", at=at, stage="ask", question=question,
                             decision="no_answer"))


def test_the_purge_deletes_only_what_is_past_retention(ctx: AppContext) -> None:
    old = _old_call(ctx.calls, "old-call", days=40)
    recent = _old_call(ctx.calls, "recent-call", days=5)
    _chat_turn(ctx, "去年的问题", days_ago=40)
    _chat_turn(ctx, "昨天的问题", days_ago=1)

    dry = purge(ctx.db, ctx.calls, 30, dry_run=True)
    assert (dry.calls, dry.chat_turns) == (["old-call"], 1) and old.exists()

    done = purge(ctx.db, ctx.calls, 30)
    assert (done.calls, done.chat_turns) == (["old-call"], 1)
    assert not old.exists() and recent.exists()
    with ctx.db.session() as session:
        assert [t.question for t in session.query(ChatTurn)] == ["昨天的问题"]
    _, rows = audit.search(ctx.db, action="retention.purge")
    assert rows and rows[0].actor == "system" and "1 calls" in rows[0].detail
    with pytest.raises(ValueError, match="at least 1 day"):
        purge(ctx.db, ctx.calls, 0)


def test_the_server_purges_at_start_when_retention_is_set(settings: Settings) -> None:
    store = CallStore(settings.home / "calls")
    old = _old_call(store, "stale", days=100)
    kept = _old_call(store, "fresh", days=1)
    ctx = AppContext(settings.model_copy(update={"retention_days": 90}))
    try:
        with TestClient(create_app(context=ctx)):
            for _ in range(100):  # the purge runs in the background at start-up
                if not old.exists():
                    break
                time.sleep(0.05)
        assert not old.exists() and kept.exists()
    finally:
        ctx.close()


def test_the_purge_command(settings: Settings) -> None:
    from copilot.cli import app

    store = CallStore(settings.home / "calls")
    old = _old_call(store, "stale", days=10)
    env = {"COPILOT_HOME": str(settings.home), "COPILOT_LOAD_DEMO": "false"}
    runner = CliRunner()
    get_settings.cache_clear()
    missing = runner.invoke(app, ["purge"], env=env)
    assert missing.exit_code == 2 and "COPILOT_RETENTION_DAYS" in missing.output
    dry = runner.invoke(app, ["purge", "--days", "7", "--dry-run"], env=env)
    assert dry.exit_code == 0 and '"calls": 1' in dry.output and old.exists()
    get_settings.cache_clear()  # the settings are read once per process
    done = runner.invoke(app, ["purge"], env={**env, "COPILOT_RETENTION_DAYS": "7"})
    get_settings.cache_clear()
    assert done.exit_code == 0 and '"call_ids": ["stale"]' in done.output and not old.exists()
