"""SQLAlchemy models of the knowledge base.

The taxonomy is a three-level tree of categories with dotted codes (``03.02.005``); handling
units (承办单位) are the departments, district governments, street offices and utilities tickets are
dispatched to; answer templates (答复口径) carry a status, effective and expiry dates and a version
number, and every saved version is kept in :class:`AnswerVersion`. :class:`KbRevision` is bumped
on every change so search indexes in any process can tell they are stale.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class AnswerStatus(enum.StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"
    retired = "retired"


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")

    parent: Mapped[Category | None] = relationship(remote_side="Category.id")

    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_category_parent_name"),)

    def path(self) -> list[str]:
        """Names from level 1 down to this node."""
        names: list[str] = []
        node: Category | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return names[::-1]


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), default="")
    district: Mapped[str] = mapped_column(String(32), default="")
    duty: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(200), default="")


class AnswerTemplate(Base):
    __tablename__ = "answer_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[str]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    source: Mapped[str] = mapped_column(String(300), default="")
    request_type: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[AnswerStatus] = mapped_column(
        Enum(AnswerStatus, native_enum=False, length=16), default=AnswerStatus.draft, index=True
    )
    effective_from: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="system")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    category: Mapped[Category | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    versions: Mapped[list[AnswerVersion]] = relationship(
        back_populates="template", order_by="AnswerVersion.version", cascade="all, delete-orphan"
    )

    def is_live(self, today: dt.date) -> bool:
        """Published and inside its effective window: the only answers search may return."""
        return (
            self.status == AnswerStatus.published
            and (self.effective_from is None or self.effective_from <= today)
            and (self.expires_on is None or self.expires_on > today)
        )

    @property
    def public_id(self) -> str:
        """The imported id where one was given, else ``kb-<row id>``."""
        return self.external_id or f"kb-{self.id}"


class AnswerVersion(Base):
    """An immutable snapshot of a template as saved: who changed what, and when."""

    __tablename__ = "answer_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("answer_templates.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column()
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(300), default="")

    template: Mapped[AnswerTemplate] = relationship(back_populates="versions")

    __table_args__ = (UniqueConstraint("template_id", "version", name="uq_answer_version"),)


class ChangeLog(Base):
    """Audit trail of knowledge changes (taxonomy, units, answers, imports)."""

    __tablename__ = "kb_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class KbRevision(Base):
    """A single row counting knowledge changes; indexes remember the revision they were built at."""

    __tablename__ = "kb_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
