"""Triage and request-type benchmark (rule-based classifiers, no model).

On ../shared/data/calls/calls.jsonl (annotated calls, caller and agent turns as text):
emergency precision/recall per line (110/119/120/122) and overall, out-of-scope precision/recall
per kind and overall, request-type accuracy and confusion. On
../shared/data/messages/beijing_messages_train.csv (written citizen messages, a different
register): request-type accuracy with the labels mapped — 建言 → 意见建议, 咨询 → 咨询,
投诉/求助 ← any of 投诉 / 求助 / 举报 — plus how often triage flags a written message.

    .venv/bin/python bench/triage_bench.py [--show-errors]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED_DATA, need_shared
from classifier.metrics import accuracy, confusion, flag_score, label_score
from classifier.request_type import REQUEST_TYPES, request_type
from classifier.triage import EMERGENCY_LINES, OUT_OF_SCOPE_KINDS, triage

BEIJING_MAP = {"建言": "意见建议", "咨询": "咨询", "投诉/求助": "投诉/求助"}
BEIJING_LABELS = ("投诉/求助", "咨询", "意见建议")


def _bucket(request: str) -> str:
    return "投诉/求助" if request in ("投诉", "求助", "举报") else request


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad to a display width (CJK characters take two columns)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    fill = " " * max(0, width - shown)
    return fill + text if right else text + fill


def _row(name: object, gold: int, pred: int, correct: int, prec: float, rec: float) -> str:
    return f"  {_pad(str(name), 10)}{gold:>6}{pred:>6}{correct:>8}{prec:>7.2f}{rec:>7.2f}"


def _header() -> str:
    return f"  {'label':<10}{'gold':>6}{'pred':>6}{'correct':>8}{'prec':>7}{'recall':>7}"


def _confusion_table(gold: list[str], pred: list[str], labels: tuple[str, ...]) -> list[str]:
    counts = confusion(gold, pred)
    lines = [_pad("  gold \\ pred", 14) + "".join(_pad(p, 11, right=True) for p in labels)]
    for g in labels:
        lines.append(_pad(f"  {g}", 14) + "".join(f"{counts[(g, p)]:>11}" for p in labels))
    return lines


def bench_calls(show_errors: bool) -> None:
    path = need_shared("calls", "calls.jsonl")
    calls = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    t0 = time.perf_counter()
    triaged = [triage(c["turns"]) for c in calls]
    types = [request_type(c["turns"], triage_result=t) for c, t in zip(calls, triaged, strict=True)]
    per_call_ms = (time.perf_counter() - t0) / len(calls) * 1000
    print(f"calls.jsonl: {len(calls)} calls, triage + request type {per_call_ms:.2f} ms per call\n")

    gold_em = [c["gold"]["emergency"] for c in calls]
    pred_em = [t.emergency for t in triaged]
    print("emergency (gold line vs predicted main line)")
    print(_header())
    for line in EMERGENCY_LINES:
        s = label_score(gold_em, pred_em, line)
        print(_row(line, s.gold, s.predicted, s.correct, s.precision, s.recall))
    s = flag_score(gold_em, pred_em)
    print(_row("all", s.gold, s.predicted, s.correct, s.precision, s.recall))
    pairs = list(zip(gold_em, pred_em, strict=True))
    print(f"  flagged {sum(p is not None for p in pred_em)}, "
          f"false alarms {sum(g is None and p is not None for g, p in pairs)}, "
          f"missed {sum(g is not None and p is None for g, p in pairs)}, "
          f"wrong line {sum(None not in (g, p) and g != p for g, p in pairs)}\n")

    gold_oos = [c["gold"]["out_of_scope"] for c in calls]
    pred_oos = [t.out_of_scope for t in triaged]
    print("out of scope")
    print(_header())
    for kind in OUT_OF_SCOPE_KINDS:
        s = label_score(gold_oos, pred_oos, kind)
        if s.gold or s.predicted:
            print(_row(kind, s.gold, s.predicted, s.correct, s.precision, s.recall))
    s = flag_score(gold_oos, pred_oos)
    print(_row("all", s.gold, s.predicted, s.correct, s.precision, s.recall), "\n")

    gold_rt = [c["gold"]["request_type"] for c in calls]
    pred_rt = [r.type for r in types]
    print(f"request type accuracy {accuracy(gold_rt, pred_rt):.3f}")
    print("\n".join(_confusion_table(gold_rt, pred_rt, REQUEST_TYPES)), "\n")

    if show_errors:
        for c, t, r in zip(calls, triaged, types, strict=True):
            g = c["gold"]
            if (g["emergency"], g["out_of_scope"], g["request_type"]) != (
                    t.emergency, t.out_of_scope, r.type):
                print(f"  {c['id']}: gold {g['emergency']}/{g['out_of_scope']}/{g['request_type']}"
                      f"  predicted {t.emergency}/{t.out_of_scope}/{r.type}  "
                      f"{t.emergency_triggers} {t.out_of_scope_triggers} {r.evidence}")
        print()


def bench_beijing(show_errors: bool) -> None:
    path = SHARED_DATA / "messages" / "beijing_messages_train.csv"
    if not path.exists():
        print(f"skipped: {path} is missing")
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("type") in BEIJING_MAP]
    t0 = time.perf_counter()
    triaged = [triage(r["text"]) for r in rows]
    results = [request_type(r["text"], triage_result=t) for r, t in zip(rows, triaged, strict=True)]
    per_msg_ms = (time.perf_counter() - t0) / len(rows) * 1000
    gold = [BEIJING_MAP[r["type"]] for r in rows]
    pred = [_bucket(r.type) for r in results]
    no_cue = sum(not r.cues for r in results)
    print(f"beijing_messages_train.csv: {len(rows)} messages, {per_msg_ms:.2f} ms per message")
    print("  mapping: 建言→意见建议, 咨询→咨询, 投诉/求助←投诉|求助|举报")
    print(f"request type accuracy {accuracy(gold, pred):.3f}  "
          f"(majority class {max(Counter(gold).values()) / len(gold):.3f}; "
          f"{no_cue} messages with no cue at all fell back to the prior)")
    for label in BEIJING_LABELS:
        s = label_score(gold, pred, label)
        print(f"  {_pad(label, 10)}precision {s.precision:.2f}  recall {s.recall:.2f}")
    print("\n".join(_confusion_table(gold, pred, BEIJING_LABELS)))
    em = Counter(t.emergency for t in triaged if t.emergency)
    oos = Counter(t.out_of_scope for t in triaged if t.out_of_scope)
    print(f"triage flags on these written messages (written after the fact, not live calls, so "
          f"mostly past events or general talk): emergency {sum(em.values())} {dict(em)}, "
          f"out of scope {sum(oos.values())} {dict(oos)}")
    if show_errors:
        for r, g, p, res in list(zip(rows, gold, pred, results, strict=True))[:2000]:
            if g != p:
                print(f"  gold {g} predicted {p} {res.evidence}: {r['text'][:80]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true", help="print every miss")
    args = parser.parse_args()
    bench_calls(args.show_errors)
    bench_beijing(args.show_errors)


if __name__ == "__main__":
    main()
