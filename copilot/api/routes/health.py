"""Liveness and what this process serves."""

from __future__ import annotations

from fastapi import APIRouter

from copilot import __version__
from copilot.api.deps import ContextDep
from copilot.api.schemas import Health
from knowledge_base import service

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health", response_model=Health)
def health(ctx: ContextDep) -> Health:
    with ctx.db.session() as session:
        counts = service.counts(session)
    stats = ctx.index.stats()
    return Health(status="ok", version=__version__, kb_revision=ctx.db.revision(),
                  index_revision=stats["revision"], answers_indexed=stats["answers"],
                  counts=counts)
