"""Cold-start category classification on the shared data.

The Teddy Cup taxonomy (names only: 15 / 118 / 517 classes, no descriptions, no answers) is
imported into a fresh home; then the 40 development calls (caller turns) are classified at all
three levels, and the 457 labelled Teddy messages at level 1.

    .venv/bin/python bench/classify_bench.py
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared
from classifier.categories import CategoryClassifier
from copilot.context import AppContext
from copilot.settings import Settings
from knowledge_base.importer import import_table


def main() -> None:
    taxonomy = need_shared("taxonomy", "teddy2020_label_system_3level.csv")
    calls = [json.loads(line) for line in
             need_shared("calls", "calls.jsonl").read_text(encoding="utf-8").splitlines()]
    with need_shared("messages", "teddy2020_labeled_train.csv").open(encoding="utf-8") as fh:
        messages = list(csv.DictReader(fh))
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(Settings(home=Path(tmp), load_demo=False))
        with ctx.db.session() as session:
            import_table(session, "taxonomy", taxonomy.read_bytes(), taxonomy.name)
        model = CategoryClassifier.build(ctx.db, ctx.encoder)
        hits = {1: [0, 0], 2: [0, 0], 3: [0, 0]}  # level: [top-1, top-3]
        started = time.perf_counter()
        for call in calls:
            text = "".join(t["text"] for t in call["turns"] if t["speaker"] == "caller")
            pred = model.predict(text)
            gold = [call["gold"]["level1"], call["gold"]["level2"], call["gold"]["level3"]]
            for depth, top in zip((1, 2, 3), (pred.level1, pred.level2, pred.level3),
                                  strict=True):
                paths = [c.path for c in top]
                hits[depth][0] += paths[:1] == [gold[:depth]]
                hits[depth][1] += gold[:depth] in paths
        per_call = (time.perf_counter() - started) / len(calls) * 1000
        print(f"== 40 dev calls, Teddy taxonomy names only ({per_call:.0f} ms per call)")
        for depth, (top1, top3) in hits.items():
            print(f"level {depth}: accuracy {top1 / len(calls):.3f}  top-3 {top3 / len(calls):.3f}")
        right = 0
        for row in messages:
            text = (row["title"] + "。" + row["text"])[:500]
            right += model.predict(text).level1[0].path[0] == row["level1"]
        print(f"== {len(messages)} Teddy messages, level 1 accuracy {right / len(messages):.3f}")
        ctx.close()


if __name__ == "__main__":
    main()
