"""Export taxonomy, units and answers in the same columns the importer reads."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge_base.models import AnswerTemplate, Category, Unit
from knowledge_base.tables import write_table

TAXONOMY_COLUMNS = ["code", "level1", "level2", "level3", "description"]
UNIT_COLUMNS = ["name", "kind", "district", "duty", "phone", "address"]
ANSWER_COLUMNS = ["id", "title", "question", "answer", "level1", "level2", "level3",
                  "category_code", "unit", "source", "request_type", "status", "effective_from",
                  "expires_on", "version"]


def taxonomy_rows(session: Session) -> list[dict[str, object]]:
    """One row per leaf (a node without children), with its full path and code."""
    nodes = list(session.scalars(select(Category).order_by(Category.code)))
    parents = {n.parent_id for n in nodes if n.parent_id is not None}
    rows = []
    for node in nodes:
        if node.id in parents:
            continue
        path = node.path()
        row: dict[str, object] = {"code": node.code, "description": node.description}
        row.update({f"level{i + 1}": name for i, name in enumerate(path)})
        rows.append(row)
    return rows


def unit_rows(session: Session) -> list[dict[str, object]]:
    return [{c: getattr(u, c) for c in UNIT_COLUMNS}
            for u in session.scalars(select(Unit).order_by(Unit.name))]


def answer_rows(session: Session) -> list[dict[str, object]]:
    rows = []
    query = (select(AnswerTemplate).order_by(AnswerTemplate.id)
             .options(selectinload(AnswerTemplate.category), selectinload(AnswerTemplate.unit)))
    for t in session.scalars(query):
        path = t.category.path() if t.category else []
        row: dict[str, object] = {
            "id": t.public_id, "title": t.title, "question": "|".join(t.questions or []),
            "answer": t.answer, "category_code": t.category.code if t.category else "",
            "unit": t.unit.name if t.unit else "", "source": t.source,
            "request_type": t.request_type, "status": t.status.value,
            "effective_from": t.effective_from, "expires_on": t.expires_on,
            "version": t.version,
        }
        row.update({f"level{i + 1}": name for i, name in enumerate(path)})
        rows.append(row)
    return rows


def export_all(session: Session, folder: Path, fmt: str = "csv") -> list[Path]:
    """Write taxonomy, units and answers files into ``folder``; returns their paths."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"export format {fmt!r}: use csv or xlsx")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, columns, rows in (("taxonomy", TAXONOMY_COLUMNS, taxonomy_rows(session)),
                                ("units", UNIT_COLUMNS, unit_rows(session)),
                                ("answers", ANSWER_COLUMNS, answer_rows(session))):
        path = folder / f"{name}.{fmt}"
        write_table(path, columns, rows)
        written.append(path)
    return written
