from __future__ import annotations

import pytest

from asr.engine import BASE_PROMPT, build_prompt
from asr.normalize import clean_segment, collapse_repeats, is_hallucination, normalize_text


@pytest.mark.parametrize("raw,expected", [
    ("我們這裡停水了,請問怎麼辦?", "我们这里停水了，请问怎么办？"),
    ("電話１３８ ００１３", "电话138 0013"),
    ("金额是1,000元", "金额是1,000元"),
    ("  你 好  ", "你好"),
])
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_repetition_loops_are_collapsed_but_short_repeats_kept() -> None:
    assert collapse_repeats("好的好的好的好的好的，再见") == "好的，再见"
    assert collapse_repeats("谢谢谢谢") == "谢谢谢谢"
    assert collapse_repeats("哈" * 40) == "哈"


@pytest.mark.parametrize("text", ["字幕by索兰娅", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
                                  "谢谢观看！", "。。。", ""])
def test_known_hallucinations_are_dropped(text: str) -> None:
    assert is_hallucination(text)
    assert clean_segment(text) == ""


def test_real_speech_is_kept() -> None:
    assert clean_segment("我要投诉一个健身房") == "我要投诉一个健身房"


def test_prompt_carries_hotwords_once() -> None:
    assert build_prompt(None) == BASE_PROMPT
    prompt = build_prompt(["越秀区", "好利来", "越秀区", " "])
    assert prompt.count("越秀区") == 1 and "好利来" in prompt
    assert len(build_prompt(["很长的名字" * 10] * 20)) <= 220


def test_cer_normalises_both_sides() -> None:
    from asr.metrics import cer, edit_distance

    assert edit_distance("abc", "axc") == 1 and edit_distance("", "ab") == 2
    assert cer("电话一三八，幺二", "電話138 12") == 0.0
    assert cer("甚至出现交易", "甚至出现") == pytest.approx(2 / 6)
