"""Knowledge base: search, taxonomy, unit directory, answer templates with their history."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from copilot.api.deps import ContextDep
from copilot.api.schemas import (
    AnswerOut,
    AnswerVersionOut,
    CategoryNode,
    SearchRequest,
    SearchResponse,
    UnitOut,
)
from knowledge_base import service
from knowledge_base.models import AnswerTemplate, Category, Unit
from retrieval.index import QueryError

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])


def _search(ctx: ContextDep, body: SearchRequest) -> SearchResponse:
    started = time.perf_counter()
    try:
        hits = ctx.index.search(body.query, body.top_k, category=body.category,
                                category_mode=body.category_mode)
    except QueryError as e:
        raise HTTPException(422, detail=str(e)) from e
    return SearchResponse(query=body.query, results=[h.as_dict() for h in hits],
                          took_ms=round((time.perf_counter() - started) * 1000, 2),
                          kb_revision=ctx.index.revision)


@router.get("/search", response_model=SearchResponse)
def search_get(
    ctx: ContextDep,
    q: Annotated[str, Query(min_length=1, description="the question")],
    top_k: Annotated[int, Query(ge=1, le=50)] = 5,
    category: Annotated[str | None, Query(pattern=r"^\d{1,3}(\.\d{1,4}){0,2}$")] = None,
    category_mode: Literal["boost", "filter"] = "boost",
) -> SearchResponse:
    """Search published, unexpired standard answers (hybrid dense + BM25)."""
    return _search(ctx, SearchRequest(query=q, top_k=top_k, category=category,
                                      category_mode=category_mode))


@router.post("/search", response_model=SearchResponse)
def search_post(ctx: ContextDep, body: SearchRequest) -> SearchResponse:
    """Same as GET, with the query in a JSON body."""
    return _search(ctx, body)


@router.get("/categories", response_model=list[CategoryNode])
def categories(ctx: ContextDep) -> list[CategoryNode]:
    """The three-level taxonomy as a tree."""
    with ctx.db.session() as session:
        nodes = list(session.scalars(select(Category).order_by(Category.code)))
    by_id = {n.id: CategoryNode(code=n.code, name=n.name, level=n.level,
                                description=n.description) for n in nodes}
    roots = []
    for n in nodes:
        if n.parent_id is None:
            roots.append(by_id[n.id])
        else:
            by_id[n.parent_id].children.append(by_id[n.id])
    return roots


@router.get("/units", response_model=list[UnitOut])
def units(ctx: ContextDep, district: str | None = None) -> list[UnitOut]:
    """The handling-unit directory, optionally of one district."""
    with ctx.db.session() as session:
        query = select(Unit).order_by(Unit.name)
        if district:
            query = query.where(Unit.district == district)
        return [UnitOut.model_validate(u, from_attributes=True) for u in session.scalars(query)]


@router.get("/answers/{answer_id}", response_model=AnswerOut)
def answer(ctx: ContextDep, answer_id: str) -> AnswerOut:
    """One answer template, with every saved version."""
    with ctx.db.session() as session:
        t = session.scalar(select(AnswerTemplate)
                           .where(AnswerTemplate.external_id == answer_id)
                           .options(selectinload(AnswerTemplate.category),
                                    selectinload(AnswerTemplate.unit)))
        if t is None:
            raise HTTPException(404, detail=f"no answer template with id {answer_id!r}")
        history = [AnswerVersionOut(version=v.version, changed_by=v.changed_by,
                                    changed_at=v.changed_at.isoformat(), note=v.note,
                                    snapshot=v.snapshot)
                   for v in service.answer_history(session, t.id)]
        return AnswerOut(
            id=t.public_id, template_id=t.id, version=t.version, status=t.status.value,
            title=t.title, questions=list(t.questions or []), answer=t.answer,
            category_code=t.category.code if t.category else None,
            category_path=t.category.path() if t.category else [],
            unit=t.unit.name if t.unit else None, source=t.source,
            request_type=t.request_type,
            effective_from=t.effective_from.isoformat() if t.effective_from else None,
            expires_on=t.expires_on.isoformat() if t.expires_on else None, history=history)
