"""The e5 encoder fine-tuned as a classifier (method finetune): training, saving, use in the app."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from classifier.finetune import FineTunedHead, fine_tune
from classifier.trained import model_dir, read_manifest
from classifier.training import TrainingError, load_labelled, train
from copilot.settings import Settings
from tests.classifier.test_training import MESSAGES, write_history


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return write_history(tmp_path / "history.csv")


def test_fine_tune_learns_and_leaves_the_search_encoder_alone(encoder, tmp_path: Path) -> None:
    classes = sorted(MESSAGES)
    texts = [t for c in classes for t in MESSAGES[c]]
    y = [i for i, c in enumerate(classes) for _ in MESSAGES[c]]
    base = encoder.model[0].auto_model
    before = base.encoder.layer[0].attention.self.query.weight.detach().clone()
    query_before = encoder.queries(["小区路灯坏了没人修"])

    head = fine_tune(texts, y, len(classes), encoder, seed=0, epochs=10)

    # the search encoder is untouched; the copy shares its (frozen) embeddings only
    assert torch.equal(base.encoder.layer[0].attention.self.query.weight, before)
    assert head._net.body.embeddings is base.embeddings
    assert head._net.body.encoder is not base.encoder
    encoder._cache.clear()
    assert np.allclose(encoder.queries(["小区路灯坏了没人修"]), query_before, atol=1e-6)
    # it learnt the classes: untrained, every class would get about a third
    probs = head.predict_proba(texts, encoder)
    assert probs.shape == (len(texts), len(classes))
    assert np.allclose(probs.sum(axis=1), 1.0)
    true_class = probs[np.arange(len(texts)), y]
    assert true_class.mean() > 0.5, true_class.mean()
    assert (probs.argmax(axis=1) == np.array(y)).mean() >= 0.8
    # only the trained layers are saved, in float16; a loaded head predicts the same
    assert head.layers and all(name.startswith("encoder.") for name in head.layers)
    assert all(v.dtype == np.float16 for v in head.layers.values())
    joblib.dump(head, tmp_path / "head.joblib")
    loaded = joblib.load(tmp_path / "head.joblib")
    assert isinstance(loaded, FineTunedHead) and loaded._net is None
    assert np.allclose(loaded.predict_proba(texts[:6], encoder), probs[:6], atol=0.02)


def test_finetune_needs_the_encoder(history: Path) -> None:
    data = load_labelled(history, ["内容"], ["一级分类"])
    with pytest.raises(TrainingError, match="needs the e5 encoder"):
        train(data, "finetune")


def test_cli_finetune_then_classify(history: Path, cli_home: Path) -> None:
    from copilot.cli import app
    from copilot.context import AppContext

    runner = CliRunner()
    out = runner.invoke(app, ["classifier", "train", str(history), "--text", "标题,内容",
                              "--label", "一级分类", "--method", "finetune", "--epochs", "1"])
    assert out.exit_code == 0, out.output
    assert "fine-tuned e5 encoder blended in at weight 0.3" in out.output
    manifest = read_manifest(cli_home)
    assert manifest is not None and manifest["finetuned"] is True
    report = json.loads((model_dir(cli_home) / "report.json").read_text(encoding="utf-8"))
    assert report["requested_method"] == "finetune" and report["finetuned"]["weight"] == 0.3
    assert 0 <= report["finetuned"]["held_out_accuracy_frozen_heads"] <= 1

    ctx = AppContext(Settings(home=cli_home, env="test", load_demo=False))
    try:
        found = ctx.classifier.trained()
        assert found is not None and found[0].finetuned is not None
        result = ctx.classifier.classify({"text": "公司拖欠我两个月工资，老板电话也不接"})
        assert result["model"] == "trained"
        scores = [c["score"] for c in result["levels"]["level1"]]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)
        assert result["category"]["path"][0] in MESSAGES
    finally:
        ctx.close()


def test_dispatch_does_not_fine_tune(tmp_path: Path, cli_home: Path) -> None:
    from copilot.cli import app

    rows = [("", text, unit) for unit, texts in (("住建局", MESSAGES["城乡建设"]),
                                                 ("交通局", MESSAGES["交通运输"]))
            for text in texts]
    path = write_history(tmp_path / "units.csv", rows)
    out = CliRunner().invoke(app, ["dispatch", "train", str(path), "--text", "内容",
                                   "--unit", "一级分类", "--method", "finetune"])
    assert out.exit_code == 2 and "does not fine-tune" in out.output


def test_fine_tuned_head_beside_a_tfidf_head(history: Path, encoder) -> None:
    # auto may choose TF-IDF alone: the blend then has no e5 head to read vectors for
    data = load_labelled(history, ["内容"], ["一级分类"])
    model = train(data, "tfidf").model
    assert model.e5_head is None and not model.needs_encoder
    classes = [c[0] for c in model.classes]
    model.finetuned = fine_tune(data.texts, [classes.index(label[0]) for label in data.labels],
                                len(classes), encoder, seed=0, epochs=1)
    model.finetune_weight = 0.3
    assert model.needs_encoder and not model.reads_vectors
    texts = ["公司拖欠我两个月工资", "小区路灯坏了"]
    frozen = replace(model, finetuned=None).raw_proba(texts)
    tuned = model.finetuned.predict_proba(texts, encoder)
    blended = model.raw_proba(texts, encoder=encoder)
    assert np.allclose(blended, 0.7 * frozen + 0.3 * tuned)
    with pytest.raises(ValueError, match="needs the e5 encoder"):
        model.raw_proba(texts)
