"""The knowledge managers' API, answers: list, read, diff versions, write, and the review flow
(draft → in review → published → retired) with the four-eyes rule; see
:mod:`copilot.km.review` for the rules. Publishing and retiring refresh the search index before
the response, so the very next search (operators, chatbot) sees the change.

Reading is open to knowledge managers and reviewers; writing and submitting to knowledge
managers, approving, rejecting and retiring to reviewers (administrators may do all). The acting
person is the signed-in account.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from copilot.accounts import service as accounts
from copilot.accounts.roles import KNOWLEDGE_REVIEWERS, KNOWLEDGE_WRITERS, Role, allowed
from copilot.accounts.service import Principal
from copilot.api.auth import KnowledgeWriter, require
from copilot.api.deps import MAX_INT, ContextDep, Offset, RowId
from copilot.context import AppContext
from copilot.km import diff, listing, review
from copilot.km.schemas import (
    CODE_PATTERN,
    AnswerCreate,
    AnswerDetail,
    AnswerPage,
    AnswerUpdate,
    DiffOut,
    EditResult,
    ReviewIn,
    UrgentIn,
)
from knowledge_base import service
from knowledge_base.models import AnswerStatus, AnswerTemplate, AnswerVersion, Category

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/km", tags=["knowledge managers"])

T = TypeVar("T")
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the reviewer wrote the content under review (four-eyes rule)"},
    404: {"description": "no such answer"},
    409: {"description": "the step does not fit the answer's state, or it changed meanwhile"},
    422: {"description": "invalid fields (unknown category or unit, dates, empty text)"},
}


def confirm_reviewer(ctx: AppContext, username: str, password: str) -> str:
    """The second person of an urgent answer, proven by their password and reviewer role."""
    try:
        principal = accounts.authenticate(ctx.db, username, password)
    except accounts.LoginFailed as e:
        raise HTTPException(403, detail=f"审核人确认失败：{e}") from e
    if not allowed(principal.roles, KNOWLEDGE_REVIEWERS):
        raise HTTPException(403, detail=f"{principal.username} 不是审核员，不能审核紧急口径")
    return principal.username


@contextmanager
def kb_errors() -> Iterator[None]:
    """Map the knowledge base's refusals to HTTP answers with a clear detail."""
    try:
        yield
    except review.NotAllowed as e:
        raise HTTPException(403, detail=str(e)) from e
    except review.FlowRefused as e:
        raise HTTPException(409, detail=str(e)) from e
    except service.KbError as e:
        raise HTTPException(422, detail=str(e)) from e


def load(session: Session, template_id: int) -> AnswerTemplate:
    t = session.scalar(select(AnswerTemplate).where(AnswerTemplate.id == template_id)
                       .options(selectinload(AnswerTemplate.category)
                                .selectinload(Category.parent),
                                selectinload(AnswerTemplate.unit)))
    if t is None:
        raise HTTPException(404, detail=f"没有编号为 {template_id} 的答复")
    return t


def refresh_index(ctx: AppContext) -> None:
    """Bring the search index up to the knowledge base now. Every write moves the revision and
    the index would rebuild on the next search anyway; doing it here makes a publication or a
    retirement live for the very next search and spares that search the rebuild (unchanged
    texts keep their vectors, so it costs the changed answer's encoding only). A failure here
    is logged, not raised: the change is saved, and the next search retries the rebuild."""
    try:
        ctx.index.refresh()
    except Exception:
        logger.exception("search index refresh after a knowledge change failed")


def write(ctx: AppContext, template_id: int | None,
          step: Callable[[Session, Any], T]) -> dict[str, Any]:
    """Run ``step`` on the template (or on None, to create one) in one transaction, refresh
    the search index, and return the answer's detail."""
    with kb_errors(), ctx.db.session() as session:
        template = load(session, template_id) if template_id is not None else None
        result = step(session, template)
        target = template if template is not None else result
        assert isinstance(target, AnswerTemplate)
        new_id = target.id
    refresh_index(ctx)
    with ctx.db.session() as session:
        return listing.detail(session, load(session, new_id))


# ---------------------------------------------------------------- reading


@router.get("/answers", response_model=AnswerPage)
def list_answers(
    ctx: ContextDep,
    q: Annotated[str | None, Query(max_length=200, description="text in the title, question "
                                   "forms, answer, source or id")] = None,
    category: Annotated[str | None, Query(pattern=CODE_PATTERN,
                                          description="a code: the class and all below")] = None,
    unit: Annotated[str | None, Query(max_length=100, description="a unit's name")] = None,
    status: AnswerStatus | None = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    expired: Annotated[bool | None, Query(description="published answers past their expiry "
                                          "date (true) or not (false)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> AnswerPage:
    """Answers matching every filter, most recently changed first, with the total."""
    query = listing.list_query(q=q, category=category, unit=unit, status=status,
                               expiring_within_days=expiring_within_days, expired=expired)
    with ctx.db.session() as session:
        total, rows = listing.page(session, query, limit, offset)
        urgent = listing.urgent_ids(session, [t.public_id for t in rows])
        today = dt.date.today()
        items = [listing.item(t, t.public_id in urgent, today) for t in rows]
    return AnswerPage.model_validate({"total": total, "limit": limit, "offset": offset,
                                      "items": items})


@router.get("/answers/{template_id}", response_model=AnswerDetail, responses=ERRORS)
def get_answer(ctx: ContextDep, template_id: RowId) -> AnswerDetail:
    """One answer with every saved version (who, when, why) and who may not approve it."""
    with ctx.db.session() as session:
        return AnswerDetail.model_validate(listing.detail(session, load(session, template_id)))


@router.get("/answers/{template_id}/diff", response_model=DiffOut, responses=ERRORS)
def diff_versions(
    ctx: ContextDep, template_id: RowId,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=MAX_INT,
                                              description="default: the one before `to`")] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=MAX_INT,
                                            description="default: the latest")] = None,
) -> DiffOut:
    """What changed between two versions, field by field; texts as character-level segments."""
    with ctx.db.session() as session:
        template = load(session, template_id)
        to_v = to_version or template.version
        from_v = from_version or max(1, to_v - 1)
        found = {v.version: v for v in session.scalars(
            select(AnswerVersion).where(AnswerVersion.template_id == template_id,
                                        AnswerVersion.version.in_([from_v, to_v])))}
        for wanted in (from_v, to_v):
            if wanted not in found:
                raise HTTPException(404, detail=f"该答复没有第 {wanted} 版"
                                    f"（现有第 1 至 {template.version} 版）")
        changes = diff.diff_snapshots(found[from_v].snapshot, found[to_v].snapshot)
    return DiffOut.model_validate({"template_id": template_id, "from_version": from_v,
                                   "to_version": to_v, "changes": changes})


# ---------------------------------------------------------------- writing


@router.post("/answers", response_model=AnswerDetail, status_code=201, responses=ERRORS)
def create_answer(ctx: ContextDep, who: KnowledgeWriter, body: AnswerCreate) -> AnswerDetail:
    """A new draft (version 1)."""
    actor = who.username
    fields = {**body.applied(), "status": AnswerStatus.draft}
    return AnswerDetail.model_validate(write(
        ctx, None, lambda s, _: service.create_answer(s, fields, actor, note=body.note or "新建"),
))


@router.put("/answers/{template_id}", response_model=EditResult, responses=ERRORS)
def edit_answer(ctx: ContextDep, who: KnowledgeWriter, template_id: RowId,
                body: AnswerUpdate) -> EditResult:
    """Save the fields sent as the next version. An answer in review, published or retired goes
    back to draft in that version and must be approved again before it is live (the published
    text leaves search meanwhile): unreviewed text is never live."""
    actor = who.username
    changed: list[bool] = []

    def step(session: Session, t: AnswerTemplate) -> None:
        changed.append(review.edit(session, t, body.applied(), actor, body.base_version,
                                   body.note))

    detail = write(ctx, template_id, step)
    return EditResult(changed=changed[0], answer=AnswerDetail.model_validate(detail))


def _flow(name: str, summary: str, need: frozenset[Role]) -> Callable[..., AnswerDetail]:
    check = Depends(require(need))

    def endpoint(ctx: ContextDep, template_id: RowId, body: ReviewIn,
                 who: Principal = check) -> AnswerDetail:
        actor = who.username

        def step(session: Session, t: AnswerTemplate) -> None:
            if name == "reject":
                review.reject(session, t, actor, body.note, body.version)
            else:
                getattr(review, name)(session, t, actor, body.version, body.note)

        return AnswerDetail.model_validate(write(ctx, template_id, step))

    endpoint.__name__ = f"{name}_answer"
    endpoint.__doc__ = summary
    return endpoint


for _name, _doc, _need in (
    ("submit", "Draft → in review (knowledge managers; not with placeholder text).",
     KNOWLEDGE_WRITERS),
    ("approve", "In review → published, by a reviewer who did not write the content "
     "(403 otherwise); live in search when the response comes.", KNOWLEDGE_REVIEWERS),
    ("reject", "In review → draft with a note saying why (a reviewer, not the author).",
     KNOWLEDGE_REVIEWERS),
    ("retire", "Published or draft → retired (reviewers); gone from search when the response "
     "comes.", KNOWLEDGE_REVIEWERS),
):
    router.add_api_route(f"/answers/{{template_id}}/{_name}", _flow(_name, _doc, _need),
                         methods=["POST"], response_model=AnswerDetail, responses=ERRORS)


@router.post("/answers/urgent", response_model=AnswerDetail, status_code=201, responses=ERRORS)
def urgent_answer(ctx: ContextDep, who: KnowledgeWriter, body: UrgentIn) -> AnswerDetail:
    """An urgent 答复口径 for a breaking event: written by the signed-in knowledge manager and
    approved in the same request by a reviewer who confirms with their own password (two
    people at one desk), effective today (or the date given, not later than today) and
    expiring within 30 days; live in search when the response comes."""
    actor = who.username
    reviewer = confirm_reviewer(ctx, body.reviewer, body.reviewer_password)
    fields = body.applied() | {"expires_on": body.expires_on}
    return AnswerDetail.model_validate(write(
        ctx, None, lambda s, _: review.urgent(s, fields, actor, reviewer, body.note)))
