"""The taxonomy as a prior of the trained category model (classifier/taxonomy_prior.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from classifier.categories import CategoryClassifier
from classifier.report import format_report, manifest, saved_files
from classifier.taxonomy_prior import PRIOR_WEIGHTS, TaxonomyPrior
from classifier.text_features import e5_embedder, e5_features
from classifier.trained import load_model, model_dir, save_model
from classifier.training import load_labelled, train
from knowledge_base.db import Database
from knowledge_base.importer import import_table
from tests.classifier.test_training import write_history

TAXONOMY = """code,level1,level2,level3
01.01.001,城乡建设,市政设施,路灯维修
01.01.002,城乡建设,市政设施,井盖缺失
01.02.001,城乡建设,物业管理,电梯故障
06.01.001,交通运输,公共交通,公交服务
06.02.001,交通运输,出租汽车,出租车拒载
15.01.001,劳动和社会保障,劳动关系,拖欠工资
15.02.001,劳动和社会保障,社会保险,社保缴纳
09.01.001,农村农业,农业生产,种子化肥
""".encode()
CLASSES = [("交通运输",), ("劳动和社会保障",), ("城乡建设",)]


@pytest.fixture
def cold(db: Database, encoder) -> CategoryClassifier:  # type: ignore[no-untyped-def]
    with db.session() as session:
        import_table(session, "taxonomy", TAXONOMY, "taxonomy.csv")
    return CategoryClassifier.build(db, encoder)


def test_label_paths_own_the_prototypes_below_them(cold: CategoryClassifier,
                                                   encoder) -> None:  # type: ignore[no-untyped-def]
    prior = TaxonomyPrior.of(cold, CLASSES)
    assert prior is not None and prior.n_classes == 3 and prior.dim == encoder.dim
    assert np.bincount(prior.owner).tolist() == [2, 2, 3]  # 农村农业 is not a trained class
    texts = ["小区门口的路灯坏了好几天", "公司三个月没发工资了", "出租车司机不打表还拒载"]
    probs = prior.proba(e5_embedder(encoder)(texts))
    assert probs.shape == (3, 3) and np.allclose(probs.sum(axis=1), 1.0)
    assert [CLASSES[i][0] for i in probs.argmax(axis=1)] == ["城乡建设", "劳动和社会保障",
                                                              "交通运输"]
    # a class with no taxonomy path cannot be scored: no prior at all
    assert TaxonomyPrior.of(cold, [*CLASSES, ("不存在的分类",)]) is None
    # three-level labels take the prototypes of their own leaf only
    deep = TaxonomyPrior.of(cold, [("城乡建设", "市政设施", "路灯维修"),
                                   ("交通运输", "公共交通", "公交服务")])
    assert deep is not None and np.bincount(deep.owner).tolist() == [1, 1]


def test_the_weight_is_chosen_out_of_fold(cold: CategoryClassifier, encoder,  # type: ignore[no-untyped-def]
                                          tmp_path: Path) -> None:
    prior = TaxonomyPrior.of(cold, CLASSES)
    assert prior is not None
    embed = e5_embedder(encoder)
    texts = ["路灯不亮了", "井盖丢了", "拖欠工资", "没交社保", "公交车不来", "出租车拒载"]
    gold = np.array([2, 2, 1, 1, 0, 0])
    query = embed(texts)
    # heads that are always wrong in the same way: the prior can only help, so it gets a share
    wrong = np.tile([0.2, 0.2, 0.6], (6, 1))
    chosen = prior.choose(wrong, query, gold)
    assert chosen["weight"] in PRIOR_WEIGHTS and chosen["weight"] > 0
    assert chosen["accuracy_with"] > chosen["accuracy_without"] == pytest.approx(2 / 6, abs=1e-3)
    blended = prior.blend(wrong, query)
    assert np.allclose(blended, (1 - prior.weight) * wrong + prior.weight * prior.proba(query))
    # labels the taxonomy disagrees with, and heads already right and sure: the prior is left
    # out (it could only lower the gold class's probability)
    shifted = (gold + 1) % 3
    right = np.eye(3)[shifted] * 0.97 + 0.01
    assert prior.choose(right, query, shifted)["weight"] == 0.0
    assert prior.blend(right, query) is right


def test_training_keeps_the_prior_in_the_saved_model(cold: CategoryClassifier, encoder,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    history = write_history(tmp_path / "history.csv")
    data = load_labelled(history, ["标题", "内容"], ["一级分类"])
    embed = e5_embedder(encoder)
    result = train(data, "tfidf", seed=0, embed=embed, taxonomy=cold)
    chosen = result.report["taxonomy_prior"]
    assert chosen["weight"] in PRIOR_WEIGHTS and chosen["prototypes"] == 7
    assert chosen["accuracy_with"] >= chosen["accuracy_without"]
    assert "taxonomy prior: weight" in format_report(result.report)
    model = result.model
    if chosen["weight"] == 0:
        assert model.prior is None
    # whatever was chosen, a model with the prior blends it as said, and keeps it when saved
    model.prior = TaxonomyPrior.of(cold, model.classes)
    model.prior.weight = 0.4  # type: ignore[union-attr]
    assert model.reads_vectors and model.needs_encoder  # the prior reads the e5 vector
    texts = ["楼道的灯坏了没人修", "驾校收钱不安排练车"]
    vectors = e5_features(texts, embed)
    base = model.tfidf_head.predict_proba(model.vectorizer.transform(texts))  # type: ignore[union-attr]
    expected = 0.6 * base + 0.4 * model.prior.proba(vectors)  # type: ignore[union-attr]
    assert np.allclose(model.raw_proba(texts, embed=embed), expected)
    home = tmp_path / "home"
    save_model(home, model, manifest(result, None), saved_files(result))
    loaded, _ = load_model(home)  # type: ignore[misc]
    assert loaded.prior is not None and loaded.prior.weight == 0.4
    assert np.allclose(loaded.raw_proba(texts, embed=embed), expected)
    with pytest.raises(ValueError, match="needs the e5 encoder"):
        loaded.raw_proba(texts)


def test_labels_outside_the_taxonomy_train_without_it(cold: CategoryClassifier, encoder,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    rows = [(text[:6], text, {"城乡建设": "住建", "交通运输": "交通", "劳动和社会保障": "人社"}
             [label]) for label, text in _rows()]
    data = load_labelled(write_history(tmp_path / "h.csv", rows), ["内容"], ["一级分类"])
    result = train(data, "tfidf", seed=0, embed=e5_embedder(encoder), taxonomy=cold)
    assert result.report["taxonomy_prior"] == {
        "weight": 0.0, "unused": "some label paths are not taxonomy paths"}
    assert result.model.prior is None and not result.model.reads_vectors
    assert "taxonomy prior: not used" in format_report(result.report)


def test_cli_trains_with_the_knowledge_base_taxonomy(cli_home: Path, tmp_path: Path) -> None:
    from copilot.cli import app

    taxonomy = tmp_path / "taxonomy.csv"
    taxonomy.write_bytes(TAXONOMY)
    history = write_history(tmp_path / "history.csv")
    runner = CliRunner()
    imported = runner.invoke(app, ["kb", "import", "taxonomy", str(taxonomy)])
    assert imported.exit_code == 0, imported.output
    out = runner.invoke(app, ["classifier", "train", str(history), "--text", "标题,内容",
                              "--label", "一级分类", "--method", "e5"])
    assert out.exit_code == 0, out.output
    assert "taxonomy prior: weight" in out.output
    report = json.loads((model_dir(cli_home) / "report.json").read_text(encoding="utf-8"))
    assert report["taxonomy_prior"]["prototypes"] == 7
    saved = json.loads((model_dir(cli_home) / "manifest.json").read_text(encoding="utf-8"))
    assert saved["taxonomy_prior_weight"] == report["taxonomy_prior"]["weight"]
    off = runner.invoke(app, ["classifier", "train", str(history), "--text", "内容",
                              "--label", "一级分类", "--method", "e5", "--no-taxonomy-prior"])
    assert off.exit_code == 0, off.output
    assert "taxonomy prior" not in off.output


def _rows() -> list[tuple[str, str]]:
    from tests.classifier.test_training import MESSAGES

    return [(label, text) for label, texts in MESSAGES.items() for text in texts]
