"""The training report as text for a person, and the files saved beside the model."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from importlib.metadata import version
from typing import Any

from classifier.training import TrainingResult


def format_report(report: dict[str, Any]) -> str:
    """A readable summary of :func:`classifier.training.train`'s report."""
    data, split = report["data"], report["split"]
    lines = [
        f"data: {data['source']}  ({data['rows_used']} labelled rows used of {data['rows_read']};"
        f" {data['skipped_unlabelled']} without a label, {data['skipped_empty_text']} without"
        " text" + (f"; a sample of {data['sampled_from']}" if data["sampled_from"] else "") + ")",
        f"labels: {', '.join(report['label_columns'])} ({report['levels']} level(s), "
        f"{report['classes']} classes); text: {', '.join(report['text_columns'])}",
        f"split (seed {split['seed']}): {split['train']} train, {split['test']} held out"
        + (f"; {split['train_only_classes']} class(es) with one example only trained on"
           if split["train_only_classes"] else ""),
        f"method chosen on out-of-fold predictions of {split['calibration']} training rows "
        f"({split['calibration_folds']} folds):",
    ]
    for c in report["selection"]:
        weight = f" (TF-IDF weight {c['weight']})" if c["method"] == "ensemble" else ""
        variant = f" [{c['tfidf_features']}]" if c.get("tfidf_features") else ""
        mark = "  <- chosen" if (c["method"], c.get("tfidf_features")) == (
            report["method"], report.get("tfidf_features")) else ""
        lines.append(f"  {c['method']}{variant}{weight}: accuracy {c['accuracy']:.3f}, "
                     f"log-loss {c['log_loss']:.3f}{mark}")
    prior = report.get("taxonomy_prior")
    if prior and "unused" in prior:
        lines.append(f"taxonomy prior: not used ({prior['unused']})")
    elif prior:
        lines.append(f"taxonomy prior: weight {prior['weight']} chosen out of fold (accuracy "
                     f"{prior['accuracy_without']:.3f} without, {prior['accuracy_with']:.3f} "
                     f"with; the taxonomy's {prior['prototypes']} prototypes alone "
                     f"{prior['accuracy_alone']:.3f})")
    tuned = report.get("finetuned")
    if tuned:
        lines.append(f"fine-tuned e5 encoder blended in at weight {tuned['weight']}: held-out "
                     f"level-1 accuracy of the frozen heads alone "
                     f"{tuned['held_out_accuracy_frozen_heads']:.3f}")
    elif report.get("requested_method") == "finetune":
        lines.append("fine-tuned e5 encoder blended in (the held-out figures are the frozen "
                     "heads' alone)")
    lines.append(f"calibration: temperature per level {report['temperatures']}"
                 + (f", SVM margin scale {report['svm_scale']}" if report["svm_scale"] else ""))
    for level, m in report["held_out"].items():
        lines += [
            f"held out, {level} ({m['classes']} classes): accuracy {m['accuracy']:.3f}  "
            f"macro-F1 {m['macro_f1']:.3f}  top-3 {m['top3_accuracy']:.3f}  "
            f"ECE {m['ece_before']:.3f} -> {m['ece_after']:.3f} after temperature scaling",
        ]
        if m["most_confused"]:
            lines.append("  most confused (gold -> predicted: count):")
            lines += [f"    {p['gold']} -> {p['predicted']}: {p['count']}"
                      for p in m["most_confused"]]
    t = report["timing"]
    lines.append("time: " + ", ".join(f"{k} {v}" for k, v in t.items()))
    lines.append(f"final model: {report['final_model']}")
    return "\n".join(lines)


def confusion_csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return "\ufeff" + out.getvalue()  # BOM: opens in Excel


def manifest(result: TrainingResult, e5_model: str | None) -> dict[str, Any]:
    """What ``copilot classifier info`` prints and the app checks before loading the model."""
    r = result.report
    return {
        "method": r["method"],
        "finetuned": result.model.finetuned is not None,
        "taxonomy_prior_weight": result.model.prior.weight if result.model.prior else 0.0,
        "ensemble_weight_tfidf": r["ensemble_weight_tfidf"],
        "levels": r["levels"],
        "label_columns": r["label_columns"],
        "text_columns": r["text_columns"],
        "classes": [list(c) for c in result.model.classes],
        "created_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "data": {"file": r["data"]["source"], "sha256": r["data"]["sha256"],
                 "rows_used": r["data"]["rows_used"]},
        "temperatures": r["temperatures"],
        "metrics": {level: {k: v for k, v in m.items() if k != "most_confused"}
                    for level, m in r["held_out"].items()},
        "encoder": e5_model if result.model.needs_encoder else None,
        "scikit_learn": version("scikit-learn"),
    }


def saved_files(result: TrainingResult) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        "report.json": json.dumps(result.report, ensure_ascii=False, indent=2)}
    for depth, rows in result.confusion.items():
        files[f"confusion_level{depth}.csv"] = confusion_csv(rows)
    return files
