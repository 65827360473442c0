"""The knowledge managers' API, the rest: bulk import and export (CSV, Excel), the taxonomy
and the unit directory, and the gap report of questions the chatbot could not answer."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, HTTPException, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from copilot.api.auth import KnowledgeWriter
from copilot.api.deps import ContextDep
from copilot.api.routes.km import ERRORS, kb_errors, load, refresh_index
from copilot.chat.calibration import current_thresholds
from copilot.chat.log import create_tables as create_chat_tables
from copilot.km import gaps, listing
from copilot.km.review import DRAFT_PLACEHOLDER
from copilot.km.schemas import (
    AnswerDetail,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    GapDraftIn,
    GapReport,
    ImportOut,
    UnitCreate,
    UnitOut,
    UnitUpdate,
)
from knowledge_base import exporter, service
from knowledge_base.importer import KINDS, ImportRejected, Kind, import_table
from knowledge_base.models import AnswerStatus, Category, Unit
from knowledge_base.tables import TableError, write_table

router = APIRouter(prefix="/api/v1/km", tags=["knowledge managers"])

EXPORTS = {"taxonomy": (exporter.TAXONOMY_COLUMNS, exporter.taxonomy_rows),
           "units": (exporter.UNIT_COLUMNS, exporter.unit_rows),
           "answers": (exporter.ANSWER_COLUMNS, exporter.answer_rows)}
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
KIND_LABELS = {"taxonomy": "分类", "units": "承办单位", "answers": "答复口径"}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise HTTPException(404, detail=f"没有「{kind}」这类数据：可用 {', '.join(KINDS)}")
    return kind  # type: ignore[return-value]


# ---------------------------------------------------------------- import / export


@router.post("/import/{kind}", response_model=ImportOut, responses={
    413: {"description": "the file is larger than COPILOT_MAX_UPLOAD_BYTES"},
    422: {"description": "bad rows (detail.problems: line and reason each); nothing imported"}})
async def import_file(
    ctx: ContextDep, who: KnowledgeWriter, kind: str, background: BackgroundTasks,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or .xlsx")],
) -> ImportOut:
    """Import taxonomy, units or answers, all or nothing. Answers take their status from the
    file (empty = published): a bulk file is the knowledge managers' own approved list. On any
    bad row nothing is written and the answer is 422 with every bad row and why. The search
    index is rebuilt after the response (a large file takes minutes to encode); searches
    meanwhile wait for it, as they would on their own."""
    the_kind = _kind(kind)
    limit = ctx.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, detail=f"文件超过 {limit // (1024 * 1024) or 1} MB 的上限"
                            f"（{limit} 字节）：请拆分后分批导入")
    filename = Path(file.filename or f"{kind}.csv").name

    def run() -> dict[str, Any]:
        with ctx.db.session() as session:
            summary = import_table(session, the_kind, data, filename, who.username,
                                   max_rows=ctx.settings.max_import_rows)
        return summary.as_dict()

    try:
        summary = await run_in_threadpool(run)
    except ImportRejected as e:
        raise HTTPException(422, detail={
            "message": f"{filename}：{len(e.problems)} 行有问题，整份文件未导入；请修改后重新导入",
            "kind": kind, "filename": filename,
            "problems": [{"line": p.line, "message": p.message} for p in e.problems]}) from e
    except TableError as e:
        raise HTTPException(422, detail=f"{filename}：无法读取为表格：{e}") from e
    background.add_task(refresh_index, ctx)
    return ImportOut(kind=kind, filename=filename, summary=summary)


@router.get("/export/{kind}", responses={200: {"content": {MEDIA["csv"]: {}, MEDIA["xlsx"]: {}},
                                               "description": "the file, in the import columns"}})
def export_file(ctx: ContextDep, kind: str,
                format: Literal["csv", "xlsx"] = "csv") -> Response:
    """Download taxonomy, units or answers in the columns the import reads (a round trip
    imports back onto the same records)."""
    the_kind = _kind(kind)
    columns, rows_of = EXPORTS[the_kind]
    with ctx.db.session() as session:
        rows = rows_of(session)
    name = f"{the_kind}-{dt.date.today():%Y%m%d}.{format}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        write_table(path, columns, rows)
        content = path.read_bytes()
    return Response(content, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- taxonomy


def _category_out(node: Category) -> CategoryOut:
    return CategoryOut(code=node.code, name=node.name, level=node.level, path=node.path(),
                       description=node.description)


@router.post("/categories", response_model=CategoryOut, status_code=201, responses=ERRORS)
def create_category(ctx: ContextDep, who: KnowledgeWriter, body: CategoryCreate) -> CategoryOut:
    """A new class under ``parent_code`` (or a new level-1 class); the code is the next free
    one unless given (it must extend the parent's code)."""
    actor = who.username
    name = body.name.strip()
    with kb_errors(), ctx.db.session() as session:
        parent = None
        if body.parent_code:
            parent = service.category_by_code(session, body.parent_code)
            if parent is None:
                raise HTTPException(404, detail=f"没有编码为 {body.parent_code} 的分类")
            if parent.level >= 3:
                raise HTTPException(422, detail="分类最多三级：三级分类下不能再建子类")
        path = (parent.path() if parent else []) + [name]
        if service.category_by_path(session, path) is not None:
            raise HTTPException(409, detail=f"「{'/'.join(path)}」已经存在")
        ancestors: list[str | None] = []
        node = parent
        while node is not None:
            ancestors.insert(0, node.code)
            node = node.parent
        if body.code is not None:
            level = len(path)
            prefix = f"{parent.code}." if parent else ""
            if body.code.count(".") != level - 1 or not body.code.startswith(prefix):
                raise HTTPException(422, detail=f"编码 {body.code} 与位置不符：第 {level} 级分类的"
                                    f"编码应为 {prefix or ''}加一段数字")
        created = service.ensure_category(session, path, [*ancestors, body.code],
                                          body.description.strip(), actor)
        service.bump_revision(session)
        out = _category_out(created)
    refresh_index(ctx)
    return out


@router.put("/categories/{code}", response_model=CategoryOut, responses=ERRORS)
def update_category(ctx: ContextDep, who: KnowledgeWriter, code: str,
                    body: CategoryUpdate) -> CategoryOut:
    """Rename a class or change its description (its code and place stay)."""
    actor = who.username
    with kb_errors(), ctx.db.session() as session:
        node = service.category_by_code(session, code)
        if node is None:
            raise HTTPException(404, detail=f"没有编码为 {code} 的分类")
        service.update_category(session, node, body.name, body.description, actor)
        out = _category_out(node)
    refresh_index(ctx)
    return out


# ---------------------------------------------------------------- units


def _unit_out(unit: Unit) -> UnitOut:
    return UnitOut.model_validate(unit, from_attributes=True)


@router.get("/units", response_model=list[UnitOut])
def list_units(ctx: ContextDep) -> list[UnitOut]:
    """The unit directory with ids."""
    with ctx.db.session() as session:
        return [_unit_out(u) for u in session.scalars(select(Unit).order_by(Unit.name))]


@router.post("/units", response_model=UnitOut, status_code=201, responses=ERRORS)
def create_unit(ctx: ContextDep, who: KnowledgeWriter, body: UnitCreate) -> UnitOut:
    actor = who.username
    with kb_errors(), ctx.db.session() as session:
        if service.unit_by_name(session, body.name.strip()) is not None:
            raise HTTPException(409, detail=f"承办单位「{body.name.strip()}」已经存在")
        unit = service.upsert_unit(session, body.model_dump(), actor)
        service.bump_revision(session)
        out = _unit_out(unit)
    refresh_index(ctx)
    return out


@router.put("/units/{name_or_id}", response_model=UnitOut, responses=ERRORS)
def update_unit(ctx: ContextDep, who: KnowledgeWriter, name_or_id: str,
                body: UnitUpdate) -> UnitOut:
    """Change the fields sent (an empty string clears one); ``name`` renames the unit.
    ``name_or_id``: the unit's name, or its id."""
    actor = who.username
    with kb_errors(), ctx.db.session() as session:
        unit = service.unit_by_name(session, name_or_id)
        if unit is None and name_or_id.isdigit():
            unit = session.get(Unit, int(name_or_id))
        if unit is None:
            raise HTTPException(404, detail=f"没有承办单位「{name_or_id}」")
        fields = {k: v for k, v in body.model_dump().items()
                  if k in body.model_fields_set and v is not None}
        service.update_unit(session, unit, fields, actor)
        out = _unit_out(unit)
    refresh_index(ctx)
    return out


# ---------------------------------------------------------------- gap report


@router.get("/gaps", response_model=GapReport)
def gap_report(
    ctx: ContextDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    threshold: Annotated[float, Query(ge=0.8, le=0.99, description="cosine two questions of "
                                      "a group reach at least")] = gaps.DEFAULT_THRESHOLD,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> GapReport:
    """Chatbot questions that found no good answer in the last ``days`` days, grouped by
    meaning (see :mod:`copilot.km.gaps`), most asked first; each group says whether an answer
    holding its questions was drafted already, and whether the chatbot would now answer its
    most asked question (an answer published since)."""
    create_chat_tables(ctx.db.engine)
    with ctx.db.session() as session:
        report = gaps.report(session, ctx.encoder, days, threshold, limit)
    thresholds = current_thresholds(ctx.settings)
    for group in report["groups"]:
        group["answered_now"] = gaps.answered_now(ctx.index, group["questions"][0]["question"],
                                                  thresholds)
    return GapReport.model_validate(report)


@router.post("/gaps/draft", response_model=AnswerDetail, status_code=201, responses=ERRORS)
def draft_from_gap(ctx: ContextDep, who: KnowledgeWriter, body: GapDraftIn) -> AnswerDetail:
    """A draft whose question forms are the group's questions and whose text is a placeholder
    the manager replaces (a draft with the placeholder cannot be submitted)."""
    actor = who.username
    fields: dict[str, Any] = {
        "title": (body.title.strip() or body.questions[0])[:200], "questions": body.questions,
        "answer": DRAFT_PLACEHOLDER, "status": AnswerStatus.draft,
        "category_code": body.category_code, "unit_name": body.unit_name}
    with kb_errors(), ctx.db.session() as session:
        template = service.create_answer(session, fields, actor, note="由知识缺口起草")
        service.log_change(session, actor, "answer", template.public_id, "draft_from_gap",
                           {"questions": body.questions})
        new_id = template.id
    refresh_index(ctx)
    with ctx.db.session() as session:
        return AnswerDetail.model_validate(listing.detail(session, load(session, new_id)))
