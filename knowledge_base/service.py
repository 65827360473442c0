"""Operations on the knowledge base that keep its rules: versions, status flow, audit, revision.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction and leaves the
commit to the caller, so a batch (an import) either lands whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge_base.models import (
    AnswerStatus,
    AnswerTemplate,
    AnswerVersion,
    Category,
    ChangeLog,
    KbRevision,
    Unit,
    utcnow,
)

# Which status may follow which. Editing never changes the status by itself.
TRANSITIONS: dict[AnswerStatus, set[AnswerStatus]] = {
    AnswerStatus.draft: {AnswerStatus.in_review, AnswerStatus.retired},
    AnswerStatus.in_review: {AnswerStatus.published, AnswerStatus.draft},
    AnswerStatus.published: {AnswerStatus.retired, AnswerStatus.draft},
    AnswerStatus.retired: {AnswerStatus.draft},
}

# The answer fields that make up a version; a change to any of them saves a new version.
VERSIONED_FIELDS = (
    "title",
    "questions",
    "answer",
    "category_code",
    "unit_name",
    "source",
    "request_type",
    "status",
    "effective_from",
    "expires_on",
)


class KbError(ValueError):
    """A request the knowledge base refuses, with a message saying what to change."""


def bump_revision(session: Session) -> None:
    session.execute(update(KbRevision).where(KbRevision.id == 1).values(
        revision=KbRevision.revision + 1))


def log_change(
    session: Session,
    actor: str,
    entity: str,
    entity_id: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(ChangeLog(actor=actor, entity=entity, entity_id=entity_id, action=action,
                          detail=detail or {}))


# ---------------------------------------------------------------- taxonomy


def category_by_code(session: Session, code: str) -> Category | None:
    return session.scalar(select(Category).where(Category.code == code))


def category_by_path(session: Session, path: list[str]) -> Category | None:
    """The node at ``path`` (1 to 3 names from level 1 down), or None."""
    node: Category | None = None
    for name in path:
        parent_id = node.id if node is not None else None
        node = session.scalar(
            select(Category).where(Category.parent_id == parent_id, Category.name == name)
        )
        if node is None:
            return None
    return node


def next_child_code(session: Session, parent: Category | None) -> str:
    """The next free code under ``parent``: ``NN`` at level 1, ``P.NN`` / ``P.NNN`` below."""
    parent_id = parent.id if parent is not None else None
    codes = session.scalars(select(Category.code).where(Category.parent_id == parent_id)).all()
    width = 3 if parent is not None and parent.level == 2 else 2
    used = [int(c.rsplit(".", 1)[-1]) for c in codes if c.rsplit(".", 1)[-1].isdigit()]
    number = max(used, default=0) + 1
    suffix = str(number).zfill(width)
    return suffix if parent is None else f"{parent.code}.{suffix}"


def ensure_category(
    session: Session,
    path: list[str],
    codes: list[str | None] | None = None,
    description: str = "",
    actor: str = "system",
) -> Category:
    """Find or create every node along ``path``; codes are assigned where none is given."""
    if not 1 <= len(path) <= 3 or any(not name.strip() for name in path):
        raise KbError(f"a category path has 1 to 3 non-empty names, got {path!r}")
    codes = codes or [None] * len(path)
    node: Category | None = None
    for depth, name in enumerate(path, start=1):
        parent = node
        node = category_by_path(session, path[:depth])
        want_code = codes[depth - 1]
        if node is None:
            code = want_code or next_child_code(session, parent)
            if category_by_code(session, code) is not None:
                raise KbError(f"code {code} is already used by another category")
            node = Category(code=code, name=name, level=depth, parent=parent,
                            parent_id=parent.id if parent else None,
                            description=description if depth == len(path) else "")
            session.add(node)
            session.flush()
            log_change(session, actor, "category", code, "create", {"path": path[:depth]})
        elif want_code and node.code != want_code:
            raise KbError(f"category {'/'.join(path[:depth])} already has code {node.code}, "
                          f"the file says {want_code}")
        elif depth == len(path) and description and node.description != description:
            node.description = description
    assert node is not None
    return node


def update_category(
    session: Session,
    category: Category,
    name: str | None = None,
    description: str | None = None,
    actor: str = "system",
) -> bool:
    """Rename or describe a node (its code and place in the tree stay); returns whether
    anything changed. Answers show the new path at once: the revision moves."""
    changed: dict[str, list[str]] = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100:
            raise KbError("a category name has 1 to 100 characters")
        if name != category.name:
            clash = session.scalar(select(Category.id).where(
                Category.parent_id == category.parent_id, Category.name == name,
                Category.id != category.id))
            if clash is not None:
                raise KbError(f"another category under the same parent is already named {name}")
            changed["name"] = [category.name, name]
            category.name = name
    if description is not None and description.strip() != category.description:
        changed["description"] = [category.description, description.strip()]
        category.description = description.strip()
    if not changed:
        return False
    session.flush()
    log_change(session, actor, "category", category.code, "update", changed)
    bump_revision(session)
    return True


# ---------------------------------------------------------------- units


def unit_by_name(session: Session, name: str) -> Unit | None:
    return session.scalar(select(Unit).where(Unit.name == name))


def upsert_unit(session: Session, fields: dict[str, str], actor: str = "system") -> Unit:
    """Create a unit or update the fields given (empty values leave a field as it is)."""
    name = fields["name"].strip()
    unit = unit_by_name(session, name)
    if unit is None:
        unit = Unit(name=name)
        session.add(unit)
        action = "create"
    else:
        action = "update"
    for key in ("kind", "district", "duty", "phone", "address"):
        value = (fields.get(key) or "").strip()
        if value:
            setattr(unit, key, value)
    session.flush()
    log_change(session, actor, "unit", name, action)
    return unit


UNIT_FIELDS = ("name", "kind", "district", "duty", "phone", "address")


def update_unit(session: Session, unit: Unit, fields: dict[str, str], actor: str = "system"
                ) -> bool:
    """Set the fields given (an empty value clears one; ``name`` renames the unit, which must
    stay unique); returns whether anything changed. Answers naming the unit follow it."""
    changed: dict[str, list[str]] = {}
    for key, value in fields.items():
        if key not in UNIT_FIELDS:
            raise KbError(f"unknown unit field {key!r}")
        value = (value or "").strip()
        if key == "name":
            if not value or len(value) > 100:
                raise KbError("a unit name has 1 to 100 characters")
            clash = unit_by_name(session, value)
            if clash is not None and clash.id != unit.id:
                raise KbError(f"another unit is already named {value}")
        if getattr(unit, key) != value:
            changed[key] = [getattr(unit, key), value]
            setattr(unit, key, value)
    if not changed:
        return False
    session.flush()
    log_change(session, actor, "unit", unit.name, "update", changed)
    bump_revision(session)
    return True


# ---------------------------------------------------------------- answers


def snapshot(template: AnswerTemplate) -> dict[str, Any]:
    """The versioned fields of a template as plain data."""
    return {
        "title": template.title,
        "questions": list(template.questions or []),
        "answer": template.answer,
        "category_code": template.category.code if template.category else None,
        "unit_name": template.unit.name if template.unit else None,
        "source": template.source,
        "request_type": template.request_type,
        "status": str(template.status),
        "effective_from": template.effective_from.isoformat() if template.effective_from else None,
        "expires_on": template.expires_on.isoformat() if template.expires_on else None,
    }


def _save_version(session: Session, template: AnswerTemplate, actor: str, note: str) -> None:
    session.flush()
    session.add(AnswerVersion(template_id=template.id, version=template.version,
                              snapshot=snapshot(template), changed_by=actor, note=note))


def _apply(session: Session, template: AnswerTemplate, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key == "category_code":
            category = category_by_code(session, value) if value else None
            if value and category is None:
                raise KbError(f"unknown category code {value}: import the taxonomy first")
            template.category = category
        elif key == "unit_name":
            unit = unit_by_name(session, value) if value else None
            if value and unit is None:
                raise KbError(f"unknown handling unit {value!r}: add it to the unit directory")
            template.unit = unit
        elif key == "status":
            template.status = AnswerStatus(value)
        elif key in ("effective_from", "expires_on"):
            setattr(template, key, dt.date.fromisoformat(value) if isinstance(value, str)
                    else value)
        elif key in VERSIONED_FIELDS or key == "external_id":
            setattr(template, key, value)
        else:
            raise KbError(f"unknown answer field {key!r}")
    if not (template.answer or "").strip():
        raise KbError("an answer template needs a non-empty answer text")
    if (template.effective_from and template.expires_on
            and template.expires_on <= template.effective_from):
        raise KbError("expires_on must be after effective_from")


def create_answer(
    session: Session, fields: dict[str, Any], actor: str = "system", note: str = "created"
) -> AnswerTemplate:
    """A new template at version 1 (status draft unless ``fields`` says otherwise)."""
    template = AnswerTemplate(version=1, created_by=actor, updated_by=actor, questions=[],
                              status=AnswerStatus.draft, title="", answer="")
    _apply(session, template, fields)
    if not template.title:
        template.title = (template.questions or [template.answer])[0][:60]
    session.add(template)
    session.flush()
    if not template.external_id:
        # Every template gets a stable public id, so an export imports back onto itself.
        candidate = f"kb-{template.id}"
        while session.scalar(select(AnswerTemplate.id)
                             .where(AnswerTemplate.external_id == candidate)) is not None:
            candidate += "x"
        template.external_id = candidate
    _save_version(session, template, actor, note)
    log_change(session, actor, "answer", template.public_id, "create")
    bump_revision(session)
    return template


def update_answer(
    session: Session,
    template: AnswerTemplate,
    fields: dict[str, Any],
    actor: str = "system",
    note: str = "edited",
    enforce_flow: bool = True,
) -> bool:
    """Apply ``fields``; when anything versioned changed, save it as the next version.

    A status change must follow :data:`TRANSITIONS` unless ``enforce_flow`` is off (a bulk
    import of the knowledge managers' approved file). Returns whether a new version was saved.
    """
    if enforce_flow and "status" in fields:
        current, wanted = AnswerStatus(template.status), AnswerStatus(fields["status"])
        allowed = TRANSITIONS[current]
        if wanted != current and wanted not in allowed:
            raise KbError(f"an answer cannot go from {current.value} to {wanted.value}; "
                          f"allowed next: {', '.join(sorted(s.value for s in allowed))}")
    before = snapshot(template)
    _apply(session, template, fields)
    after = snapshot(template)
    if before == after:
        return False
    template.version += 1
    template.updated_by = actor
    template.updated_at = utcnow()
    _save_version(session, template, actor, note)
    changed = sorted(k for k in after if before[k] != after[k])
    log_change(session, actor, "answer", template.public_id, "update",
               {"version": template.version, "fields": changed})
    bump_revision(session)
    return True


def set_status(
    session: Session, template: AnswerTemplate, status: AnswerStatus | str, actor: str = "system"
) -> None:
    """Move a template along the review flow (draft → in review → published → retired)."""
    update_answer(session, template, {"status": AnswerStatus(status)}, actor,
                  note=f"status {AnswerStatus(status).value}")


def content_authors(session: Session, template: AnswerTemplate) -> set[str]:
    """Who wrote the content now under review: everyone whose version changed a field other
    than the status since the template was last published (or, where nobody did, the author
    of the last content change). The four-eyes rule keeps them from approving it."""
    versions = answer_history(session, template.id)

    def content(v: AnswerVersion) -> dict[str, Any]:
        return {k: val for k, val in v.snapshot.items() if k != "status"}

    changers: list[tuple[int, str]] = []  # (position, actor) of each content change
    last_published = -1
    for i, v in enumerate(versions):
        if i == 0 or content(v) != content(versions[i - 1]):
            changers.append((i, v.changed_by))
        if v.snapshot.get("status") == AnswerStatus.published.value:
            last_published = i
    since = {actor for i, actor in changers if i > last_published}
    if since:
        return since
    return {changers[-1][1]} if changers else {template.created_by}


def answer_history(session: Session, template_id: int) -> list[AnswerVersion]:
    return list(session.scalars(select(AnswerVersion)
                                .where(AnswerVersion.template_id == template_id)
                                .order_by(AnswerVersion.version)))


def counts(session: Session) -> dict[str, int]:
    """How many categories (per level), units and answers (per status) the base holds."""
    out: dict[str, int] = {}
    for level, n in session.execute(select(Category.level, func.count()).group_by(Category.level)):
        out[f"categories_level{level}"] = n
    out["units"] = session.scalar(select(func.count()).select_from(Unit)) or 0
    for status, n in session.execute(select(AnswerTemplate.status, func.count())
                                     .group_by(AnswerTemplate.status)):
        out[f"answers_{AnswerStatus(status).value}"] = n
    return out
