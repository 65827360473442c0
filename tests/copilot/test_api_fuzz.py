"""Fuzz the HTTP API from its own OpenAPI schema (schemathesis + Hypothesis) on the real app,
the demo knowledge base and a real SQLite database: no input, valid or garbage, may make the
server fail (5xx), documented responses must match their schemas, and requests without a
session must all be refused without touching the stored data.

Bounded and reproducible: Hypothesis is derandomized (a fixed seed per operation), a few
examples per operation, no example database and no shrinking time limit worth worrying about.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from sqlalchemy import inspect, text

from copilot.api.app import create_app
from copilot.context import AppContext
from copilot.settings import Settings
from tests.conftest import sign_in

pytestmark = pytest.mark.slow

# Routes not worth fuzzing with an admin's session, and why:
SKIP_AUTHED = {
    ("POST", "/api/v1/auth/logout"),  # ends the fuzzer's own session: every later request 401s
    ("POST", "/api/v1/auth/password"),  # would change the fuzzer's password (and end sessions)
    # could deactivate or demote the fuzzing admin itself if Hypothesis guesses "admin"
    ("PATCH", "/api/v1/auth/users/{username}"),
}
# Routes that anyone may call (so a request without a session is rightly served): skipped in
# the unauthenticated pass, fuzzed in the authenticated one.
PUBLIC = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/chat"),  # anonymous citizens; writes the chat log by design
    ("GET", "/api/v1/chat/greeting"),
    ("POST", "/api/v1/auth/logout"),  # documented: "no error when there is none" (204)
}
# What a request without a session, or with garbage, may get: refused, never served (400 is
# FastAPI's answer to a body that is not JSON at all, given before any route runs).
REFUSED = {400, 401, 403, 404, 405, 422}
# Tables that record requests by design (who tried what), so they change on refusals too.
LOG_TABLES = {"audit_log", "login_sessions", "chat_log"}
SEED = "fuzz-0"
# Two generation modes: schema-valid data and deliberately invalid data.
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def client(demo_settings: Settings) -> Iterator[TestClient]:
    # the chat's per-client rate limit would otherwise answer most fuzzed messages with 429
    ctx = AppContext(demo_settings.model_copy(update={"chat_rate_per_minute": 10_000}))
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as c:
        c.ctx = ctx  # type: ignore[attr-defined]
        yield c
    ctx.close()


def load_schema(client: TestClient) -> Any:
    """The schema the running app serves, fetched in-process through the app itself (the
    TestClient owns the app's lifespan, so the schemathesis ASGI loader, which would start a
    second lifespan on the same app, is not used)."""
    r = client.get("/openapi.json")
    assert r.status_code == 200, r.text
    spec = without_datetime_format(r.json())
    # The routes' own refusals are HTTPException(422, "what was wrong and what to do"): a string
    # detail, where FastAPI documents only its validation errors' list for 422.
    errors = spec["components"]["schemas"]["HTTPValidationError"]["properties"]
    errors["detail"] = {"anyOf": [errors["detail"], {"type": "string", "minLength": 1}]}
    return schemathesis.openapi.from_dict(spec)


def without_datetime_format(node: Any) -> Any:
    """The schema without ``"format": "date-time"``: the app stores naive local times (SQLite)
    and sends them without a UTC offset ("2026-11-23T18:09:47.972058"), which strict RFC 3339
    validation refuses; every other part of the response schemas is still checked."""
    if isinstance(node, dict):
        return {k: without_datetime_format(v) for k, v in node.items()
                if not (k == "format" and v == "date-time")}
    if isinstance(node, list):
        return [without_datetime_format(v) for v in node]
    return node


def send(client: TestClient, case: Any, headers: dict[str, str]) -> Any:
    """Send a generated case through the app's TestClient (httpx) and return the response."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    request_headers = {**(kwargs.pop("headers", None) or {}), **headers}
    data = kwargs.pop("data", None)
    files = kwargs.pop("files", None)
    kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)
    kwargs.pop("verify", None)
    cookies = kwargs.pop("cookies", None)
    if cookies:
        client.cookies.update(cookies)
    try:
        if files is not None:
            return client.request(headers=request_headers, files=files, data=data, **kwargs)
        if isinstance(data, (bytes, str)):
            return client.request(headers=request_headers, content=data, **kwargs)
        return client.request(headers=request_headers, data=data, **kwargs)
    finally:
        client.cookies.clear()


def fuzz(client: TestClient, headers: dict[str, str], skip: set[tuple[str, str]],
         examples: int, on_response: Callable[[Any, Any], None]) -> int:
    """Run every operation of the schema not in ``skip``, in both generation modes, with a
    fixed seed; call ``on_response(case, response)`` on each. Returns the number of requests."""
    schema = load_schema(client)
    sent = 0
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) > 40  # the whole API, not an empty or partial schema
    for operation in operations:
        if (operation.method.upper(), operation.path) in skip:
            continue
        for mode in MODES:
            strategy = operation.as_strategy(generation_mode=mode)

            @hsettings(max_examples=examples, derandomize=True, database=None, deadline=None,
                       phases=[Phase.explicit, Phase.generate],
                       suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal sent
                response = send(client, case, headers)
                # a multipart upload's body, for the checks' report (httpx streams it; a
                # generated part that is not bytes cannot be re-read, which only the report
                # would miss)
                with contextlib.suppress(Exception):
                    response.request.read()
                sent += 1
                on_response(case, response)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (an operation without inputs)
                assert mode is GenerationMode.NEGATIVE, operation.label
    return sent


def snapshot(ctx: AppContext) -> dict[str, str]:
    """A digest of every stored row (log tables aside) and of every stored call file."""
    digest: dict[str, str] = {}
    engine = ctx.db.engine
    with engine.connect() as conn:
        for table in sorted(inspect(engine).get_table_names()):
            if table in LOG_TABLES:
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY rowid')).all()
            digest[table] = f"{len(rows)}:" + hashlib.sha256(repr(rows).encode()).hexdigest()
    calls = Path(ctx.settings.home) / "calls"
    files = sorted(p for p in calls.rglob("*") if p.is_file()) if calls.exists() else []
    digest["calls/"] = hashlib.sha256(
        b"".join(str(p).encode() + p.read_bytes() for p in files)).hexdigest()
    return digest


def count(ctx: AppContext, table: str, where: str = "1=1") -> int:
    with ctx.db.engine.connect() as conn:
        return int(conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE {where}')).scalar())


def test_admin_fuzz_never_fails_the_server(client: TestClient) -> None:
    """With an admin's session every route is reachable: whatever the fuzzer sends, the app
    answers without a 5xx and with the documented body shape for documented statuses."""
    headers = sign_in(client, client.ctx.db, "fuzz-admin", ("admin",))  # type: ignore[attr-defined]
    failures: list[str] = []

    def check(case: Any, response: Any) -> None:
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as e:  # collect them all, not just the first
            if response.status_code < 500 and "without having called `read()`" in str(e):
                return  # schemathesis could not re-read a streamed multipart body for its
                # report; the app's answer (a 4xx) is not what failed
            failures.append(f"{case.operation.label}: {response.status_code} "
                            f"{response.text[:300]}\n{str(e)[:1500]}")

    started = time.monotonic()
    sent = fuzz(client, headers, SKIP_AUTHED, 6, check)
    assert sent > 200
    assert not failures, "\n\n".join(failures[:10])
    assert time.monotonic() - started < 150


def test_requests_without_a_session_are_refused_and_change_nothing(client: TestClient) -> None:
    """Without credentials (or with a forged token) every non-public route refuses, and the
    stored answers, tickets, accounts and calls are exactly as before."""
    ctx: AppContext = client.ctx  # type: ignore[attr-defined]
    admin = sign_in(client, ctx.db, "fuzz-admin", ("admin",))
    ticket = {"content": "市民反映中山大道西123号楼下烧烤店每晚油烟直排，要求处理。",
              "request_type": "投诉", "district": "天河区"}
    assert client.post("/api/v1/tickets", json=ticket, headers=admin).status_code == 201
    assert client.post("/api/v1/calls", json={"call_id": "kept-1"},
                       headers=admin).status_code in (200, 201)
    published = count(ctx, "answer_templates", "status = 'published'")
    assert published > 0 and count(ctx, "tickets") == 1
    before = snapshot(ctx)
    statuses: dict[int, int] = {}
    served: list[str] = []

    def refused(case: Any, response: Any) -> None:
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code not in REFUSED:
            served.append(f"{case.operation.label}: {response.status_code} "
                          f"{response.text[:200]}")

    # logout, password and user edits are fuzzed here too: without a session they must refuse
    for headers in ({}, {"Authorization": "Bearer forged-token-0000"}):
        fuzz(client, headers, PUBLIC, 3, refused)
    assert not served, "\n".join(served[:10])
    assert statuses.get(401, 0) > 0
    assert snapshot(ctx) == before
    assert count(ctx, "answer_templates", "status = 'published'") == published
    assert count(ctx, "tickets") == 1
