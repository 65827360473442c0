"""Calibrating the chatbot's thresholds on a knowledge base's own labelled questions.

A knowledge manager writes questions the way citizens ask them, each with the answer ids that
are right (``expect``), or none when the knowledge base cannot answer it, in JSON Lines::

    {"q": "物业不打扫楼道去哪投诉", "expect": ["kb-01-001"]}
    {"q": "火车票怎么改签", "expect": null}
    {"q": "厨房着火了", "kind": "emergency", "line": "119"}

``copilot chat calibrate FILE`` searches each once, then chooses the thresholds (``suggest``,
``answer``, ``margin``) that resolve most questions — answered right at once, or after one
clarifying question, clarifications costing a little and wrong answers three times — among
those that answer at most ``max_wrong`` (2 %) of the unanswerable ones. It reports them scored
on held-out halves (two-fold) and, with ``--save``, writes them to
``COPILOT_HOME/chat_thresholds.json``, which the chatbot uses from its next message on (the
``COPILOT_CHAT_*`` settings are the defaults until then).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from classifier.triage import triage
from copilot.chat.decide import ANSWER, CLARIFY, Thresholds, choose
from retrieval.index import SearchHit

logger = logging.getLogger(__name__)

FILE = "chat_thresholds.json"
MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
STEP = 0.0025


class CalibrationError(ValueError):
    """A labelled-questions file that cannot be used (the message names the line)."""


@dataclass
class Item:
    q: str
    expect: list[str] | None  # None: the knowledge base cannot answer it
    kind: str | None = None  # "emergency"
    line: str | None = None  # the emergency line expected
    hits: list[SearchHit] | None = None
    emergency: str | None = None
    out_of_scope: str | None = None


def load_items(path: Path) -> list[Item]:
    """Read labelled questions; every bad line is reported at once, with its number."""
    items: list[Item] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not str(row.get("q", "")).strip():
                    raise ValueError('needs "q", the question')
                expect = row.get("expect")
                if expect is not None and (not isinstance(expect, list)
                                           or not all(isinstance(e, str) for e in expect)):
                    raise ValueError('"expect" must be a list of answer ids, or null')
                kind = row.get("kind")
                if kind not in (None, "emergency"):
                    raise ValueError('"kind" may only be "emergency"')
                items.append(Item(str(row["q"]).strip(), expect or None, kind, row.get("line")))
            except ValueError as e:  # JSONDecodeError too
                problems.append(f"line {number}: {e}")
    if problems:
        raise CalibrationError(f"{path}: " + "; ".join(problems[:20]))
    answerable = sum(1 for i in items if i.expect and not i.kind)
    if answerable < 10 or sum(1 for i in items if i.expect is None and not i.kind) < 5:
        raise CalibrationError(f"{path}: needs at least 10 answerable and 5 unanswerable "
                               "questions to choose thresholds from")
    return items


def search_items(index: Any, items: list[Item], top_k: int = 5) -> None:
    """Search and triage every question once (the thresholds are then tried on the results)."""
    for item in items:
        item.hits = index.search(item.q, top_k, refresh=False)
        found = triage(item.q)
        item.emergency, item.out_of_scope = found.emergency, found.out_of_scope


def outcome(item: Item, t: Thresholds) -> tuple[str, list[str]]:
    """The reply kind the bot gives to this question as a first message, and the answer ids it
    quotes (one) or offers (clarify): the same steps as the chatbot's first turn."""
    if item.emergency:
        return "emergency", []
    choice = choose(item.hits or [], t)
    if choice.kind == ANSWER and choice.hit is not None:
        return "answer", [choice.hit.id]
    if item.out_of_scope:
        return "out_of_scope", []
    if choice.kind == CLARIFY:
        return "clarify", [h.id for h in choice.options]
    return "no_answer", []


@dataclass
class Scores:
    answerable: int = 0
    correct: int = 0
    wrong: int = 0
    clarify_right: int = 0  # the right answer is among the options
    clarify_other: int = 0
    refused: int = 0  # no_answer / out_of_scope on an answerable question
    false_emergency: int = 0
    unanswerable: int = 0
    u_answered: int = 0
    u_clarify: int = 0
    u_refused: int = 0
    u_emergency: int = 0
    emergencies: int = 0
    emergency_right: int = 0

    def __add__(self, other: Scores) -> Scores:
        return Scores(**{k: getattr(self, k) + getattr(other, k) for k in asdict(self)})

    def summary(self) -> dict[str, float]:
        n, u = max(1, self.answerable), max(1, self.unanswerable)
        refused_all = self.refused + self.u_refused
        return {
            "answered_correctly": self.correct / n,
            "resolved_with_one_clarification": (self.correct + self.clarify_right) / n,
            "wrong_answer": self.wrong / n,
            "unanswerable_answered": self.u_answered / u,
            "refusal_recall": self.u_refused / u,
            "refusal_precision": self.u_refused / refused_all if refused_all else 1.0,
        }

    def line(self) -> str:
        n, u = max(1, self.answerable), max(1, self.unanswerable)
        refused_all = self.refused + self.u_refused
        precision = self.u_refused / refused_all if refused_all else 1.0
        clarify = self.clarify_right + self.clarify_other
        out = (f"answerable n={self.answerable}: answered correctly {self.correct / n:.1%}, "
               f"+ via clarification {(self.correct + self.clarify_right) / n:.1%}, "
               f"wrong {self.wrong / n:.1%}, clarify {clarify / n:.1%}, "
               f"refused {self.refused / n:.1%}, false emergency {self.false_emergency / n:.1%}")
        if self.unanswerable:
            out += (f"\n    unanswerable n={self.unanswerable}: answered (wrong) "
                    f"{self.u_answered / u:.1%}, clarify {self.u_clarify / u:.1%}, refusal recall "
                    f"{self.u_refused / u:.1%}, refusal precision {precision:.1%}")
        if self.emergencies:
            out += (f"\n    emergencies: {self.emergency_right}/{self.emergencies} sent to the "
                    f"right line")
        return out


def score(items: Iterable[Item], t: Thresholds) -> Scores:
    s = Scores()
    for item in items:
        kind, ids = outcome(item, t)
        if item.kind == "emergency":
            s.emergencies += 1
            s.emergency_right += kind == "emergency" and item.emergency == item.line
        elif item.expect:
            s.answerable += 1
            if kind == "answer":
                s.correct += ids[0] in item.expect
                s.wrong += ids[0] not in item.expect
            elif kind == "clarify":
                if set(ids) & set(item.expect):
                    s.clarify_right += 1
                else:
                    s.clarify_other += 1
            elif kind == "emergency":
                s.false_emergency += 1
            else:
                s.refused += 1
        else:
            s.unanswerable += 1
            if kind == "answer":
                s.u_answered += 1
            elif kind == "clarify":
                s.u_clarify += 1
            elif kind == "emergency":
                s.u_emergency += 1
            else:
                s.u_refused += 1
    return s


def objective(s: Scores) -> float:
    """Resolved questions, less a little for each clarification and three times each wrong
    answer."""
    n, u = max(1, s.answerable), max(1, s.unanswerable)
    return ((s.correct + s.clarify_right) / n - 0.3 * (s.clarify_right + s.clarify_other) / n
            - 3 * s.wrong / n - 0.3 * s.u_clarify / u)


def _grid(start: float, stop: float) -> list[float]:
    count = round((stop - start) / STEP)
    return [round(start + k * STEP, 4) for k in range(count + 1)]


def calibrate(items: list[Item], base: Thresholds, max_wrong: float = 0.02) -> Thresholds:
    """The thresholds with the best objective on ``items`` among those that answer at most
    ``max_wrong`` of its unanswerable questions (``base`` when none does)."""
    tops = sorted(float(i.hits[0].dense_score or 0) for i in items if i.hits)
    if not tops:
        return base
    low, high = round(tops[0], 2) - 0.01, round(tops[-1], 2) + 0.01
    best: tuple[float, Thresholds] | None = None
    for suggest in _grid(low, high):
        for answer in _grid(suggest, high):
            for margin in MARGINS:
                t = replace(base, suggest=suggest, answer=answer, margin=margin)
                s = score(items, t)
                if s.unanswerable and s.u_answered / s.unanswerable > max_wrong:
                    continue
                key = objective(s)
                if best is None or key > best[0]:
                    best = (key, t)
    return best[1] if best else base


@dataclass
class Calibration:
    chosen: Thresholds  # on the whole set: the ones to use
    held_out: Scores  # each half scored with the thresholds chosen on the other
    in_sample: Scores
    before: Scores  # the thresholds in use before


def run(items: list[Item], current: Thresholds, max_wrong: float = 0.02) -> Calibration:
    even, odd = items[0::2], items[1::2]
    held = (score(odd, calibrate(even, current, max_wrong))
            + score(even, calibrate(odd, current, max_wrong)))
    chosen = calibrate(items, current, max_wrong)
    return Calibration(chosen, held, score(items, chosen), score(items, current))


# ---------------------------------------------------------------- the thresholds in use


def defaults(settings: Any) -> Thresholds:
    return Thresholds(answer=settings.chat_answer_threshold,
                      suggest=settings.chat_suggest_threshold,
                      margin=settings.chat_clarify_margin, max_options=settings.chat_max_options)


_cache: dict[Path, tuple[float, Thresholds]] = {}


def current_thresholds(settings: Any) -> Thresholds:
    """The calibrated thresholds of this home (re-read when the file changes), else the
    settings. A damaged file is logged and the settings are used."""
    path = Path(settings.home) / FILE
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return defaults(settings)
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        t = replace(defaults(settings), answer=float(data["answer"]),
                    suggest=float(data["suggest"]), margin=float(data["margin"]))
    except (ValueError, KeyError, TypeError) as e:
        logger.error("%s is damaged (%s): using the COPILOT_CHAT_* settings", path, e)
        return defaults(settings)
    _cache[path] = (mtime, t)
    return t


def save_thresholds(home: Path, result: Calibration, source: str) -> Path:
    """Write the chosen thresholds (atomically) with how they were chosen."""
    path = Path(home) / FILE
    tmp = path.with_suffix(".json.tmp")
    t = result.chosen
    tmp.write_text(json.dumps({
        "answer": t.answer, "suggest": t.suggest, "margin": t.margin,
        "calibrated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "questions": source, "held_out": result.held_out.summary(),
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path
