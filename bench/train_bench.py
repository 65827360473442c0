"""Trained category model: the methods compared on the shared labelled messages.

- Beijing messages, level 1 = ``domain`` (27 classes occur, rows without a domain skipped),
- Teddy Cup labelled messages, level 1 (7 classes; the file has no level-2/3 labels),
- Beijing as a constructed three-level hierarchy ``domain / type / sentiment`` (not a real
  taxonomy: it only measures what rolling leaf probabilities up costs at level 1).

For each: held-out accuracy, macro-F1, top-3, ECE of the top-1 score before/after temperature
scaling, training time and prediction time (batch, and one text with live encoding). e5
embeddings of a whole file are cached in /tmp/hotline-train-cache (the first run encodes for
about ten minutes on two cores).

    .venv/bin/python bench/train_bench.py [--methods tfidf,e5,ensemble] [--finetune-probe]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import need_shared, summarize_ms
from bench.train_cache import cached_embedder
from classifier.text_features import Embed, e5_embedder
from classifier.training import LabelledData, load_labelled, train
from copilot.settings import Settings
from retrieval.encoder import load_encoder


def run(name: str, data: LabelledData, methods: list[str], embed: Embed,
        live_embed: Embed) -> None:
    print(f"== {name}: {len(data.texts)} rows, {len(set(data.labels))} classes")
    for method in methods:
        result = train(data, method, seed=0, embed=embed, progress=lambda _m: None)
        r = result.report
        t = r["timing"]
        weight = f" w_tfidf={r['ensemble_weight_tfidf']}" if method == "ensemble" else ""
        print(f"-- {method}{weight}  fit {t['fit_s']} s (+ final {t['final_fit_s']} s), "
              f"predict {t['predict_ms_per_text']} ms/text in batch"
              + (f", encode all {t['encode_s']} s (cached when fast)" if "encode_s" in t else ""))
        for level, m in r["held_out"].items():
            print(f"   {level} ({m['classes']} cl): acc {m['accuracy']:.3f}  macro-F1 "
                  f"{m['macro_f1']:.3f}  top-3 {m['top3_accuracy']:.3f}  "
                  f"ECE {m['ece_before']:.3f} -> {m['ece_after']:.3f}  T={r['temperatures']}")
        # texts the encoder has not seen (it remembers what it encoded): one-off variants
        samples = [f"{method}{i}：{text}" for i, text in enumerate(data.texts[:30])]
        times = []
        for text in samples:
            started = time.perf_counter()
            result.model.predict(text, live_embed)
            times.append(time.perf_counter() - started)
        print(f"   one text, live: {summarize_ms(times)}")


def finetune_probe(texts: list[str], model_dir: str, steps: int = 5) -> None:
    """Time a few fine-tuning steps of e5 (batch 16, 256 tokens) to extrapolate an epoch."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    head = torch.nn.Linear(384, 27)
    optim = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=2e-5)
    model.train()
    times = []
    for step in range(steps):
        batch = tokenizer(["query: " + t[:400] for t in texts[step * 16:(step + 1) * 16]],
                          padding=True, truncation=True, max_length=256, return_tensors="pt")
        started = time.perf_counter()
        out = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1)
        pooled = (out * mask).sum(1) / mask.sum(1)
        loss = torch.nn.functional.cross_entropy(head(pooled), torch.zeros(len(pooled),
                                                                           dtype=torch.long))
        loss.backward()
        optim.step()
        optim.zero_grad()
        times.append(time.perf_counter() - started)
    per_step = sorted(times)[len(times) // 2]
    epoch = per_step * len(texts) / 16
    print(f"== fine-tuning e5 probe: {per_step:.1f} s per step of 16 -> one epoch over "
          f"{len(texts)} texts ≈ {epoch / 60:.0f} min on 2 threads")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", default="tfidf,e5,ensemble")
    parser.add_argument("--finetune-probe", action="store_true")
    parser.add_argument("--skip-three-levels", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    methods = args.methods.split(",")
    beijing = need_shared("messages", "beijing_messages_train.csv")
    teddy = need_shared("messages", "teddy2020_labeled_train.csv")
    settings = Settings()
    encoder = load_encoder(str(settings.e5_dir), settings.torch_threads,
                           settings.encoder_batch_size)
    live = e5_embedder(encoder)
    embed = cached_embedder(live)
    bj = load_labelled(beijing, ["text"], ["domain"])
    run("Beijing, level 1 = domain", bj, methods, embed, live)
    run("Teddy labelled, level 1", load_labelled(teddy, ["title", "text"], ["level1"]),
        methods, embed, live)
    if not args.skip_three_levels:
        three = load_labelled(beijing, ["text"], ["domain", "type", "sentiment"])
        run("Beijing, constructed 3 levels domain/type/sentiment", three, ["tfidf"], embed,
            live)
    if args.finetune_probe:
        finetune_probe(bj.texts, str(settings.e5_dir))


if __name__ == "__main__":
    main()
