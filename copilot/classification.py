"""Classifying a call or message: category (three levels), request type and deadline, triage,
and the handling unit suggested from the best answers in the predicted category and, once
trained, the units of similar past tickets (:mod:`copilot.dispatch`). Shared by
``copilot classify`` and ``POST /api/v1/classify``."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from classifier.categories import CategoryClassifier, Prediction
from classifier.deadline import CHINA_TZ, DEADLINE_DAYS, due_date
from classifier.request_type import request_type
from classifier.text_features import e5_embedder
from classifier.trained import SavedModel, TrainedModel, taxonomy_codes
from classifier.triage import triage
from copilot.dispatch import UNIT_VOTERS, Dispatcher
from copilot.extraction import parse_call

if TYPE_CHECKING:
    from copilot.context import AppContext
    from retrieval.index import SearchHit

logger = logging.getLogger(__name__)

# A caller turn that only answers the operator's questions (a name, a number, "对", "好的")
# says nothing about the request, so it is left out of what is classified and searched.
_ONLY_DETAILS = re.compile(r"^[\s\d零〇一二两三四五六七八九十幺百千万.,，。？?！!、:：;；-]*$")
_SHORT = 6


def request_text(turns: list[dict[str, Any]], limit: int = 600) -> str:
    """The caller's words about the request: caller turns that say more than a name, a number
    or a yes, joined and cut to ``limit`` characters (the start of a call says what it is
    about; the end is mostly details and thanks). One text for the category model and the
    answer search, so the query is encoded once."""
    parts = []
    for turn in turns:
        if turn.get("speaker", "caller") != "caller":
            continue
        text = str(turn.get("text", "")).strip()
        if len(text) < _SHORT or _ONLY_DETAILS.match(text):
            continue
        parts.append(text)
    if not parts:  # only short turns: use them all rather than nothing
        parts = [str(t.get("text", "")).strip() for t in turns
                 if t.get("speaker", "caller") == "caller"]
    return "".join(p if p[-1:] in "。？！?!" else p + "。" for p in parts if p)[:limit]


def cold_start_model(ctx: AppContext, encoder: Any = None) -> CategoryClassifier:
    """The cold-start category model of ``ctx``'s knowledge base, built with ``encoder`` (else
    the context's); its prototype vectors are cached beside the search index."""
    return CategoryClassifier.build(ctx.db, ctx.encoder if encoder is None else encoder,
                                    cache=ctx.settings.index_dir / "category_prototypes.npz")


class Classifier:
    """The category model of one knowledge base: the model trained from the hotline's history
    (``copilot classifier train``) when ``COPILOT_HOME`` holds one, reloaded when it is saved
    again; otherwise the cold-start model, rebuilt when the knowledge base changes."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._model: CategoryClassifier | None = None
        self._revision: int | None = None
        self._rebuilding = False
        self._lock = threading.Lock()
        self._trained = SavedModel(ctx.settings.home)
        self.dispatcher = Dispatcher(ctx.settings.home, ctx.db,
                                     lambda: e5_embedder(self.ctx.encoder))
        self._codes: dict[tuple[str, ...], str] = {}
        self._codes_revision: int | None = None

    def model(self) -> CategoryClassifier:
        """The cold-start model. The first one is built on the spot; after a knowledge change
        the current one keeps serving while its successor is built in the background, so a
        live call never waits for a rebuild."""
        revision = self.ctx.db.revision()
        with self._lock:
            model = self._model
            if model is None:
                model = self._model = cold_start_model(self.ctx)
                self._revision = revision
            elif self._revision != revision and not self._rebuilding:
                self._rebuilding = True
                threading.Thread(target=self._rebuild, args=(revision,), daemon=True,
                                 name="category-rebuild").start()
            return model

    def _rebuild(self, revision: int) -> None:
        try:
            model = cold_start_model(self.ctx)
            with self._lock:
                self._model, self._revision = model, revision
        except Exception:  # keep the old model; the next call tries again
            logger.exception("rebuilding the category model failed; the previous one stays")
        finally:
            self._rebuilding = False

    def wait_for_rebuild(self, timeout: float = 600.0) -> None:
        """Block until the model matches the knowledge base (tests and batch runs)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.model()
            if self._revision == self.ctx.db.revision() and not self._rebuilding:
                return
            time.sleep(0.05)
        raise TimeoutError("the category model was not rebuilt in time")

    def trained(self) -> tuple[TrainedModel, dict[tuple[str, ...], str]] | None:
        """The trained model and the knowledge base codes of its label paths, or None."""
        model = self._trained.get()
        if model is None:
            return None
        with self._lock:
            revision = self.ctx.db.revision()
            if revision != self._codes_revision:
                self._codes, self._codes_revision = taxonomy_codes(self.ctx.db), revision
            return model, self._codes

    def predict(self, text: str) -> tuple[Prediction, str]:
        """Categories of ``text`` and which model gave them (``trained`` or ``cold_start``)."""
        found = self.trained()
        if found is not None:
            model, codes = found
            encoder = self.ctx.encoder if model.needs_encoder else None
            return model.predict(text, codes=codes, encoder=encoder), "trained"
        return self.model().predict(text), "cold_start"

    def classify(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The batch contract's classify line, plus every level's top 3, the deadline and the
        triage details."""
        turns, call_time = parse_call(obj)
        return {"id": obj.get("id"), **self.classify_turns(turns, call_time)[0]}

    def classify_turns(self, turns: list[dict[str, str]], call_time: dt.datetime | None
                       ) -> tuple[dict[str, Any], list[SearchHit]]:
        """Classify validated turns; also returns the answers retrieved for the unit vote (best
        first), which the copilot shows as its suggested answers."""
        caller_text = request_text(turns)
        if not caller_text.strip():
            raise ValueError("the call has no caller turn to classify")
        prediction, model = self.predict(caller_text)
        category = prediction.category
        found = triage(turns)
        kind = request_type(turns, triage_result=found)
        accepted = call_time or dt.datetime.now(CHINA_TZ)  # naive call times are Beijing time
        unit = None
        hits = self.ctx.index.search(caller_text[: self.ctx.settings.max_query_chars],
                                     UNIT_VOTERS, category=category.code if category else None)
        units = self.dispatcher.suggest(caller_text, hits)
        if units:
            unit = units[0]
        return ({
            "category": category.as_dict() if category else None,
            "top": [c.as_dict() for c in prediction.deepest],
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
            "units": units,
            "model": model,
        }, hits)
