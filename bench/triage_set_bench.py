"""Triage benchmark on bench/data/triage_calls.jsonl (calls written for this bench).

Three groups: emergencies (fire, gas, injury / illness, violence in progress, traffic accidents
with injuries; expected line 119 / 120 / 110 / 122), matters the hotline does not accept
(诉讼 / 仲裁 / 行政复议 / 信访 / 纪检监察) and ordinary calls, many of them hard negatives
(fire-safety questions, past events, '吵死人了', an injured bird, broken glass, gas bills).

Reports emergency recall (any line; goal 1.0), line accuracy on the emergencies, the false-alarm
rate on ordinary and out-of-scope calls (goal <= 2 %), out-of-scope precision / recall (kind
must match) and lists every miss and false alarm.

    .venv/bin/python bench/triage_set_bench.py
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.triage import EMERGENCY_LINES, OUT_OF_SCOPE_KINDS, triage

DATA = Path(__file__).resolve().parent / "data" / "triage_calls.jsonl"


def _caller(call: dict) -> str:
    return " / ".join(t["text"] for t in call["turns"] if t["speaker"] == "caller")


def main() -> None:
    calls = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    t0 = time.perf_counter()
    results = [triage(c["turns"]) for c in calls]
    elapsed = time.perf_counter() - t0
    groups = Counter(c["group"] for c in calls)
    print(f"{len(calls)} calls ({', '.join(f'{g} {n}' for g, n in groups.items())}), "
          f"{elapsed / len(calls) * 1000:.2f} ms per call\n")

    emerg = [(c, r) for c, r in zip(calls, results, strict=True) if c["group"] == "emergency"]
    caught = [(c, r) for c, r in emerg if r.emergency]
    line_ok = [(c, r) for c, r in emerg if r.emergency == c["expected"]["emergency"]]
    print("emergencies")
    print(f"  {'line':<6}{'gold':>6}{'caught':>8}{'right line':>12}")
    for line in EMERGENCY_LINES:
        sub = [(c, r) for c, r in emerg if c["expected"]["emergency"] == line]
        print(f"  {line:<6}{len(sub):>6}{sum(bool(r.emergency) for _, r in sub):>8}"
              f"{sum(r.emergency == line for _, r in sub):>12}")
    recall = len(caught) / len(emerg)
    in_notify = sum(c["expected"]["emergency"] in (r.emergency, *r.also_notify) for c, r in emerg)
    print(f"  recall (any line) {recall:.3f} ({len(caught)}/{len(emerg)}, goal 1.0)"
          f"  line accuracy {len(line_ok) / len(emerg):.3f} ({len(line_ok)}/{len(emerg)});"
          f" expected line as primary or in also_notify {in_notify}/{len(emerg)}")

    others = [(c, r) for c, r in zip(calls, results, strict=True) if c["group"] != "emergency"]
    ordinary = [(c, r) for c, r in others if c["group"] == "ordinary"]
    hard = [(c, r) for c, r in ordinary if c["note"].startswith("hard")]
    false_ord = [(c, r) for c, r in ordinary if r.emergency]
    false_all = [(c, r) for c, r in others if r.emergency]
    print(f"  false alarms: ordinary {len(false_ord)}/{len(ordinary)} = "
          f"{len(false_ord) / len(ordinary):.1%} (goal <= 2 %), of them hard negatives "
          f"{sum(bool(r.emergency) for _, r in hard)}/{len(hard)}; "
          f"with out-of-scope calls {len(false_all)}/{len(others)} = "
          f"{len(false_all) / len(others):.1%}\n")

    print("out of scope")
    print(f"  {'kind':<10}{'gold':>6}{'pred':>6}{'correct':>8}")
    gold_n = pred_n = correct_n = 0
    for kind in OUT_OF_SCOPE_KINDS:
        g = sum(c["expected"]["out_of_scope"] == kind for c in calls)
        p = sum(r.out_of_scope == kind for r in results)
        ok = sum(c["expected"]["out_of_scope"] == kind == r.out_of_scope
                 for c, r in zip(calls, results, strict=True))
        gold_n, pred_n, correct_n = gold_n + g, pred_n + p, correct_n + ok
        print(f"  {kind:<{10 - len(kind)}}{g:>6}{p:>6}{ok:>8}")
    flagged = sum(bool(r.out_of_scope) for c, r in zip(calls, results, strict=True)
                  if c["expected"]["out_of_scope"])
    print(f"  precision {correct_n / max(pred_n, 1):.3f}  recall {correct_n / max(gold_n, 1):.3f}"
          f"  (kind must match; flagged with any kind {flagged}/{gold_n})\n")

    print("misses and wrong lines (emergencies):")
    bad = [(c, r) for c, r in emerg if r.emergency != c["expected"]["emergency"]]
    for c, r in bad:
        also = f" (also {','.join(r.also_notify)})" if r.also_notify else ""
        print(f"  {c['id']} want {c['expected']['emergency']} got {r.emergency}{also}  "
              f"[{c['note']}] {_caller(c)}")
        for note in r.emergency_notes:
            print(f"      note: {note}")
    if not bad:
        print("  none")
    print("false alarms (non-emergency calls flagged):")
    for c, r in false_all:
        print(f"  {c['id']} got {r.emergency} {r.emergency_triggers}  [{c['note']}] {_caller(c)}")
    if not false_all:
        print("  none")
    print("out-of-scope errors:")
    oos_bad = [(c, r) for c, r in zip(calls, results, strict=True)
               if r.out_of_scope != c["expected"]["out_of_scope"]]
    for c, r in oos_bad:
        print(f"  {c['id']} want {c['expected']['out_of_scope']} got {r.out_of_scope}  "
              f"{_caller(c)}")
    if not oos_bad:
        print("  none")


if __name__ == "__main__":
    main()
