"""Work-order form filler benchmark on ../shared/data/calls/calls.jsonl.

Each call's caller and agent turns are fed to the filler as text (no audio); the final form is
compared with gold.entities after light normalisation (width, case, spaces, punctuation).
Per field: filled-correct, filled-wrong (filled but not the gold value, gold set or not),
missed (gold set, left empty), precision, recall and accuracy over all calls.

    .venv/bin/python bench/form_bench.py [--show-errors]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared
from copilot.form.fields import FIELD_NAMES
from copilot.form.filler import extract_call
from copilot.form.scoring import normalize, score_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true", help="print every wrong field")
    args = parser.parse_args()

    path = need_shared("calls", "calls.jsonl")
    calls = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    t0 = time.perf_counter()
    predictions = [extract_call(c["turns"]).as_dict() for c in calls]
    elapsed = time.perf_counter() - t0
    golds = [c["gold"]["entities"] for c in calls]
    report = score_calls(predictions, golds)

    print(f"{len(calls)} calls, {elapsed / len(calls) * 1000:.1f} ms per call\n")
    print(f"{'field':<15}{'gold':>5}{'correct':>8}{'wrong':>6}{'missed':>7}"
          f"{'prec':>7}{'recall':>7}{'acc':>7}")
    for name in FIELD_NAMES:
        f = report.fields[name]
        print(f"{name:<15}{f.gold:>5}{f.correct:>8}{f.wrong:>6}{f.missed:>7}"
              f"{f.precision:>7.2f}{f.recall:>7.2f}{f.accuracy:>7.2f}")
    print(f"\noverall field accuracy {report.accuracy:.3f}  "
          f"(micro precision {report.precision:.3f}, recall {report.recall:.3f})")
    if args.show_errors:
        print()
        for call, pred, gold in zip(calls, predictions, golds, strict=True):
            for name in FIELD_NAMES:
                if normalize(name, pred[name]) != normalize(name, gold[name]):
                    print(f"{call['id']}  {name:<15} got {pred[name]!r:<28} want {gold[name]!r}")


if __name__ == "__main__":
    main()
