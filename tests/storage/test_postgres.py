"""The same models and services on SQLite and on PostgreSQL (pg8000), schema by Alembic.

Every test runs on both back ends, each on a database of its own: a file in ``tmp_path`` for
SQLite, a uniquely named database (created, then dropped) for PostgreSQL. PostgreSQL tests are
skipped, with the reason, unless ``COPILOT_TEST_POSTGRES_URL`` names a reachable server whose
user may create databases (``make services`` starts one; ``make test`` sets the URL).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, make_url, select, text

from classifier.deadline import CHINA_TZ
from copilot.accounts import service as accounts
from copilot.accounts.models import LoginSession, User
from copilot.chat.log import ChatTurn, unanswered
from copilot.tickets import (
    TicketConflict,
    TicketDraft,
    create_ticket,
    dispatch,
    get_ticket,
    link_duplicate,
    list_tickets,
    transition,
)
from copilot.tickets.models import Ticket
from knowledge_base import service as kb
from knowledge_base.db import (
    Database,
    all_metadata,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from knowledge_base.importer import import_table
from knowledge_base.models import AnswerStatus, AnswerTemplate, Category, KbRevision, Unit
from tests.conftest import TEST_PASSWORD

PG_ENV = "COPILOT_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]

TAXONOMY = """一级分类,二级分类,三级分类
住房,物业管理,物业费
城乡建设,市容环卫,油烟污染
"""
UNITS = """name,duty,district,phone
市住房和城乡建设局,物业管理,全市,020-5550-0001
天河区城管局,油烟直排,天河区,020-5550-0002
"""
ANSWERS = """id,question,answer,unit,level1,level2,level3
a1,物业费涨价合法吗|物业公司能随便涨价吗,物业服务收费调整须经业主共同决定。,市住房和城乡建设局,住房,物业管理,物业费
a2,楼下饭店油烟太大怎么办,餐饮油烟直排可向属地城管部门反映。,天河区城管局,城乡建设,市容环卫,油烟污染
"""
ACCEPTED = dt.datetime(2025, 11, 3, 10, 0, tzinfo=CHINA_TZ)  # a Monday


@functools.cache
def _postgres_problem() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    url = os.environ.get(PG_ENV)
    if not url:
        return f"{PG_ENV} is not set (run `make services`; `make test` sets it)"
    engine = create_engine(url, connect_args={"timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # any failure to connect means skip, with the reason
        return f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {e}"
    finally:
        engine.dispose()
    return None


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new, empty database, removed afterwards (PostgreSQL: its own database,
    dropped at the end; SQLite: a file under ``tmp_path``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'copilot.db'}"
        return
    problem = _postgres_problem()
    if problem:
        pytest.skip(problem)
    base = make_url(os.environ[PG_ENV])
    name = f"copilot_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database on the back end of the parameter."""
    with fresh_database(request.param, tmp_path) as fresh:
        yield fresh


@pytest.fixture
def database(url: str) -> Iterator[Database]:
    db = Database(url)
    yield db
    db.dispose()


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _import(db: Database, kind: str, data: str) -> Any:
    with db.session() as s:
        return import_table(s, kind, data.encode(), f"{kind}.csv")  # type: ignore[arg-type]


# ---------------------------------------------------------------- schema


def test_upgrade_from_empty_builds_the_models_schema_at_head(url: str) -> None:
    engine = make_engine(url)
    try:
        assert upgrade(engine) == "none"
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision() == "0001_baseline"
            # The migration and the models agree: no table, column, type or index differs.
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, all_metadata()) == []
            found = inspect(conn)
            tables = {t for m in all_metadata() for t in m.tables}
            assert set(found.get_table_names()) == tables | {"alembic_version"}
            for metadata in all_metadata():
                for table in metadata.tables.values():
                    indexes = {i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                               for i in found.get_indexes(table.name)
                               if not i.get("duplicates_constraint")}
                    wanted = {i.name: (tuple(c.name for c in i.columns), i.unique)
                              for i in table.indexes}
                    assert indexes == wanted, table.name
        assert upgrade(engine) == "0001_baseline"  # already at head: nothing to do
    finally:
        engine.dispose()


def test_a_home_made_before_alembic_is_stamped_and_keeps_its_rows(url: str) -> None:
    engine = make_engine(url)
    try:
        # An old home: only the knowledge base tables, made by create_all, with rows in them.
        all_metadata()[0].create_all(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO kb_revision (id, revision) VALUES (1, 7)"))
            conn.execute(text("INSERT INTO units (name, kind, district, duty, phone, address) "
                              "VALUES ('天河区城管局', '', '天河区', '', '', '')"))
    finally:
        engine.dispose()
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            assert {"tickets", "users", "chat_log"} <= set(inspect(conn).get_table_names())
        assert db.revision() == 7
        with db.session() as s:
            assert s.scalar(select(Unit.district).where(Unit.name == "天河区城管局")) == "天河区"
            s.add(Ticket(request_type="投诉", content="x", accepted_at=dt.datetime(2025, 1, 1),
                         due_date=dt.date(2025, 1, 2), created_by="op1", status="受理"))
        assert _count(db, Ticket) == 1
    finally:
        db.dispose()
    again = Database(url)  # opening it once more changes nothing
    try:
        assert again.revision() == 7 and _count(again, Ticket) == 1
    finally:
        again.dispose()


# ---------------------------------------------------------------- services


def test_knowledge_base_import_edit_and_versions(database: Database) -> None:
    db = database
    assert _import(db, "taxonomy", TAXONOMY).created == 2  # rows; 6 categories in all
    assert _import(db, "units", UNITS).created == 2
    assert _import(db, "answers", ANSWERS).created == 2
    start = db.revision()
    with db.session() as s:
        a1 = s.scalar(select(AnswerTemplate).where(AnswerTemplate.external_id == "a1"))
        assert a1.questions == ["物业费涨价合法吗", "物业公司能随便涨价吗"]
        assert a1.unit.name == "市住房和城乡建设局" and a1.category.code == "01.01.001"
        assert a1.category.path() == ["住房", "物业管理", "物业费"]
        assert a1.status == AnswerStatus.published
        made = kb.create_answer(s, {"questions": ["电梯坏了找谁"], "answer": "请联系物业公司报修。",
                                    "effective_from": dt.date(2025, 1, 1)}, actor="km1")
        made_id, public_id = made.id, made.public_id
    assert public_id == f"kb-{made_id}"
    with db.session() as s:
        made = s.get(AnswerTemplate, made_id)
        assert kb.update_answer(s, made, {"answer": "请先联系物业公司报修，无果可拨打12345。"},
                                actor="km2")
        assert not kb.update_answer(s, made, {"answer": made.answer}, actor="km2")
        kb.set_status(s, made, AnswerStatus.in_review, actor="km2")
    with db.session() as s:
        history = kb.answer_history(s, made_id)
        assert [v.version for v in history] == [1, 2, 3]
        assert [v.changed_by for v in history] == ["km1", "km2", "km2"]
        assert "12345" in history[1].snapshot["answer"] and "12345" not in history[0].snapshot[
            "answer"]
        assert s.get(AnswerTemplate, made_id).status == AnswerStatus.in_review
        assert s.get(AnswerTemplate, made_id).effective_from == dt.date(2025, 1, 1)
        counts = kb.counts(s)
        assert (counts["answers_published"], counts["answers_in_review"]) == (2, 1)
        assert counts["categories_level3"] == 2 and counts["units"] == 2
    assert db.revision() == start + 3
    # Re-importing the same file changes nothing; a changed answer makes a new version.
    assert _import(db, "answers", ANSWERS).unchanged == 2
    assert _import(db, "answers", ANSWERS.replace("共同决定", "依法共同决定")).updated == 1
    assert _count(db, Category) == 6 and _count(db, KbRevision) == 1


def _draft(**changes: Any) -> TicketDraft:
    values: dict[str, Any] = {"content": "市民反映天河路208号楼下烧烤店油烟直排，要求处理。",
                              "request_type": "投诉", "district": "天河区",
                              "street_address": "天河路208号", "accepted_at": ACCEPTED,
                              "phone": "13812345678"}
    return TicketDraft(**{**values, **changes})


def test_tickets_flow_dispatch_duplicates_and_optimistic_locking(database: Database) -> None:
    db = database
    with db.session() as s:
        code = kb.ensure_category(s, ["城乡建设", "市容环卫", "油烟污染"]).code
        kb.upsert_unit(s, {"name": "天河区城管局"})
    with db.session() as s:
        first = create_ticket(s, _draft(category_code=code, unit="天河区城管局"), actor="op1")
        tid, number = first.id, first.number
        assert first.category_path == ["城乡建设", "市容环卫", "油烟污染"]
        second = create_ticket(s, _draft(content="楼下烧烤油烟又来了"), actor="op2")
        other = second.id
    assert number and number.startswith("GD20251103-")
    with db.session() as s:
        assert dispatch(s, tid, None, actor="op1").status == "派单"
        dup = link_duplicate(s, other, tid, actor="op2")
        assert dup.duplicate_of == tid
    # Two sessions change the same ticket: the later one is refused, not lost.
    with db.session() as one, db.session() as two:
        seen = get_ticket(two, tid)
        transition(one, tid, "办理", actor="a")
        one.commit()
        assert seen.status == "派单"
        with pytest.raises(TicketConflict, match="changed by someone else"):
            transition(two, tid, "办理", actor="b")
    with db.session() as s:
        for status in ("答复", "回访", "办结"):
            transition(s, tid, status, actor="op1")
    with db.session() as s:
        t = get_ticket(s, tid)
        assert t.status == "办结" and t.closed_at is not None and t.version > 1
        assert [e.action for e in t.events][:2] == ["create", "dispatch"]
        assert t.fields_source["unit"] == "operator"
        assert get_ticket(s, other).status == "办结"  # the duplicate closes with its original
        assert list_tickets(s, q="烧烤").total == 2
        assert [t.id for t in list_tickets(s, q=number.lower()).items] == [tid]  # any case
        assert list_tickets(s, status="办结", district="天河区").total == 2


def test_accounts_login_and_sessions(database: Database) -> None:
    db = database
    who = accounts.create_user(db, "Amy", TEST_PASSWORD, ["operator"], display_name="王小美")
    with pytest.raises(accounts.AccountError, match="已存在"):
        accounts.create_user(db, "amy", TEST_PASSWORD, ["operator"])  # case does not matter
    with pytest.raises(accounts.LoginFailed):
        accounts.authenticate(db, "amy", "wrong-password-1")
    principal = accounts.authenticate(db, "amy", TEST_PASSWORD)
    assert principal.user_id == who.user_id
    token = accounts.open_session(db, principal, dt.timedelta(hours=8), client="pytest")
    resolved = accounts.resolve_session(db, token, dt.timedelta(minutes=30))
    assert resolved is not None and resolved.user_id == who.user_id
    assert accounts.resolve_session(db, token + "x", dt.timedelta(minutes=30)) is None
    accounts.update_user(db, "amy", active=False)  # switching off ends its sessions
    assert accounts.resolve_session(db, token, dt.timedelta(minutes=30)) is None
    assert _count(db, LoginSession) == 0
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "Amy"))
        assert user.active is False and user.display_name == "王小美"
        assert user.last_login_at is not None and user.failed_logins == 0


def test_chat_log_insert_and_gap_query(database: Database) -> None:
    db = database
    base = dt.datetime(2025, 11, 3, 2, 0)
    rows = [("c1", "公积金怎么提取", "no_answer", 0.41),
            ("c2", "公积金怎么提取", "no_answer", 0.45),
            ("c3", "狗咬人了怎么办", "no_answer", None),
            ("c4", "物业费涨价合法吗", "answer", 0.9)]
    with db.session() as s:
        for i, (conv, question, decision, score) in enumerate(rows):
            s.add(ChatTurn(conversation_id=conv, at=base + dt.timedelta(minutes=i),
                           stage="ask", question=question, decision=decision,
                           top_id="kb-1" if score else None, top_score=score, latency_ms=12.5))
    with db.session() as s:
        gaps = unanswered(s)
        assert [(g.question, g.count) for g in gaps] == [("公积金怎么提取", 2),
                                                         ("狗咬人了怎么办", 1)]
        assert gaps[0].last_at == base + dt.timedelta(minutes=1)
        assert gaps[0].top_score == pytest.approx(0.45) and gaps[1].top_id is None
        assert [g.question for g in unanswered(s, since=base + dt.timedelta(minutes=2))] == [
            "狗咬人了怎么办"]


# ---------------------------------------------------------------- the app


@pytest.mark.slow
def test_the_app_files_a_ticket_on_postgres(tmp_path: Path) -> None:
    """AppContext and the real FastAPI app with COPILOT_DATABASE_URL on PostgreSQL."""
    from fastapi.testclient import TestClient

    from copilot.api.app import create_app
    from copilot.context import AppContext
    from copilot.settings import Settings
    from tests.conftest import sign_in

    with fresh_database("postgres", tmp_path) as pg_url:
        ctx = AppContext(Settings(home=tmp_path / "home", env="test", database_url=pg_url,
                                  load_demo=False))
        try:
            assert ctx.db.engine.dialect.name == "postgresql"
            with TestClient(create_app(context=ctx)) as client:
                client.headers.update(sign_in(client, ctx.db, "operator", ("operator",)))
                body = {"content": "市民反映中山大道西123号楼下烧烤店每晚油烟直排，要求处理。",
                        "request_type": "投诉", "district": "天河区",
                        "street_address": "中山大道西123号", "actor": "op1",
                        "accepted_at": "2025-09-28T10:00:00+08:00"}
                r = client.post("/api/v1/tickets", json=body)
                assert r.status_code == 201, r.text
                ticket = r.json()["ticket"]
                assert ticket["number"].startswith("GD20250928-") and ticket["status"] == "受理"
                r = client.get(f"/api/v1/tickets/{ticket['id']}")
                assert r.status_code == 200, r.text
            with ctx.db.engine.connect() as conn:
                assert current_revision(conn) == head_revision()
            assert _count(ctx.db, Ticket) == 1
        finally:
            ctx.close()
