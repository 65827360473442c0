"""Text out of Whisper, made fit for the operator and the form filler: Simplified Chinese,
Chinese punctuation, ASCII digits, and no hallucinated subtitle credits or repetition loops."""

from __future__ import annotations

import re

import zhconv

# Strings Whisper is known to invent on silence, music or noise (subtitle credits, video-site
# boilerplate); a segment containing one is dropped whole.
HALLUCINATIONS = (
    "字幕", "by索兰娅", "请不吝点赞", "点赞订阅", "订阅转发", "打赏支持", "明镜与点点",
    "谢谢观看", "感谢观看", "优优独播剧场", "中文字幕", "小铃铛", "YoYo Television",
    "Amara.org", "志愿者", "李宗盛",
)
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_PUNCT = str.maketrans({"?": "？", "!": "！", ";": "；"})
_SPACE_BETWEEN_CJK = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def to_simplified(text: str) -> str:
    return zhconv.convert(text, "zh-cn")


def collapse_repeats(text: str, max_repeats: int = 3) -> str:
    """Cut Whisper's repetition loops down to one unit: a 2–12 character unit repeated more
    than ``max_repeats`` times in a row ("好的好的好的好的…"), or one character repeated more
    than 7 times (people do say "对对对对")."""
    text = re.sub(r"(.)\1{7,}", r"\1", text, flags=re.DOTALL)
    return re.sub(rf"(.{{2,12}}?)\1{{{max_repeats},}}", r"\1", text, flags=re.DOTALL)


def is_hallucination(text: str) -> bool:
    stripped = re.sub(r"[\s\W_]+", "", text)
    if not stripped:
        return True
    return any(h.lower() in text.lower() for h in HALLUCINATIONS)


def normalize_text(text: str) -> str:
    """Simplified characters, full-width Chinese punctuation, ASCII digits, trimmed spaces."""
    text = to_simplified(text).translate(_FULLWIDTH_DIGITS)
    text = re.sub(r"(?<=[^\d\s]),|,(?=[^\d\s])", "，", text)  # keep 1,000 as it is
    text = text.translate(_PUNCT)
    text = _SPACE_BETWEEN_CJK.sub("", text).strip()
    return collapse_repeats(text)


def clean_segment(text: str) -> str:
    """Normalised text, or "" when the segment is a known hallucination."""
    text = normalize_text(text)
    return "" if is_hallucination(text) else text
