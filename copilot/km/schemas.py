"""Request and response bodies of the knowledge managers' API (``/api/v1/km``).

The acting person is the signed-in account, never a field of the body.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

RequestType = Literal["", "咨询", "求助", "投诉", "举报", "意见建议"]
CODE_PATTERN = r"^\d{1,3}(\.\d{1,4}){0,2}$"


def clean_questions(value: list[str]) -> list[str]:
    """Strip, drop empty and repeated question forms, keeping their order."""
    seen: dict[str, None] = {}
    for q in value:
        q = q.strip()
        if q:
            seen.setdefault(q, None)
    return list(seen)


class AnswerFields(BaseModel):
    """The editable fields of an answer. In an update only the fields sent are applied; null
    clears the category, the unit or a date."""

    title: str = Field(default="", max_length=200)
    questions: list[str] = Field(default_factory=list, max_length=100,
                                 description="the ways citizens ask it, one per item")
    answer: str = Field(default="", max_length=20_000, description="the 答复口径 text")
    category_code: str | None = Field(default=None, pattern=CODE_PATTERN)
    unit_name: str | None = Field(default=None, max_length=100)
    source: str = Field(default="", max_length=300, description="the policy it rests on")
    request_type: RequestType = ""
    effective_from: dt.date | None = None
    expires_on: dt.date | None = None

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[str]) -> list[str]:
        if any(len(q) > 500 for q in value):
            raise ValueError("a question form is longer than 500 characters")
        return clean_questions(value)

    @field_validator("unit_name", "category_code", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    def applied(self) -> dict[str, Any]:
        """The fields sent, as knowledge-base service fields."""
        return {name: getattr(self, name) for name in self.model_fields_set
                if name in AnswerFields.model_fields}


class AnswerCreate(AnswerFields):
    answer: str = Field(min_length=1, max_length=20_000)
    note: str = Field(default="", max_length=200)


class AnswerUpdate(AnswerFields):
    base_version: int | None = Field(
        default=None, ge=1, le=2**31 - 1,
        description="the version the editor started from; a newer one → 409")
    note: str = Field(default="", max_length=200)


class ReviewIn(BaseModel):
    version: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="the version the reviewer read; "
                                "when the answer has moved on since → 409")
    note: str = Field(default="", max_length=200, description="a reason (required to reject)")


class UrgentIn(AnswerFields):
    """An urgent 答复口径: written by the signed-in account, approved by ``reviewer`` (who
    confirms with their password) in the same request."""

    answer: str = Field(min_length=1, max_length=20_000)
    reviewer: str = Field(min_length=1, max_length=64,
                          description="the reviewer who approves it (not the author)")
    reviewer_password: str = Field(min_length=1, max_length=256,
                                   description="the reviewer's own password, as confirmation")
    expires_on: dt.date = Field(description="required; at most 30 days ahead")  # type: ignore[assignment]
    note: str = Field(default="", max_length=200)


class VersionOut(BaseModel):
    version: int
    status: str
    changed_by: str
    changed_at: str
    note: str
    content_changed: bool = Field(description="whether this version changed the content "
                                  "(not only the status)")
    snapshot: dict[str, Any]


class AnswerItem(BaseModel):
    template_id: int
    id: str = Field(description="the public id (the imported id where one was given)")
    title: str
    status: str
    version: int
    category_code: str | None
    category_path: list[str]
    unit: str | None
    effective_from: str | None
    expires_on: str | None
    updated_by: str
    updated_at: str
    live: bool = Field(description="published and inside its dates: search returns it today")
    expiry: Literal["expired", "expiring", "not_yet_effective"] | None
    urgent: bool = Field(description="published through the urgent 答复口径 path")


class AnswerDetail(AnswerItem):
    questions: list[str]
    answer: str
    source: str
    request_type: str
    created_by: str
    created_at: str
    authors: list[str] = Field(description="who wrote the content under review: they may "
                               "not approve it")
    versions: list[VersionOut]


class AnswerPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AnswerItem]


class EditResult(BaseModel):
    changed: bool
    answer: AnswerDetail


class Segment(BaseModel):
    op: Literal["equal", "insert", "delete"]
    text: str


class FieldDiff(BaseModel):
    field: str
    label: str
    before: Any
    after: Any
    segments: list[Segment]


class DiffOut(BaseModel):
    template_id: int
    from_version: int
    to_version: int
    changes: list[FieldDiff]


class CategoryCreate(BaseModel):
    parent_code: str | None = Field(default=None, pattern=CODE_PATTERN,
                                    description="none: a new level-1 class")
    name: str = Field(min_length=1, max_length=100)
    code: str | None = Field(default=None, pattern=CODE_PATTERN,
                             description="default: the next free code under the parent")
    description: str = Field(default="", max_length=2000)


class CategoryUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)


class CategoryOut(BaseModel):
    code: str
    name: str
    level: int
    path: list[str]
    description: str


class UnitFields(BaseModel):
    kind: str = Field(default="", max_length=32)
    district: str = Field(default="", max_length=32)
    duty: str = Field(default="", max_length=2000)
    phone: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=200)


class UnitCreate(UnitFields):
    name: str = Field(min_length=1, max_length=100)


class UnitUpdate(UnitFields):
    """Only the fields sent change; an empty string clears one; ``name`` renames."""

    name: str | None = Field(default=None, min_length=1, max_length=100)


class UnitOut(UnitFields):
    id: int
    name: str


class ImportOut(BaseModel):
    kind: str
    filename: str
    summary: dict[str, Any]


class GapQuestionOut(BaseModel):
    question: str
    count: int
    last_at: str


class DraftRef(BaseModel):
    template_id: int
    id: str
    status: str


class AnsweredRef(BaseModel):
    template_id: int
    id: str
    title: str
    score: float | None


class GapGroupOut(BaseModel):
    count: int = Field(description="how many times the group's questions were asked")
    last_at: str
    questions: list[GapQuestionOut]
    best_score: float | None = Field(description="the best answer's cosine when asked")
    best_id: str | None = Field(description="the closest answer then (not good enough)")
    drafted: DraftRef | None = Field(description="an answer already holding these questions")
    answered_now: AnsweredRef | None = Field(
        default=None, description="the answer the chatbot would quote today for the group's "
        "most asked question (published since)")


class GapReport(BaseModel):
    days: int
    threshold: float
    questions: int = Field(description="distinct unanswered questions considered")
    asked: int = Field(description="unanswered messages in the period")
    groups: list[GapGroupOut]


class GapDraftIn(BaseModel):
    questions: list[str] = Field(min_length=1, max_length=100)
    title: str = Field(default="", max_length=200)
    category_code: str | None = Field(default=None, pattern=CODE_PATTERN)
    unit_name: str | None = Field(default=None, max_length=100)

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[str]) -> list[str]:
        cleaned = clean_questions([q[:500] for q in value])
        if not cleaned:
            raise ValueError("give at least one non-empty question")
        return cleaned
