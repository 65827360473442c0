"""Classifying a call or message: category (three levels), request type and deadline, triage,
and the handling unit suggested from the best answers in the predicted category. Shared by
``copilot classify`` and ``POST /api/v1/classify``."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from classifier.categories import CategoryClassifier
from classifier.deadline import DEADLINE_DAYS, due_date
from classifier.request_type import request_type
from classifier.triage import triage
from copilot.extraction import parse_call

if TYPE_CHECKING:
    from copilot.context import AppContext


class Classifier:
    """The category model of one knowledge base, rebuilt when the knowledge base changes."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._model: CategoryClassifier | None = None
        self._revision: int | None = None
        self._lock = threading.Lock()

    def model(self) -> CategoryClassifier:
        revision = self.ctx.db.revision()
        with self._lock:
            if self._model is None or self._revision != revision:
                self._model = CategoryClassifier.build(self.ctx.db, self.ctx.encoder)
                self._revision = revision
            return self._model

    def classify(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The batch contract's classify line, plus every level's top 3, the deadline and the
        triage details."""
        turns, call_time = parse_call(obj)
        caller_text = "。".join(t["text"] for t in turns if t["speaker"] == "caller")
        if not caller_text.strip():
            raise ValueError("the call has no caller turn to classify")
        prediction = self.model().predict(caller_text[:2000])
        category = prediction.category
        found = triage(turns)
        kind = request_type(turns, triage_result=found)
        accepted = call_time or dt.datetime.now()
        unit = None
        hits = self.ctx.index.search(caller_text[: self.ctx.settings.max_query_chars], 3,
                                     category=category.code if category else None)
        if hits:
            path = "/".join(hits[0].category_path)
            unit = {"name": hits[0].unit, "phone": hits[0].unit_phone,
                    "reason": f"答复口径 {hits[0].id}（{path}）的承办单位"}
        return {
            "id": obj.get("id"),
            "category": category.as_dict() if category else None,
            "top": [c.as_dict() for c in prediction.level3],
            "levels": {f"level{i}": [c.as_dict() for c in level] for i, level in
                       enumerate((prediction.level1, prediction.level2, prediction.level3), 1)},
            "request_type": kind.type,
            "request_type_score": round(kind.score, 3),
            "deadline_working_days": DEADLINE_DAYS.get(kind.type),
            "due_date": due_date(kind.type, accepted).isoformat(),
            "emergency": found.emergency,
            "out_of_scope": found.out_of_scope,
            "triage": found.as_dict(),
            "unit": unit["name"] if unit else None,
            "unit_detail": unit,
        }
