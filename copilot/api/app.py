"""The FastAPI application: REST under ``/api/v1`` and the web pages under ``/``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from copilot import __version__
from copilot.api.routes import audio, calls, chat, demo, health, kb, tickets, understanding
from copilot.api.routes import km as km_routes
from copilot.api.routes import km_admin as km_admin_routes
from copilot.calls.live import LiveCalls
from copilot.context import AppContext
from copilot.settings import Settings

logger = logging.getLogger(__name__)


# The web pages: operator console, citizen chat, knowledge managers, knowledge search.
PAGES = {"/": "index.html", "/console": "console.html", "/chat": "chat.html", "/km": "km.html"}


def _page(path: str) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        return FileResponse(path)

    return page


def create_app(settings: Settings | None = None, context: AppContext | None = None) -> FastAPI:
    """Build the app; the context (database, indexes, models) opens in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context or AppContext(settings)
        await run_in_threadpool(ctx.load_demo_if_empty)
        # Load the encoder and the index before the first request, not during it.
        await run_in_threadpool(lambda: ctx.index)
        await run_in_threadpool(ctx.classifier.model)  # the cold-start category prototypes
        app.state.context = ctx
        app.state.stream_slots = audio.StreamSlots(ctx.settings.max_streams)
        app.state.live = LiveCalls(ctx)
        logger.info("copilot ready: home=%s", ctx.settings.home)
        try:
            yield
        finally:
            await app.state.live.drain()
            if context is None:
                ctx.close()

    app = FastAPI(title="hotline-copilot", version=__version__, lifespan=lifespan,
                  description="12345 hotline copilot: knowledge search, classification, "
                              "work orders and live call assistance.")
    app.include_router(health.router)
    app.include_router(kb.router)
    app.include_router(calls.router)
    app.include_router(audio.router)
    app.include_router(understanding.router)
    app.include_router(tickets.router)
    app.include_router(demo.router)
    app.include_router(chat.router)
    app.include_router(km_routes.router)
    app.include_router(km_admin_routes.router)

    static = resources.files("web_ui").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    for path, page in PAGES.items():
        app.add_api_route(path, _page(str(static.joinpath(page))), include_in_schema=False)

    return app
