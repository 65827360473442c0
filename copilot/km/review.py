"""The review flow of answer templates: draft → in review → published → retired.

Rules (on top of :data:`knowledge_base.service.TRANSITIONS`):

- Anyone may submit a draft for review; a draft still holding the gap report's placeholder text
  may not be submitted.
- Approving (publishing) and rejecting are for someone who did not write the content under review
  (:func:`knowledge_base.service.content_authors`: everyone who changed a field other than the
  status since the last publication). Actors are compared by name, ignoring case, until accounts
  exist.
- Editing an answer that is in review, published or retired saves the change as a new version
  *and* puts the answer back to draft in that same version: the knowledge base holds one current
  version per answer, so an edited published answer leaves search until it is approved again.
  Unreviewed text is never live.
- Retiring needs no second person (stale or wrong answers must go fast); an answer in review is
  rejected first.
- An urgent 答复口径 is written, submitted and approved in one request by two different people,
  with an expiry date at most :data:`URGENT_MAX_DAYS` days ahead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from knowledge_base import service
from knowledge_base.models import AnswerStatus, AnswerTemplate

STATUS_LABELS = {"draft": "草稿", "in_review": "审核中", "published": "已发布", "retired": "已下线"}
URGENT_MAX_DAYS = 30
DRAFT_PLACEHOLDER = "【待撰写】请根据上面的问法撰写答复口径，写好后再提交审核。"


class FlowRefused(Exception):
    """A step the flow does not allow in the answer's present state (HTTP 409)."""


class NotAllowed(Exception):
    """A step this actor may not take: the reviewer is not the author (HTTP 403)."""


def _label(status: AnswerStatus | str) -> str:
    return STATUS_LABELS[AnswerStatus(status).value]


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def check_version(template: AnswerTemplate, version: int | None) -> None:
    if version is not None and version != template.version:
        raise FlowRefused(f"该答复已更新到第 {template.version} 版（您看到的是第 {version} 版）："
                          "请刷新后再操作")


def _require(template: AnswerTemplate, wanted: AnswerStatus, step: str, hint: str = "") -> None:
    if template.status != wanted:
        raise FlowRefused(f"只有「{_label(wanted)}」的答复可以{step}，该答复现在是"
                          f"「{_label(template.status)}」{hint}")


def _check_reviewer(session: Session, template: AnswerTemplate, actor: str, step: str) -> set[str]:
    authors = service.content_authors(session, template)
    if any(_same(actor, a) for a in authors):
        raise NotAllowed(f"审核人不能是作者：第 {template.version} 版的内容由 "
                         f"{'、'.join(sorted(authors))} 撰写，{step}须由另一位审核人操作")
    return authors


def _predicted(template: AnswerTemplate, fields: dict[str, Any]) -> dict[str, Any]:
    """The snapshot ``fields`` would give (to tell whether an edit changes anything)."""
    after = service.snapshot(template)
    for key, value in fields.items():
        after[key] = value.isoformat() if isinstance(value, dt.date) else value
    return after


def edit(session: Session, template: AnswerTemplate, fields: dict[str, Any], actor: str,
         base_version: int | None = None, note: str = "") -> bool:
    """Save ``fields`` as the next version; an answer not in draft goes back to draft in the
    same version. Returns whether anything changed."""
    check_version(template, base_version)
    if "title" in fields and not str(fields["title"]).strip():
        questions = fields.get("questions", template.questions) or []
        fields["title"] = (questions[0] if questions else
                           fields.get("answer", template.answer))[:60]
    before = service.snapshot(template)
    if _predicted(template, fields) == before:
        return False
    was = AnswerStatus(template.status)
    if was != AnswerStatus.draft:
        fields = {**fields, "status": AnswerStatus.draft}
        note = note or f"修改（原为「{_label(was)}」，退回草稿待重新审核）"
    return service.update_answer(session, template, fields, actor, note=note or "修改")


def submit(session: Session, template: AnswerTemplate, actor: str, version: int | None = None,
           note: str = "") -> None:
    check_version(template, version)
    hints = {AnswerStatus.in_review: "，已在等待审核",
             AnswerStatus.published: "，已经发布；修改后会回到草稿，再提交审核",
             AnswerStatus.retired: "；先修改它（回到草稿）再提交审核"}
    _require(template, AnswerStatus.draft, "提交审核", hints.get(template.status, ""))
    if template.answer.strip() == DRAFT_PLACEHOLDER:
        raise FlowRefused("答复内容还是待撰写的占位文字：请先写好答复口径再提交审核")
    service.update_answer(session, template, {"status": AnswerStatus.in_review}, actor,
                          note=note or "提交审核")
    service.log_change(session, actor, "answer", template.public_id, "submit",
                       {"version": template.version})


def approve(session: Session, template: AnswerTemplate, actor: str, version: int | None = None,
            note: str = "", today: dt.date | None = None) -> None:
    """Publish the version under review; live in search as soon as the caller commits."""
    check_version(template, version)
    hints = {AnswerStatus.draft: "：请先提交审核", AnswerStatus.published: "，已经发布",
             AnswerStatus.retired: "；先修改它（回到草稿）并提交审核"}
    _require(template, AnswerStatus.in_review, "审核发布", hints.get(template.status, ""))
    authors = _check_reviewer(session, template, actor, "审核发布")
    today = today or dt.date.today()
    if template.expires_on is not None and template.expires_on <= today:
        raise FlowRefused(f"该答复的失效日期 {template.expires_on.isoformat()} 已到，发布后也不会"
                          "被检索到：请退回并修改失效日期")
    reviewed = template.version
    service.update_answer(session, template, {"status": AnswerStatus.published}, actor,
                          note=f"审核通过并发布{'：' + note if note else ''}")
    service.log_change(session, actor, "answer", template.public_id, "approve",
                       {"reviewed_version": reviewed, "version": template.version,
                        "authors": sorted(authors)})


def reject(session: Session, template: AnswerTemplate, actor: str, note: str,
           version: int | None = None) -> None:
    check_version(template, version)
    _require(template, AnswerStatus.in_review, "退回",
             "：请先提交审核" if template.status == AnswerStatus.draft else "")
    if not note.strip():
        raise FlowRefused("退回时请写明原因，作者据此修改")
    _check_reviewer(session, template, actor, "退回")
    service.update_answer(session, template, {"status": AnswerStatus.draft}, actor,
                          note=f"退回：{note.strip()}")
    service.log_change(session, actor, "answer", template.public_id, "reject",
                       {"note": note.strip(), "version": template.version})


def retire(session: Session, template: AnswerTemplate, actor: str, version: int | None = None,
           note: str = "") -> None:
    check_version(template, version)
    if template.status == AnswerStatus.retired:
        raise FlowRefused("该答复已经下线")
    if template.status == AnswerStatus.in_review:
        raise FlowRefused("审核中的答复不能直接下线：请先退回")
    service.update_answer(session, template, {"status": AnswerStatus.retired}, actor,
                          note=f"下线{'：' + note if note else ''}")
    service.log_change(session, actor, "answer", template.public_id, "retire",
                       {"version": template.version})


def urgent(session: Session, fields: dict[str, Any], actor: str, reviewer: str,
           note: str = "", today: dt.date | None = None) -> AnswerTemplate:
    """Write, submit and publish an urgent 答复口径 in one transaction, by two people."""
    if _same(actor, reviewer):
        raise NotAllowed("紧急口径也须两人把关：审核人不能是撰写人本人")
    today = today or dt.date.today()
    expires = fields.get("expires_on")
    if not isinstance(expires, dt.date):
        raise service.KbError("紧急口径必须填写失效日期")
    if not today < expires <= today + dt.timedelta(days=URGENT_MAX_DAYS):
        raise service.KbError(f"紧急口径的失效日期须在明天到 {URGENT_MAX_DAYS} 天后之间"
                              f"（{(today + dt.timedelta(days=1)).isoformat()} 至 "
                              f"{(today + dt.timedelta(days=URGENT_MAX_DAYS)).isoformat()}）")
    fields = {**fields, "effective_from": fields.get("effective_from") or today}
    if fields["effective_from"] > today:
        raise service.KbError("紧急口径应立即生效：生效日期不能晚于今天")
    template = service.create_answer(session, fields, actor, note="紧急口径：撰写")
    service.update_answer(session, template, {"status": AnswerStatus.in_review}, actor,
                          note="紧急口径：提交审核")
    service.update_answer(session, template, {"status": AnswerStatus.published}, reviewer,
                          note=f"紧急口径：审核通过并发布{'：' + note if note else ''}")
    service.log_change(session, reviewer, "answer", template.public_id, "urgent",
                       {"author": actor, "reviewer": reviewer,
                        "expires_on": expires.isoformat()})
    return template
