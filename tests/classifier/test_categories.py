"""Cold-start three-level classification with the real e5 encoder."""

from __future__ import annotations

import pytest

from classifier.categories import CategoryClassifier
from knowledge_base.db import Database
from knowledge_base.importer import import_table

pytestmark = pytest.mark.slow

TAXONOMY = """code,level1,level2,level3,description
01.01.001,住房,物业管理,物业服务,物业不作为、小区卫生差、电梯坏了没人修
01.01.002,住房,物业管理,物业收费,物业费涨价、乱收停车费
02.01.001,消费,预付卡,退费纠纷,健身房美容店关门跑路、卡里余额不退
02.02.001,消费,食品安全,餐饮卫生,饭店不干净、吃坏肚子、外卖有异物
03.01.001,环境,噪声,施工噪声,工地夜间施工扰民
"""
ANSWERS = """id,question,answer,level1,level2,level3
a1,小区电梯坏了物业不修怎么办,请向物业服务企业报修，拖延的可向住建部门投诉。,住房,物业管理,物业服务
"""


@pytest.fixture
def model(db: Database, encoder) -> CategoryClassifier:  # type: ignore[no-untyped-def]
    with db.session() as s:
        import_table(s, "taxonomy", TAXONOMY.encode(), "t.csv")
        import_table(s, "answers", ANSWERS.encode(), "a.csv")
    return CategoryClassifier.build(db, encoder)


@pytest.mark.parametrize("text,code", [
    ("我办的健身卡，店突然关门了，老板联系不上，钱退不回来", "02.01.001"),
    ("半夜一点了工地还在打桩，吵得孩子睡不着", "03.01.001"),
    ("昨天在一家饭馆吃完就拉肚子了，后厨特别脏", "02.02.001"),
    ("我们楼的电梯坏了一个星期了没人来修", "01.01.001"),
])
def test_top_class_at_every_level(model: CategoryClassifier, text: str, code: str) -> None:
    pred = model.predict(text)
    assert pred.category is not None and pred.category.code == code
    assert pred.level2[0].code == code.rsplit(".", 1)[0]
    assert pred.level1[0].code == code.split(".")[0]
    assert pred.level3[0].path == model.paths[model.codes.index(code)]


def test_scores_are_probabilities_top3_sorted(model: CategoryClassifier) -> None:
    pred = model.predict("物业费一下子涨了很多")
    for level in (pred.level1, pred.level2, pred.level3):
        assert 1 <= len(level) <= 3
        scores = [c.score for c in level]
        assert scores == sorted(scores, reverse=True)
        assert all(0 < s <= 1 for s in scores) and sum(scores) <= 1 + 1e-6
    with pytest.raises(ValueError, match="empty"):
        model.predict("  ")


def test_empty_taxonomy_predicts_nothing(db: Database, encoder) -> None:  # type: ignore[no-untyped-def]
    assert CategoryClassifier.build(db, encoder).predict("随便问问").category is None


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, encoder) -> None:  # type: ignore[no-untyped-def]
        self.encoder, self.count = encoder, 0

    def queries(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.count += len(texts)
        return self.encoder.queries(texts)


def test_prototype_cache_survives_a_restart_and_damage(db: Database, encoder,  # type: ignore[no-untyped-def]
                                                       tmp_path) -> None:
    with db.session() as s:
        import_table(s, "taxonomy", TAXONOMY.encode(), "t.csv")
        import_table(s, "answers", ANSWERS.encode(), "a.csv")
    cache = tmp_path / "protos.npz"
    first = CountingEncoder(encoder)
    built = CategoryClassifier.build(db, first, cache=cache)
    assert first.count > 0 and cache.exists()
    again = CountingEncoder(encoder)
    rebuilt = CategoryClassifier.build(db, again, cache=cache)
    assert again.count == 0
    text = "工地晚上施工太吵了"
    assert rebuilt.predict(text).category == built.predict(text).category
    cache.write_bytes(b"not a numpy file")
    damaged = CountingEncoder(encoder)
    CategoryClassifier.build(db, damaged, cache=cache)
    assert damaged.count > 0  # encoded again (each distinct text once) and the file rewritten
    healed = CountingEncoder(encoder)
    CategoryClassifier.build(db, healed, cache=cache)
    assert healed.count == 0
