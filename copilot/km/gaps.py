"""The knowledge gap report: questions the chatbot found no good answer for, grouped by
meaning, most asked first.

Source: the chat log (:mod:`copilot.chat.log`), turns whose reply was ``no_answer``. When a
citizen answered a clarification with 以上都不是 ("none of these"), the question counted is the
one that was clarified, not the words 以上都不是.

Grouping: every distinct question is encoded as an e5 query vector (cached by text), then the
questions are taken most frequent first and each joins the group whose *least* similar member is
still at cosine ≥ ``threshold`` (a greedy complete-link clustering: every two questions of a group
are that close), else it starts a group. The default 0.89 was chosen on the demo knowledge base's
question forms (300 forms of 100 answers, the forms of one answer counted as one group): it gave
the best pairwise F1 (precision 0.47, recall 0.51) of the variants tried — leader, centroid,
average and complete linkage at 0.86–0.92 — and on hand-written paraphrases (征兵/参军,
养老金/退休工资) it kept paraphrases together (≥ 0.891) and unrelated ones apart (≤ 0.875).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from copilot.chat.bot import NONE_OF_THESE
from copilot.chat.decide import ANSWER, Thresholds, choose
from copilot.chat.log import ChatTurn
from knowledge_base.models import AnswerStatus, AnswerTemplate
from retrieval.encoder import Encoder
from retrieval.index import QueryError, SearchHit, SearchIndex

DEFAULT_THRESHOLD = 0.89
MAX_QUESTIONS = 400  # distinct questions grouped at most (the most frequent)
_DECLINED = re.compile(r"^(?:以上都不是|都不是|都不对|不是|不对|没有|不|否)"
                       r"[的啊呀吧呢了。.！!，,\s]*$")


@dataclass
class Asked:
    question: str
    count: int = 0
    last_at: dt.datetime = dt.datetime.min
    best_score: float | None = None
    best_id: str | None = None


@dataclass
class Group:
    members: list[Asked] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(m.count for m in self.members)

    @property
    def last_at(self) -> dt.datetime:
        return max(m.last_at for m in self.members)


def _declined(text: str) -> bool:
    return text == NONE_OF_THESE or bool(_DECLINED.match(text.strip()))


def unanswered(session: Session, since: dt.datetime) -> tuple[list[Asked], int]:
    """Distinct unanswered questions since ``since``, most asked first, and how many
    unanswered messages there were."""
    rows = session.execute(
        select(ChatTurn.id, ChatTurn.conversation_id, ChatTurn.stage, ChatTurn.question,
               ChatTurn.at, ChatTurn.top_id, ChatTurn.top_score)
        .where(ChatTurn.decision == "no_answer", ChatTurn.at >= since)
        .order_by(ChatTurn.id)).all()
    # "none of these" after a clarification: count the question that was clarified
    declined = {r.conversation_id for r in rows if r.stage == "clarify" and _declined(r.question)}
    clarified: dict[str, list[tuple[int, str]]] = {}
    if declined:
        for cid, tid, question in session.execute(
                select(ChatTurn.conversation_id, ChatTurn.id, ChatTurn.question)
                .where(ChatTurn.decision == "clarify", ChatTurn.conversation_id.in_(declined))
                .order_by(ChatTurn.id)):
            clarified.setdefault(cid, []).append((tid, question))
    found: dict[str, Asked] = {}
    messages = 0
    for r in rows:
        question = r.question.strip()
        if r.stage == "clarify" and _declined(question):
            earlier = [q for tid, q in clarified.get(r.conversation_id, []) if tid < r.id]
            if not earlier:
                continue
            question = earlier[-1].strip()
        if not question or question.startswith("[登记信息"):
            continue
        messages += 1
        asked = found.setdefault(question, Asked(question))
        asked.count += 1
        asked.last_at = max(asked.last_at, r.at)
        if r.top_score is not None and (asked.best_score is None or r.top_score > asked.best_score):
            asked.best_score, asked.best_id = float(r.top_score), r.top_id
    ordered = sorted(found.values(), key=lambda a: (-a.count, -a.last_at.timestamp()))
    return ordered, messages


class VectorCache:
    """e5 query vectors of questions, kept by text (the gap report runs often over mostly the
    same questions; encoding costs ~50 ms a question on 2 cores)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, encoder: Encoder, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            encoded = encoder.queries(missing)
            with self._lock:
                for text, vector in zip(missing, encoded, strict=True):
                    self._vectors[text] = vector
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        with self._lock:
            for t in texts:
                self._vectors.move_to_end(t)
            return np.stack([self._vectors[t] for t in texts])


CACHE = VectorCache()


def group(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Greedy complete-link clustering of rows taken in order (most asked first)."""
    sims = vectors @ vectors.T
    groups: list[list[int]] = []
    for i in range(len(vectors)):
        best, best_sim = -1, -1.0
        for g, members in enumerate(groups):
            least = float(sims[i, members].min())
            if least > best_sim:
                best, best_sim = g, least
        if best >= 0 and best_sim >= threshold:
            groups[best].append(i)
        else:
            groups.append([i])
    return groups


def drafted(session: Session) -> dict[str, dict[str, Any]]:
    """Question form → the answer (not retired) that holds it."""
    out: dict[str, dict[str, Any]] = {}
    query = select(AnswerTemplate.id, AnswerTemplate.external_id, AnswerTemplate.status,
                   AnswerTemplate.questions).where(AnswerTemplate.status != AnswerStatus.retired)
    for tid, external_id, status, questions in session.execute(query):
        for q in questions or []:
            out.setdefault(q.strip(), {"template_id": tid, "id": external_id or f"kb-{tid}",
                                       "status": AnswerStatus(status).value})
    return out


def answered_now(index: SearchIndex, question: str, thresholds: Thresholds
                 ) -> dict[str, Any] | None:
    """The answer the chatbot would quote for ``question`` today, if any (published since it
    was asked)."""
    try:
        hits = index.search(question, max(5, thresholds.max_options))
    except QueryError:
        return None
    choice = choose(hits, thresholds)  # type: ignore[arg-type]
    if choice.kind != ANSWER or choice.hit is None:
        return None
    hit: SearchHit = choice.hit  # type: ignore[assignment]
    return {"template_id": hit.template_id, "id": hit.id, "title": hit.title,
            "score": hit.dense_score}


def report(session: Session, encoder: Encoder, days: int, threshold: float = DEFAULT_THRESHOLD,
           limit: int = 50, cache: VectorCache = CACHE) -> dict[str, Any]:
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
    asked, messages = unanswered(session, since)
    asked = asked[:MAX_QUESTIONS]
    groups: list[Group] = []
    if asked:
        vectors = cache.vectors(encoder, [a.question for a in asked])
        groups = [Group([asked[i] for i in members]) for members in group(vectors, threshold)]
    groups.sort(key=lambda g: (-g.count, -g.last_at.timestamp()))
    holders = drafted(session)
    out = []
    for g in groups[:limit]:
        best = max((m for m in g.members if m.best_score is not None),
                   key=lambda m: m.best_score or 0.0, default=None)
        holder = next((holders[m.question] for m in g.members if m.question in holders), None)
        out.append({
            "count": g.count, "last_at": g.last_at.isoformat(timespec="seconds"),
            "questions": [{"question": m.question, "count": m.count,
                           "last_at": m.last_at.isoformat(timespec="seconds")}
                          for m in g.members],
            "best_score": round(best.best_score, 4) if best and best.best_score else None,
            "best_id": best.best_id if best else None, "drafted": holder})
    return {"days": days, "threshold": threshold, "questions": len(asked), "asked": messages,
            "groups": out}
