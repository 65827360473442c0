"""Dependencies resolved from the app's lifespan state, so tests can hand in their own context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from copilot.calls.live import LiveCalls
from copilot.context import AppContext


def get_context(request: Request) -> AppContext:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_live(request: Request) -> LiveCalls:
    return request.app.state.live  # type: ignore[no-any-return]


LiveDep = Annotated[LiveCalls, Depends(get_live)]


# Database ids and counts fit a 32-bit integer on every back end; larger numbers in a path or
# query are refused (422) before they reach the database (found by fuzzing: SQLite overflowed).
MAX_INT = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_INT)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]
