"""Dispatch: the handling unit (承办单位) a ticket should be sent to, with a score and reasons.

Two sources, each a distribution over units:

* **answers**: the units of the best answers retrieved for the request vote, weighted by score
  (the top ``UNIT_VOTERS``);
* **history**: the dispatch model trained from the hotline's own history (``copilot dispatch
  train``: the category model of :mod:`classifier.training` whose one-level label is the unit),
  i.e. which units handled similar past tickets.

Beside them, and apart from the ranking, the territorial units (属地) of the work order's
district and street (:mod:`copilot.territory`), for matters of a neighbourhood.

With a saved dispatch model the suggestion is the average of the two (bench/dispatch_bench.py,
"(iv)"); without one it is the vote alone. Every suggested unit says what each source gave it.
The model lives in ``COPILOT_HOME/models/dispatch`` (:func:`classifier.trained.save_model`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select

from classifier.report import manifest, saved_files
from classifier.text_features import Embed
from classifier.trained import SavedModel, TrainedModel, save_model
from classifier.training import FINETUNE, LabelledData, TrainingError, TrainingResult, train
from copilot.territory import DirectoryUnit, form_local_units
from copilot.tickets.models import ACCEPTED, Ticket
from knowledge_base.db import Database
from knowledge_base.models import Unit

logger = logging.getLogger(__name__)

KIND = "dispatch"
# The history model whose blend with the vote dispatched best (bench/dispatch_bench.py, (v), two
# seeds: ensemble + vote 0.895 / 0.905 top-1 against 0.889 / 0.901 for TF-IDF + vote and 0.877 /
# 0.888 for the vote alone). It encodes the history with e5 to train (10–15 texts a second on
# two cores) and reads e5 vectors of each request; --method tfidf needs no encoder.
DEFAULT_METHOD = "ensemble"
# Dispatch: the units of the best answers vote, weighted by score (bench/dispatch_bench.py:
# top-10 vote 0.877 top-1 / 0.973 top-3 against 0.863 / 0.967 for the best answer's unit).
UNIT_VOTERS = 10
HISTORY_WEIGHT = 0.5  # the history model's share of the blend (bench (iv): the average)
MIN_TICKETS = 20  # --from-tickets: fewer dispatched tickets than this teach nothing useful
SOURCES = {"answers": "相似答复口径", "history": "历史相似工单"}


# ------------------------------------------------------------------ suggestion


def vote_shares(hits: list[Any]) -> dict[str, float]:
    """Unit → its share of the summed scores of the retrieved answers that name a unit."""
    votes: dict[str, float] = {}
    for hit in hits:
        if hit.unit:
            votes[hit.unit] = votes.get(hit.unit, 0.0) + max(hit.score, 0.0)
    total = sum(votes.values())
    return {u: v / total for u, v in votes.items()} if total > 0 else {}


def blend(sources: dict[str, dict[str, float]],
          weights: dict[str, float] | None = None) -> dict[str, float]:
    """The weighted average of the non-empty unit distributions of ``sources`` (the weights of
    the sources present are renormalised, so one source alone keeps its own scores)."""
    weights = weights or {"answers": 1 - HISTORY_WEIGHT, "history": HISTORY_WEIGHT}
    present = {name: dist for name, dist in sources.items() if dist}
    total = sum(weights.get(name, 0.0) for name in present) or 1.0
    mixed: dict[str, float] = {}
    for name, dist in present.items():
        for unit, score in dist.items():
            mixed[unit] = mixed.get(unit, 0.0) + weights.get(name, 0.0) / total * score
    return mixed


def _reasons(unit: str, sources: dict[str, dict[str, float]], example: Any | None
             ) -> list[str]:
    reasons = []
    for name, dist in sources.items():
        if not dist:
            continue
        text = f"{SOURCES.get(name, name)}：{dist.get(unit, 0.0):.2f}"
        if name == "answers" and example is not None:
            text += f"（如 {example.id}，{'/'.join(example.category_path)}）"
        reasons.append(text)
    return reasons


def suggest_units(hits: list[Any], history: dict[str, float] | None = None,
                  phones: dict[str, str] | None = None, k: int = 3) -> list[dict[str, Any]]:
    """The top ``k`` units: the vote of ``hits`` (retrieved answers, best first) averaged with
    ``history`` (the dispatch model's unit probabilities) when given. Each unit has its
    ``name``, ``phone`` (from the answer, else ``phones``, else ""), ``share`` (its blended
    score), ``sources`` (its score from each source), ``reasons`` (the same, as text; also
    joined in ``reason``) and ``in_directory`` (False for a unit only the history knows: a
    ticket is not filed to it while the hotline's unit directory lacks it)."""
    sources = {"answers": vote_shares(hits), "history": history or {}}
    scores = blend(sources)
    first: dict[str, Any] = {}
    for hit in hits:
        if hit.unit:
            first.setdefault(hit.unit, hit)
    out = []
    for name in sorted(scores, key=lambda u: -scores[u])[:k]:  # ties: the answers' order
        hit = first.get(name)
        reasons = _reasons(name, sources, hit)
        known = hit is not None or name in (phones or {})
        out.append({"name": name, "in_directory": known,
                    "phone": (hit.unit_phone if hit else None) or (phones or {}).get(name, ""),
                    "share": round(scores[name], 3),
                    "sources": {s: round(d.get(name, 0.0), 3) for s, d in sources.items() if d},
                    "reasons": reasons, "reason": "；".join(reasons)})
    return out


def unit_probabilities(model: TrainedModel, text: str, embed: Embed | None = None
                       ) -> dict[str, float]:
    """Unit → probability that the dispatch model gives ``text`` (the scores bench (iv)
    averages: the heads' probabilities, before the temperature)."""
    probs = model.raw_proba([text], embed)[0]
    return {c[0]: float(p) for c, p in zip(model.classes, probs, strict=True) if p > 0}


class Dispatcher:
    """The dispatch model saved in ``home`` (reloaded when saved again) and the unit directory
    (read again when the knowledge base changes), for :func:`suggest_units` and the
    territorial units of :mod:`copilot.territory`."""

    def __init__(self, home: Path, db: Database,
                 embedder: Callable[[], Embed] | None = None) -> None:
        self.db, self.embedder = db, embedder
        self.saved = SavedModel(home, KIND)
        self._units: tuple[DirectoryUnit, ...] = ()
        self._phones: dict[str, str] = {}
        self._revision: int | None = None
        self._lock = threading.Lock()

    def _directory(self) -> tuple[tuple[DirectoryUnit, ...], dict[str, str]]:
        """The directory's units (in directory order) and their phones, at this revision."""
        revision = self.db.revision()
        with self._lock:
            if revision != self._revision:
                with self.db.session() as session:
                    self._units = tuple(
                        DirectoryUnit(u.name, u.kind or "", u.district or "", u.phone or "")
                        for u in session.scalars(select(Unit).order_by(Unit.id)))
                self._phones = {u.name: u.phone for u in self._units}
                self._revision = revision
            return self._units, self._phones

    def phones(self) -> dict[str, str]:
        return self._directory()[1]

    def local_units(self, form: Mapping[str, str | None] | None) -> list[dict[str, Any]]:
        """The directory's territorial units (属地) of the form's district and street."""
        return form_local_units(self._directory()[0], form) if form else []

    def history(self, text: str) -> dict[str, float] | None:
        """The saved model's unit probabilities of ``text``, or None without a model."""
        model = self.saved.get()
        if model is None:
            return None
        embed = self.embedder() if model.needs_encoder and self.embedder else None
        try:
            return unit_probabilities(model, text, embed)
        except Exception:  # a broken model must not stop the call: the vote alone
            logger.exception("the dispatch model failed on a request: using the answers' vote")
            return None

    def suggest(self, text: str, hits: list[Any], k: int = 3) -> list[dict[str, Any]]:
        history = self.history(text)
        return suggest_units(hits, history, self.phones() if history else None, k)


# ------------------------------------------------------------------ training


def ticket_history(db: Database, minimum: int = MIN_TICKETS) -> LabelledData:
    """The work orders of ``db`` a person has dispatched (status past 受理, with a unit) as
    labelled rows: content → unit. Tickets still at 受理 are left out: their unit is at most a
    suggestion (often the copilot's own), and a duplicate linked to its original is never
    dispatched."""
    with db.session() as session:
        rows = session.execute(select(Ticket.content, Ticket.unit).where(
            Ticket.unit.is_not(None), Ticket.unit != "", Ticket.status != ACCEPTED)).all()
    texts = [c.strip() for c, _ in rows]
    labels = [(u.strip(),) for _, u in rows]
    keep = [i for i, t in enumerate(texts) if t and labels[i][0]]
    units = {labels[i] for i in keep}
    if len(keep) < minimum or len(units) < 2:
        raise TrainingError(
            f"the database has {len(keep)} dispatched ticket(s) with a unit, across "
            f"{len(units)} unit(s): training needs at least {minimum} tickets and 2 units. "
            "Dispatch more tickets, or train from an export: copilot dispatch train FILE "
            "--text COLS --unit COL")
    return LabelledData([texts[i] for i in keep], [labels[i] for i in keep], ["content"],
                        ["unit"], "tickets (database)", "", len(rows))


def train_dispatch(home: Path, data: LabelledData, method: str = DEFAULT_METHOD,
                   test_size: float = 0.2, seed: int = 0, embed: Embed | None = None,
                   progress: Callable[[str], None] = logger.info,
                   encoder_name: str | None = None, encoder: Any = None
                   ) -> tuple[TrainingResult, Path]:
    """Train the unit model on ``data`` (one-level labels: the units), with the held-out
    report, and save it in ``home`` (``models/dispatch``); the saved folder. e5 vectors come
    from ``embed``, else from ``encoder``."""
    if data.labels and len(data.labels[0]) != 1:
        raise TrainingError("a dispatch model has one label: the unit column (--unit)")
    if method == FINETUNE:
        raise TrainingError(f"a dispatch model does not fine-tune the encoder: use --method "
                            f"{DEFAULT_METHOD}, tfidf, e5 or auto")
    result = train(data, method, test_size, seed, embed, progress=progress, encoder=encoder)
    folder = save_model(home, result.model, manifest(result, encoder_name), saved_files(result),
                        kind=KIND)
    return result, folder
