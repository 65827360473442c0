"""The citizen chatbot's dialogue: one state per conversation, one reply per message.

Every message is triaged first (an emergency gets 'call 119/120/110/122 now' at once, whatever
the dialogue was doing). A question is searched in the published, unexpired answers and
:func:`copilot.chat.decide.choose` decides: quote the answer with its citation, ask which of a
few answers is meant, or say there is none and offer to take a ticket. A ticket is taken field
by field (:mod:`copilot.chat.intake`), read back, and filed only on an explicit yes. Every reply
is a knowledge-base answer's text or a phrase from :mod:`copilot.chat.phrases`; every message
and reply is logged (:mod:`copilot.chat.log`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from classifier.triage import triage
from copilot.chat import phrases
from copilot.chat.calibration import current_thresholds
from copilot.chat.decide import ANSWER, CLARIFY, Choice, choose
from copilot.chat.intake import FIELDS, Intake, file_ticket
from copilot.chat.log import ChatTurn, create_tables
from copilot.tickets.service import TicketError
from retrieval.index import QueryError, SearchHit

if TYPE_CHECKING:
    from copilot.context import AppContext

logger = logging.getLogger(__name__)

# Stages of a conversation.
IDLE, CHOOSING, OFFERED, COLLECTING, CONFIRMING, WHICH_FIELD = (
    "idle", "clarify", "offer", "collect", "confirm", "which_field")
TICKET_STAGES = (COLLECTING, CONFIRMING, WHICH_FIELD)

NONE_OF_THESE = phrases.NONE_OF_THESE  # the last option of a clarification
_TAIL = r"[的啊呀吧呢了哈嗯。.！!，,~～\s]*$"
_YES = re.compile(r"^(?:是|是的|对|对的|确认|确定|好|好的|没错|正确|无误|可以|确认无误|对，?没错)"
                  + _TAIL)
_WANT = re.compile(r"^(?:要|需要|登记|好|好的|是|是的|可以|行|麻烦了?|帮我登记(?:一下)?|我要登记|"
                   + re.escape(phrases.OFFER_YES) + ")" + _TAIL)
_NO = re.compile(r"^(?:不|不用|不要|不需要|不必|算了|不了|没有|否|no)" + _TAIL, re.I)
_CANCEL = re.compile(r"取消|不登记了|不办了|^退出" + _TAIL)
_GREETING = re.compile(r"^(?:你好|您好|hi|hello|在吗|在不在|有人吗|喂|哈喽)" + _TAIL, re.I)
_THANKS = re.compile(r"^(?:谢谢|多谢|感谢|谢了|好的谢谢|谢谢你|ok|好的|知道了|明白了|收到)" + _TAIL,
                     re.I)
_INDEX = {"1": 0, "一": 0, "第一个": 0, "第一": 0, "2": 1, "二": 1, "第二个": 1, "第二": 1,
          "3": 2, "三": 2, "第三个": 2, "第三": 2, "4": 3, "四": 3, "5": 4, "五": 4}


@dataclass
class Citation:
    title: str
    template_id: int
    id: str
    version: int
    unit: str | None
    unit_phone: str | None
    source: str
    contact: str  # the unit's phone, or the fixed phrase pointing to 12345


@dataclass
class Reply:
    kind: str  # answer | clarify | no_answer | emergency | ask_field | confirm | ticket_filed
    #            | out_of_scope | info
    text: str
    citation: Citation | None = None
    options: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # emergency numbers to call
    ticket: dict[str, str] | None = None  # {number, due_date} once filed
    field_name: str | None = None  # the ticket field asked for

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.citation is not None:
            out["citation"] = self.citation.__dict__.copy()
        for name in ("options", "lines"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        if self.ticket is not None:
            out["ticket"] = dict(self.ticket)
        if self.field_name is not None:
            out["field"] = self.field_name
        return out


@dataclass
class _Logged:
    """What the log keeps of one turn besides the reply kind."""

    question: str
    choice: Choice | None = None
    ticket_number: str | None = None


@dataclass
class Conversation:
    id: str
    stage: str = IDLE
    options: list[SearchHit] = field(default_factory=list)
    pending_question: str | None = None
    intake: Intake | None = None
    seen: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def citation_of(hit: SearchHit) -> Citation:
    return Citation(title=hit.title, template_id=hit.template_id, id=hit.id,
                    version=hit.version, unit=hit.unit, unit_phone=hit.unit_phone,
                    source=hit.source, contact=hit.unit_phone or phrases.NO_UNIT_PHONE)


def emergency_reply(line: str, also: list[str]) -> Reply:
    text = phrases.EMERGENCY_HEAD + phrases.EMERGENCY[line]
    text += "".join(phrases.EMERGENCY_ALSO[other] for other in also
                    if other in phrases.EMERGENCY_ALSO and other != line)
    return Reply("emergency", text, lines=[line, *[x for x in also if x != line]])


class ChatBot:
    """The dialogue for every conversation of one knowledge base (thread-safe)."""

    def __init__(self, ctx: AppContext, *, clock: Any = time.monotonic) -> None:
        self.ctx = ctx
        s = ctx.settings
        self.ttl, self.max_conversations = s.chat_session_ttl_s, s.chat_max_conversations
        self._clock = clock
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()
        create_tables(ctx.db.engine)

    # ------------------------------------------------------------------ conversations

    def _conversation(self, conversation_id: str | None) -> Conversation:
        now = self._clock()
        with self._lock:
            while self._conversations:
                oldest = next(iter(self._conversations.values()))
                if now - oldest.seen <= self.ttl and \
                        len(self._conversations) < self.max_conversations:
                    break
                self._conversations.popitem(last=False)
            conv = self._conversations.pop(conversation_id, None) if conversation_id else None
            if conv is None:  # new, expired or unknown: a fresh conversation under a new id
                conv = Conversation(uuid.uuid4().hex)
            conv.seen = now
            self._conversations[conv.id] = conv
            return conv

    def handle(self, conversation_id: str | None, message: str) -> tuple[str, Reply]:
        """The reply to one message; returns the conversation id (new when the given one is
        unknown or expired) and the reply. The message is already checked (not empty, not too
        long) by the API."""
        conv = self._conversation(conversation_id)
        with conv.lock:
            started = time.perf_counter()
            stage = conv.stage
            reply, logged = self._step(conv, message.strip())
            self._log(conv.id, stage, reply, logged, (time.perf_counter() - started) * 1000)
        return conv.id, reply

    # ------------------------------------------------------------------ dialogue

    def _step(self, conv: Conversation, text: str) -> tuple[Reply, _Logged]:
        private = conv.stage in TICKET_STAGES
        logged = _Logged(self._redacted(conv) if private else text)
        found = triage(text)
        if found.emergency:
            logged.question = text  # an emergency is logged in full, even mid-ticket
            return emergency_reply(found.emergency, found.also_notify), logged
        if private:
            return self._ticket_step(conv, text, logged)
        if conv.stage == CHOOSING:
            picked = self._picked(conv, text)
            conv.stage = IDLE
            if picked == NONE_OF_THESE:
                return self._no_answer(conv, conv.pending_question or text), logged
            if isinstance(picked, SearchHit):
                conv.pending_question = None
                logged.choice = Choice(ANSWER, hit=picked, top=picked)
                return Reply("answer", picked.answer, citation=citation_of(picked)), logged
        if conv.stage == OFFERED:
            conv.stage = IDLE
            if _WANT.match(text):
                return self._start_ticket(conv), logged
            if _NO.match(text):
                conv.pending_question = None
                return Reply("info", phrases.DECLINED), logged
        if _GREETING.match(text):
            return Reply("info", phrases.GREETING), logged
        if _THANKS.match(text):
            return Reply("info", phrases.THANKS), logged
        return self._question(conv, text, found.out_of_scope, logged)

    def _question(self, conv: Conversation, text: str, out_of_scope: str | None,
                  logged: _Logged) -> tuple[Reply, _Logged]:
        thresholds = current_thresholds(self.ctx.settings)  # calibrated ones once saved
        try:
            hits = self.ctx.index.search(text, top_k=max(5, thresholds.max_options))
        except QueryError:
            hits = []
        choice = choose(hits, thresholds)
        logged.choice = choice
        if choice.kind == ANSWER and choice.hit is not None:
            conv.stage, conv.pending_question = IDLE, None
            hit: SearchHit = choice.hit  # type: ignore[assignment]
            return Reply("answer", hit.answer, citation=citation_of(hit)), logged
        if out_of_scope is not None and out_of_scope in phrases.OUT_OF_SCOPE:
            conv.stage, conv.pending_question = IDLE, None
            return Reply("out_of_scope", phrases.OUT_OF_SCOPE[out_of_scope]), logged
        if choice.kind == CLARIFY:
            conv.stage, conv.pending_question = CHOOSING, text
            conv.options = list(choice.options)  # type: ignore[arg-type]
            titles = [h.title for h in conv.options]  # type: ignore[attr-defined]
            return Reply("clarify", phrases.CLARIFY, options=[*titles, NONE_OF_THESE]), logged
        return self._no_answer(conv, text), logged

    def _no_answer(self, conv: Conversation, question: str) -> Reply:
        conv.stage, conv.pending_question = OFFERED, question
        return Reply("no_answer", phrases.NO_ANSWER,
                     options=[phrases.OFFER_YES, phrases.OFFER_NO])

    def _picked(self, conv: Conversation, text: str) -> SearchHit | str | None:
        """The option a reply to a clarification names: its title, its number, or none."""
        if text == NONE_OF_THESE or _NO.match(text) or text in ("都不是", "都不对"):
            return NONE_OF_THESE
        options = conv.options
        for hit in options:
            if text == hit.title:
                return hit
        index = _INDEX.get(text.strip("。.、 "))
        if index is not None and index < len(options):
            return options[index]
        containing = [h for h in options if len(text) >= 2 and text in h.title]
        return containing[0] if len(containing) == 1 else None

    # ------------------------------------------------------------------ ticket

    def _start_ticket(self, conv: Conversation) -> Reply:
        conv.intake = Intake(pending_question=conv.pending_question)
        conv.stage = COLLECTING
        text, options = conv.intake.ask("name")
        return Reply("ask_field", text, options=options, field_name="name")

    def _next(self, conv: Conversation) -> Reply:
        """Ask for the first missing field, or read everything back for confirmation."""
        intake = conv.intake
        assert intake is not None
        name = intake.missing()
        if name is None:
            conv.stage = CONFIRMING
            return Reply("confirm", intake.confirm_text(),
                         options=[phrases.CONFIRM_YES, phrases.CONFIRM_EDIT, phrases.CANCEL])
        conv.stage = COLLECTING
        text, options = intake.ask(name)
        return Reply("ask_field", text, options=options, field_name=name)

    def _ticket_step(self, conv: Conversation, text: str,
                     logged: _Logged) -> tuple[Reply, _Logged]:
        intake = conv.intake
        assert intake is not None
        if _CANCEL.search(text):
            conv.stage, conv.intake, conv.pending_question = IDLE, None, None
            return Reply("info", phrases.CANCELLED), logged
        if conv.stage == WHICH_FIELD:
            labels = {v: k for k, v in phrases.FIELD_LABELS.items()}
            name = next((labels[label] for label in labels if label in text), None)
            if name is None:
                return self._ask_which(conv), logged
            conv.stage = COLLECTING
            ask_text, options = intake.ask(name)
            return Reply("ask_field", ask_text, options=options, field_name=name), logged
        if conv.stage == CONFIRMING:
            if _YES.match(text):
                return self._file(conv, logged), logged
            if text.strip("。. ") in (phrases.CONFIRM_EDIT, "改", "要修改", "修改一下", "不对"):
                return self._ask_which(conv), logged
            intake.take(text)  # a correction given straight away ('电话是139…')
            return self._next(conv), logged
        _, again = intake.take(text)
        if again is not None:
            return Reply("ask_field", intake.retry(again), field_name=again), logged
        return self._next(conv), logged

    def _ask_which(self, conv: Conversation) -> Reply:
        conv.stage = WHICH_FIELD
        return Reply("ask_field", phrases.ASK_WHICH_FIELD,
                     options=[phrases.FIELD_LABELS[f] for f in FIELDS])

    def _file(self, conv: Conversation, logged: _Logged) -> Reply:
        intake = conv.intake
        assert intake is not None
        try:
            filed = file_ticket(self.ctx, intake.values, intake.values["content"],
                                call_id=f"chat:{conv.id}", district=intake.district)
        except TicketError as e:
            logger.warning("chat ticket refused: %s", e)
            conv.stage = CONFIRMING
            return Reply("info", phrases.TICKET_FAILED)
        conv.stage, conv.intake, conv.pending_question = IDLE, None, None
        logged.ticket_number = filed.number
        due = f"{filed.due_date.year}年{filed.due_date.month}月{filed.due_date.day}日"
        return Reply("ticket_filed", phrases.fill(phrases.TICKET_FILED, number=filed.number,
                                                  due=due),
                     ticket={"number": filed.number, "due_date": filed.due_date.isoformat()})

    # ------------------------------------------------------------------ log

    @staticmethod
    def _redacted(conv: Conversation) -> str:
        """What the log keeps of a message given while taking a ticket (personal data)."""
        asking = conv.intake.asking if conv.intake is not None else None
        return f"[登记信息：{phrases.FIELD_LABELS.get(asking or '', conv.stage)}]"

    def _log(self, conversation_id: str, stage: str, reply: Reply, logged: _Logged,
             latency_ms: float) -> None:
        choice = logged.choice
        answer = reply.citation
        top = choice.top if choice is not None else None
        options = ",".join(h.id for h in choice.options) if choice and choice.options else None
        row = ChatTurn(conversation_id=conversation_id, stage=stage, question=logged.question,
                       decision=reply.kind, answer_id=answer.id if answer else None,
                       template_id=answer.template_id if answer else None,
                       answer_version=answer.version if answer else None,
                       top_id=top.id if top is not None else None,
                       top_score=float(top.dense_score) if top is not None and
                       top.dense_score is not None else None,
                       options=options[:400] if options else None,
                       ticket_number=logged.ticket_number, latency_ms=round(latency_ms, 2))
        try:
            with self.ctx.db.session() as session:
                session.add(row)
        except Exception:  # the citizen still gets the reply; the failure is in the server log
            logger.exception("cannot write the chat log")
