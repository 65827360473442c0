"""Request and response bodies of the REST API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, description="the caller's question, in Chinese")
    top_k: int = Field(default=5, ge=1, le=50)
    category: str | None = Field(default=None, pattern=r"^\d{1,3}(\.\d{1,4}){0,2}$",
                                 description="a category code (or prefix) the question is in")
    category_mode: Literal["boost", "filter"] = "boost"


class SearchResult(BaseModel):
    id: str = Field(description="the template's id (the imported id where one was given)")
    template_id: int
    version: int
    title: str
    question: str
    answer: str
    unit: str | None
    unit_phone: str | None
    category_code: str | None
    category_path: list[str]
    source: str
    score: float = Field(description="fused score (higher is better; see retrieval/fusion.py)")
    dense_score: float | None = Field(description="cosine similarity of the e5 vectors")
    lexical_score: float | None = Field(description="BM25 score")
    matched: str = Field(description="the stored question form that matched best, if any")


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    took_ms: float
    kb_revision: int | None


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    kb_revision: int
    index_revision: int | None
    answers_indexed: int
    counts: dict[str, int]


class CategoryNode(BaseModel):
    code: str
    name: str
    level: int
    description: str
    children: list[CategoryNode] = []


class UnitOut(BaseModel):
    name: str
    kind: str
    district: str
    duty: str
    phone: str
    address: str


class AnswerVersionOut(BaseModel):
    version: int
    changed_by: str
    changed_at: str
    note: str
    snapshot: dict[str, object]


class AnswerOut(BaseModel):
    id: str
    template_id: int
    version: int
    status: str
    title: str
    questions: list[str]
    answer: str
    category_code: str | None
    category_path: list[str]
    unit: str | None
    source: str
    request_type: str
    effective_from: str | None
    expires_on: str | None
    history: list[AnswerVersionOut]
