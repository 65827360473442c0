"""Understanding a call or message: the work-order form."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from copilot.api.deps import ContextDep
from copilot.extraction import MAX_CHARS, MAX_TURNS, extract

router = APIRouter(prefix="/api/v1", tags=["understanding"])


class Turn(BaseModel):
    speaker: Literal["caller", "agent"] = "caller"
    text: str = Field(max_length=MAX_CHARS)


class CallIn(BaseModel):
    id: str | None = Field(default=None, max_length=128)
    turns: list[Turn] | None = Field(default=None, min_length=1, max_length=MAX_TURNS)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_CHARS)
    call_time: str | None = Field(default=None, description="ISO date-time of the call")


@router.post("/extract")
def extract_form(body: CallIn) -> dict[str, Any]:
    """Fill the work order from a call's turns (or one message): each field with its value,
    the utterance and span it came from, and a confidence."""
    try:
        return extract(body.model_dump(exclude_none=True))
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from e


@router.post("/classify")
def classify(ctx: ContextDep, body: CallIn) -> dict[str, Any]:
    """Category (top 3 at every level), request type with its deadline, emergency (the line to
    transfer to), out of scope (where to direct the caller) and the suggested handling unit."""
    try:
        return ctx.classifier.classify(body.model_dump(exclude_none=True))
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from e
