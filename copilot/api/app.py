"""The FastAPI application: REST under ``/api/v1`` and the web pages under ``/``."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from copilot import __version__
from copilot.accounts.bootstrap import PASSWORDS_FILE, ensure_initial_accounts
from copilot.accounts.roles import ADMINS, KNOWLEDGE_STAFF, OPERATORS, STAFF, Role
from copilot.api.auth import AuditMiddleware, page_route, require
from copilot.api.routes import (
    audio,
    auth,
    calls,
    chat,
    demo,
    health,
    kb,
    tickets,
    understanding,
)
from copilot.api.routes import km as km_routes
from copilot.api.routes import km_admin as km_admin_routes
from copilot.calls.live import LiveCalls
from copilot.calls.relay import RedisRelay
from copilot.context import AppContext
from copilot.privacy.masking import install_log_masking
from copilot.privacy.retention import purge
from copilot.settings import Settings

logger = logging.getLogger(__name__)


# The web pages and who may open them (None: anyone; the chat is for anonymous citizens).
PAGES: dict[str, tuple[str, frozenset[Role] | None]] = {
    "/": ("index.html", STAFF), "/console": ("console.html", OPERATORS),
    "/chat": ("chat.html", None), "/km": ("km.html", KNOWLEDGE_STAFF),
    "/admin": ("admin.html", ADMINS), "/login": ("login.html", None),
}


async def _purge_daily(ctx: AppContext, days: int) -> None:
    """The retention purge at start and then once a day; a failure is logged and retried."""
    while True:
        try:
            await run_in_threadpool(purge, ctx.db, ctx.calls, days)
        except Exception:  # the server goes on; tomorrow's run tries again
            logger.exception("retention purge failed")
        await asyncio.sleep(24 * 3600)


def prepare_home(ctx: AppContext) -> None:
    """First-start work of a home, before any request: the demo knowledge base into an empty
    one, the first accounts (their passwords shown once, on the server's own terminal, never
    in a log), and the encoder and the search index loaded (or built)."""
    demo_loaded = ctx.load_demo_if_empty()
    generated = ensure_initial_accounts(ctx.db, ctx.settings.home,
                                        admin_password=ctx.settings.admin_password,
                                        demo=demo_loaded)
    if generated:
        lines = "".join(f"    {user:10s} {pw}\n" for user, pw in generated.items())
        sys.stderr.write(f"\nFirst accounts (change the passwords at first login; also in "
                         f"{ctx.settings.home / PASSWORDS_FILE}):\n{lines}\n")
    ctx.index  # noqa: B018 - loads or builds it now, not during the first request


def create_app(settings: Settings | None = None, context: AppContext | None = None) -> FastAPI:
    """Build the app; the context (database, indexes, models) opens in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context or AppContext(settings)
        await run_in_threadpool(prepare_home, ctx)
        await run_in_threadpool(ctx.classifier.model)  # the cold-start category prototypes
        app.state.context = ctx
        app.state.stream_slots = audio.StreamSlots(ctx.settings.max_streams)
        app.state.live = live = LiveCalls(ctx)
        relay = None
        if ctx.settings.redis_url:
            relay = RedisRelay(ctx.settings.redis_url, live.on_remote, live.hub.resync_all)
            await relay.start()
            live.hub.forward = relay.publish
        install_log_masking()
        purger = (asyncio.create_task(_purge_daily(ctx, ctx.settings.retention_days))
                  if ctx.settings.retention_days else None)
        logger.info("copilot ready: home=%s", ctx.settings.home)
        try:
            yield
        finally:
            if purger is not None:
                purger.cancel()
            if relay is not None:
                await relay.stop()
            await app.state.live.drain()
            if context is None:
                ctx.close()

    app = FastAPI(title="hotline-copilot", version=__version__, lifespan=lifespan,
                  description="12345 hotline copilot: knowledge search, classification, "
                              "work orders and live call assistance.")
    app.add_middleware(AuditMiddleware)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # The transaction was rolled back: nothing of this request was saved.
        logger.error("database error on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(status_code=503, headers={"Retry-After": "5"}, content={
            "detail": "数据库暂时不可用，本次操作没有保存任何内容，请稍后重试；"
                      "如持续出现请联系管理员（服务器日志中有原因）"})

    def only(roles: frozenset[Role]) -> list[Any]:
        return [Depends(require(roles))]

    app.include_router(health.router)  # anyone
    app.include_router(chat.router)  # anonymous citizens (rate-limited)
    app.include_router(auth.router)  # each route checks for itself
    app.include_router(kb.router, dependencies=only(STAFF))
    app.include_router(understanding.router, dependencies=only(STAFF))
    app.include_router(calls.router, dependencies=only(OPERATORS))
    app.include_router(audio.router, dependencies=only(OPERATORS))
    app.include_router(tickets.router, dependencies=only(OPERATORS))
    app.include_router(demo.router, dependencies=only(OPERATORS))
    # reading for both; writing and reviewing are checked per route
    app.include_router(km_routes.router, dependencies=only(KNOWLEDGE_STAFF))
    app.include_router(km_admin_routes.router, dependencies=only(KNOWLEDGE_STAFF))

    static = resources.files("web_ui").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    for path, (file, need) in PAGES.items():
        app.add_api_route(path, page_route(str(static.joinpath(file)), need),
                          include_in_schema=False)

    return app
