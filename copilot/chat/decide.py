"""What to do with the search results for a citizen's question: quote one answer, ask which of
a few answers is meant, or say there is none.

The confidence is the dense cosine of the answer (``SearchHit.dense_score``: the mean of its best
row's and its first passage's cosine with the question); it is absolute, unlike the fused score,
which is scaled over each query's candidates. ``bench/chat_bench.py`` chose the thresholds on
held-out halves of paraphrased and unanswerable questions:

- best < ``suggest``: nothing is offered (no answer, offer a ticket);
- best >= ``answer`` and no answer of another topic within ``margin`` of its fused score:
  quote it;
- otherwise: ask back, offering the answers above ``suggest`` (at most ``max_options``).

The topic of an answer is its category code (the knowledge base's own three-level taxonomy), or
the answer itself where it has none; two close answers of one topic need no question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ANSWER, CLARIFY, NO_ANSWER = "answer", "clarify", "no_answer"


class Hit(Protocol):
    id: str
    score: float
    dense_score: float | None
    category_code: str | None


@dataclass(frozen=True)
class Thresholds:
    answer: float
    suggest: float
    margin: float
    max_options: int = 3


@dataclass
class Choice:
    kind: Literal["answer", "clarify", "no_answer"]
    hit: Hit | None = None  # the answer to quote
    options: list[Hit] = field(default_factory=list)  # the answers to choose from
    top: Hit | None = None  # the best candidate, whatever was decided (for the log)


def confidence(hit: Hit) -> float:
    return float(hit.dense_score or 0.0)


def topic(hit: Hit) -> str:
    return hit.category_code or f"id:{hit.id}"


def choose(hits: list[Hit], t: Thresholds) -> Choice:
    """The decision for hits sorted best first (as ``SearchIndex.search`` returns them)."""
    if not hits or confidence(hits[0]) < t.suggest:
        return Choice(NO_ANSWER, top=hits[0] if hits else None)
    top = hits[0]
    close = [h for h in hits[1:] if top.score - h.score <= t.margin
             and confidence(h) >= t.suggest and topic(h) != topic(top)]
    if confidence(top) >= t.answer and not close:
        return Choice(ANSWER, hit=top, top=top)
    options: list[Hit] = [top]
    seen = {top.id}
    for h in hits[1:]:
        if confidence(h) >= t.suggest and h.id not in seen:
            options.append(h)
            seen.add(h.id)
    # one option alone is a "did you mean …?" question
    return Choice(CLARIFY, options=options[: t.max_options], top=top)
