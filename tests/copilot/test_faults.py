"""Faults on the real app and database: a database write that fails half-way leaves no
half-made work order and the operator gets a clear 503; the next write works."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from copilot.api.app import create_app
from copilot.context import AppContext
from copilot.settings import Settings
from copilot.tickets.models import Ticket, TicketEvent
from tests.conftest import sign_in

TICKET = {"content": "小区门口路灯坏了一个月", "request_type": "求助", "district": "越秀区"}


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    context = AppContext(settings)
    yield context
    context.close()


def rows(ctx: AppContext, model: Any) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_database_write_failing_half_way_saves_nothing(ctx: AppContext) -> None:
    failing = {"on": True}

    def disk_error(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # the ticket row is already inserted when its history row fails to be written
        if failing["on"] and statement.lstrip().upper().startswith("INSERT INTO TICKET_EVENTS"):
            raise sqlite3.OperationalError("disk I/O error")

    event.listen(ctx.db.engine, "before_cursor_execute", disk_error)
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
        auth = sign_in(client, ctx.db, "operator", ("operator",))
        r = client.post("/api/v1/tickets", headers=auth, json=TICKET)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert "没有保存任何内容" in r.json()["detail"]
        assert rows(ctx, Ticket) == 0 and rows(ctx, TicketEvent) == 0

        failing["on"] = False
        again = client.post("/api/v1/tickets", headers=auth, json=TICKET)
        assert again.status_code == 201, again.text
        assert rows(ctx, Ticket) == 1 and rows(ctx, TicketEvent) == 1
    event.remove(ctx.db.engine, "before_cursor_execute", disk_error)
