"""The FastAPI application: REST under ``/api/v1`` and the web pages under ``/``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from copilot import __version__
from copilot.api.routes import audio, health, kb, understanding
from copilot.context import AppContext
from copilot.settings import Settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, context: AppContext | None = None) -> FastAPI:
    """Build the app; the context (database, indexes, models) opens in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context or AppContext(settings)
        await run_in_threadpool(ctx.load_demo_if_empty)
        # Load the encoder and the index before the first request, not during it.
        await run_in_threadpool(lambda: ctx.index)
        app.state.context = ctx
        app.state.stream_slots = audio.StreamSlots(ctx.settings.max_streams)
        logger.info("copilot ready: home=%s", ctx.settings.home)
        try:
            yield
        finally:
            if context is None:
                ctx.close()

    app = FastAPI(title="hotline-copilot", version=__version__, lifespan=lifespan,
                  description="12345 hotline copilot: knowledge search, classification, "
                              "work orders and live call assistance.")
    app.include_router(health.router)
    app.include_router(kb.router)
    app.include_router(audio.router)
    app.include_router(understanding.router)

    static = resources.files("web_ui").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(static.joinpath("index.html")))

    return app
