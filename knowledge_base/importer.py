"""All-or-nothing import of taxonomy, units and answers from CSV or Excel.

Every row is checked before anything is written. A file with any bad row raises
:class:`ImportRejected` carrying one :class:`RowProblem` per bad row (its line and why), and the
database is left exactly as it was. A good file is written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import service
from knowledge_base.models import AnswerStatus, AnswerTemplate, Category
from knowledge_base.tables import Table, read_table

Kind = Literal["taxonomy", "units", "answers"]
KINDS: tuple[Kind, ...] = ("taxonomy", "units", "answers")
CODE_RE = re.compile(r"^\d{1,3}(\.\d{1,4}){0,2}$")
REQUEST_TYPES = {"咨询", "求助", "投诉", "举报", "意见建议", ""}
STATUS_ALIASES = {
    "": AnswerStatus.published,
    "published": AnswerStatus.published, "已发布": AnswerStatus.published,
    "发布": AnswerStatus.published,
    "draft": AnswerStatus.draft, "草稿": AnswerStatus.draft,
    "in_review": AnswerStatus.in_review, "审核中": AnswerStatus.in_review,
    "待审核": AnswerStatus.in_review,
    "retired": AnswerStatus.retired, "已下线": AnswerStatus.retired,
    "下线": AnswerStatus.retired, "已停用": AnswerStatus.retired,
}


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"row {self.line}: {self.message}"


class ImportRejected(ValueError):
    """The file was not imported; ``problems`` names each bad row and why."""

    def __init__(self, kind: str, filename: str, problems: list[RowProblem]) -> None:
        self.kind, self.filename, self.problems = kind, filename, problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{filename}: {len(problems)} bad row(s), nothing was imported; fix "
                         f"them and import the file again:\n{shown}{more}")


@dataclass
class ImportSummary:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_units: list[str] = field(default_factory=list)
    created_categories: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def _require(table: Table, kind: str, any_of: list[list[str]], filename: str) -> None:
    if not any(all(c in table.columns for c in cols) for cols in any_of):
        wanted = " or ".join("+".join(cols) for cols in any_of)
        raise ImportRejected(kind, filename, [RowProblem(1, f"the header must have {wanted} "
                             f"(found: {', '.join(table.columns) or 'nothing'})")])


def _parse_date(text: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date {text!r} is not YYYY-MM-DD")


def import_table(
    session: Session, kind: Kind, data: bytes, filename: str, actor: str = "import",
    max_rows: int = 100_000,
) -> ImportSummary:
    """Import one file of ``kind``; raises :class:`ImportRejected` (nothing written) if any row
    is bad, :class:`~knowledge_base.tables.TableError` if the file is not a table at all."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}: use one of {', '.join(KINDS)}")
    table = read_table(data, filename)
    if len(table.rows) > max_rows:
        raise ImportRejected(kind, filename, [RowProblem(
            1, f"{len(table.rows)} rows is more than the limit of {max_rows}; split the file")])
    problems = [RowProblem(line, msg) for line, msg in table.problems]
    importer = {"taxonomy": _import_taxonomy, "units": _import_units,
                "answers": _import_answers}[kind]
    summary = ImportSummary(kind=kind, rows=len(table.rows))
    # Write inside a savepoint so that a problem found while writing undoes every earlier row.
    savepoint = session.begin_nested()
    try:
        importer(session, table, filename, actor, summary, problems)
        if problems:
            raise ImportRejected(kind, filename, sorted(problems, key=lambda p: p.line))
        if not table.rows:
            raise ImportRejected(kind, filename, [RowProblem(1, "the file has no data rows")])
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    service.log_change(session, actor, kind, filename, "import", summary.as_dict())
    service.bump_revision(session)
    return summary


def _import_taxonomy(session: Session, table: Table, filename: str, actor: str,
                     summary: ImportSummary, problems: list[RowProblem]) -> None:
    _require(table, "taxonomy", [["level1"]], filename)
    seen: set[tuple[str, ...]] = set()
    for line, row in table.rows:
        path = [row.get(f"level{i}", "").strip() for i in (1, 2, 3)]
        while path and not path[-1]:
            path.pop()
        if not path or any(not p for p in path):
            problems.append(RowProblem(line, "a level is empty above a filled one "
                                             f"({'/'.join(path) or 'all empty'})"))
            continue
        if any(len(p) > 100 for p in path):
            problems.append(RowProblem(line, "a category name is longer than 100 characters"))
            continue
        code = row.get("code", "").strip()
        if code and (not CODE_RE.match(code) or code.count(".") != len(path) - 1):
            problems.append(RowProblem(line, f"code {code!r} does not fit a level-{len(path)} "
                                             "class (e.g. 03, 03.02, 03.02.005)"))
            continue
        if tuple(path) in seen:
            problems.append(RowProblem(line, f"{'/'.join(path)} appears twice"))
            continue
        seen.add(tuple(path))
        codes: list[str | None] = [None] * len(path)
        if code:
            parts = code.split(".")
            codes = [".".join(parts[: i + 1]) for i in range(len(parts))]
        existed = service.category_by_path(session, path) is not None
        try:
            service.ensure_category(session, path, codes, row.get("description", "").strip(),
                                    actor)
        except service.KbError as e:
            problems.append(RowProblem(line, str(e)))
            continue
        if existed:
            summary.unchanged += 1
        else:
            summary.created += 1


def _import_units(session: Session, table: Table, filename: str, actor: str,
                  summary: ImportSummary, problems: list[RowProblem]) -> None:
    _require(table, "units", [["name"]], filename)
    seen: set[str] = set()
    for line, row in table.rows:
        name = row.get("name", "").strip()
        if not name:
            problems.append(RowProblem(line, "the unit name is empty"))
            continue
        if len(name) > 100:
            problems.append(RowProblem(line, "the unit name is longer than 100 characters"))
            continue
        if name in seen:
            problems.append(RowProblem(line, f"unit {name} appears twice"))
            continue
        seen.add(name)
        existed = service.unit_by_name(session, name) is not None
        service.upsert_unit(session, row, actor)
        if existed:
            summary.updated += 1
        else:
            summary.created += 1


def _answer_fields(session: Session, row: dict[str, str], summary: ImportSummary,
                   actor: str) -> dict[str, object]:
    """Turn a row into template fields; raises ValueError/KbError with the reason."""
    answer = row.get("answer", "").strip()
    if not answer:
        raise ValueError("the answer text is empty")
    questions = [q.strip() for q in re.split(r"[|\n]", row.get("question", "")) if q.strip()]
    fields: dict[str, object] = {
        "answer": answer,
        "questions": questions,
        "title": (row.get("title", "").strip() or (questions[0] if questions else answer))[:200],
        "source": row.get("source", "").strip()[:300],
    }
    request_type = row.get("request_type", "").strip()
    if request_type not in REQUEST_TYPES:
        raise ValueError(f"request_type {request_type!r} is not one of "
                         "咨询/求助/投诉/举报/意见建议")
    fields["request_type"] = request_type
    status_text = row.get("status", "").strip().lower()
    if status_text not in STATUS_ALIASES:
        raise ValueError(f"status {status_text!r} is not draft/in_review/published/retired")
    fields["status"] = STATUS_ALIASES[status_text]
    fields["effective_from"] = _parse_date(row.get("effective_from", ""))
    fields["expires_on"] = _parse_date(row.get("expires_on", ""))
    code = row.get("category_code", "").strip()
    path = [row.get(f"level{i}", "").strip() for i in (1, 2, 3)]
    while path and not path[-1]:
        path.pop()
    category: Category | None = None
    if code:
        category = service.category_by_code(session, code)
        if category is None:
            raise ValueError(f"category code {code} is not in the taxonomy")
    elif path:
        category = service.category_by_path(session, path)
        if category is None:
            category = service.ensure_category(session, path, actor=actor)
            summary.created_categories.append("/".join(path))
    fields["category_code"] = category.code if category else None
    unit_name = row.get("unit", "").strip()
    if unit_name and service.unit_by_name(session, unit_name) is None:
        service.upsert_unit(session, {"name": unit_name}, actor)
        summary.created_units.append(unit_name)
    fields["unit_name"] = unit_name or None
    return fields


def _import_answers(session: Session, table: Table, filename: str, actor: str,
                    summary: ImportSummary, problems: list[RowProblem]) -> None:
    _require(table, "answers", [["answer"]], filename)
    seen: set[str] = set()
    for line, row in table.rows:
        external_id = row.get("id", "").strip() or None
        if external_id and external_id in seen:
            problems.append(RowProblem(line, f"id {external_id} appears twice"))
            continue
        if external_id and len(external_id) > 64:
            problems.append(RowProblem(line, "the id is longer than 64 characters"))
            continue
        if external_id:
            seen.add(external_id)
        try:
            fields = _answer_fields(session, row, summary, actor)
            existing = (session.scalar(select(AnswerTemplate)
                                       .where(AnswerTemplate.external_id == external_id))
                        if external_id else None)
            if existing is None:
                service.create_answer(session, {**fields, "external_id": external_id}, actor,
                                      note=f"imported from {filename}")
                summary.created += 1
            elif _reimport(session, existing, fields, actor, filename):
                summary.updated += 1
            else:
                summary.unchanged += 1
        except (ValueError, service.KbError) as e:
            problems.append(RowProblem(line, str(e)))


def _reimport(session: Session, template: AnswerTemplate, fields: dict[str, object], actor: str,
              filename: str) -> bool:
    """Re-importing an id saves its new content as the next version; the status is taken as
    the file says (a bulk import is the knowledge managers' own approved file)."""
    return service.update_answer(session, template, fields, actor,
                                 note=f"re-imported from {filename}", enforce_flow=False)
