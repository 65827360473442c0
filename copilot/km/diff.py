"""What changed between two saved versions of an answer, field by field.

Chinese has no spaces between words, so texts are compared character by character
(``difflib.SequenceMatcher`` opcodes, no junk heuristic) and returned as segments
``{op: equal|insert|delete, text}`` a page can draw with colours; the question forms are
compared as a list (a changed form is one deleted and one inserted line); the other fields
(status, dates, category, unit) are shown as the old value deleted and the new inserted.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from knowledge_base.service import VERSIONED_FIELDS

LABELS = {
    "title": "标题", "questions": "问法", "answer": "答复口径", "category_code": "分类",
    "unit_name": "承办单位", "source": "依据", "request_type": "诉求类型", "status": "状态",
    "effective_from": "生效日期", "expires_on": "失效日期",
}
TEXT_FIELDS = {"title", "answer", "source"}


def text_segments(before: str, after: str) -> list[dict[str, str]]:
    """Character-level segments turning ``before`` into ``after``; neighbours of the same
    kind are merged."""
    out: list[dict[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1]["op"] == op:
            out[-1]["text"] += text
        else:
            out.append({"op": op, "text": text})

    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", before[i1:i2])
        else:  # replace = delete + insert
            add("delete", before[i1:i2])
            add("insert", after[j1:j2])
    return out


def list_segments(before: list[str], after: list[str]) -> list[dict[str, str]]:
    """One segment per list item: kept, deleted or inserted."""
    out: list[dict[str, str]] = []
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [{"op": "equal", "text": q} for q in before[i1:i2]]
        else:
            out += [{"op": "delete", "text": q} for q in before[i1:i2]]
            out += [{"op": "insert", "text": q} for q in after[j1:j2]]
    return out


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def diff_snapshots(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The changed fields (in the order of the editor) with their segments."""
    changes = []
    for name in VERSIONED_FIELDS:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name == "questions":
            segments = list_segments(list(old or []), list(new or []))
        elif name in TEXT_FIELDS:
            segments = text_segments(_shown(old), _shown(new))
        else:
            segments = [s for s in ({"op": "delete", "text": _shown(old)},
                                    {"op": "insert", "text": _shown(new)}) if s["text"]]
        changes.append({"field": name, "label": LABELS.get(name, name), "before": old,
                        "after": new, "segments": segments})
    return changes
