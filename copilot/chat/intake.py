"""Taking a ticket in the chat: name, phone, address and the request, one question at a time.

The citizen's words go through the same :class:`~copilot.form.filler.FormFiller` the operator
console uses, with the bot's question as the operator's turn (so '请问您的姓名？' tells it the next
words are a name), which also lets a citizen give several fields at once. What the filler does
not recognise in an answer to a direct question is taken as given (a bare name, the address as
typed); the phone must be a valid number. Nothing is filed before the citizen confirms the
read-back.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from classifier.request_type import request_type
from copilot.chat import phrases
from copilot.form.filler import AGENT, CALLER, FormFiller
from copilot.tickets.service import TicketDraft, create_ticket, normalize_phone

if TYPE_CHECKING:
    from copilot.context import AppContext

FIELDS: tuple[str, ...] = ("name", "phone", "address", "content")
ASK = {"name": phrases.ASK_NAME, "phone": phrases.ASK_PHONE, "address": phrases.ASK_ADDRESS,
       "content": phrases.ASK_CONTENT}
RETRY = {"name": phrases.RETRY_NAME, "phone": phrases.PHONE_INVALID,
         "address": phrases.RETRY_ADDRESS, "content": phrases.RETRY_CONTENT}

_PUNCT = " \t\r\n。.，,！!？?；;：:、"
_NAME_LEAD = re.compile(r"^(?:我(?:的)?(?:名字|姓名)?(?:叫|是)|(?:姓名|名字)(?:是|叫)?[：:]?|本人)")
_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,6}$")
_NOT_IN_NAMES = set("我你他她的了吗呢吧啊不要说想没是在这那么什好谁哪个")
_ADDRESS_LEAD = re.compile(
    r"^(?:我(?:家|的)?(?:住址|地址)?(?:住在|是|在)|住在|(?:住址|地址|事发地址|事发地点|地点)"
    r"(?:是|在)?[：:]?|位于|在)")
_ADDRESS_HINT = re.compile("省|市|区|县|镇|乡|街|路|道|巷|村|号|栋|幢|楼|室|小区|花园|苑|广场|大厦|"
                           "社区|公寓|新村|里|站|附近|旁边|对面")
_ADDRESS_IN_TEXT = re.compile(r"(?:住在|住址是?|地址是?|地址在|事发地(?:址|点)?(?:是|在)?)[：:\s]*"
                              r"([^，,。；;！!？?\n]{4,100})")
_DIGITS = re.compile(r"\d{5,}")
LIMITS = {"name": 64, "phone": 32, "address": 200, "content": 1000}


@dataclass
class Intake:
    """The ticket being taken in one conversation."""

    pending_question: str | None = None  # the question the bot could not answer
    values: dict[str, str] = field(default_factory=dict)
    district: str | None = None
    asking: str | None = None  # the field asked for, None while confirming
    filler: FormFiller = field(default_factory=lambda: FormFiller(agent_fallback=False))
    turn: int = 0

    def missing(self) -> str | None:
        return next((f for f in FIELDS if not self.values.get(f)), None)

    def ask(self, name: str) -> tuple[str, list[str]]:
        """The question for a field (and its quick replies); tells the filler it was asked."""
        self.asking = name
        text = ASK[name]
        options: list[str] = []
        if name == "content" and self.pending_question:
            text, options = phrases.ASK_CONTENT_OR_REUSE, [phrases.REUSE_QUESTION]
        self._agent(text)
        return text, options

    def retry(self, name: str) -> str:
        self._agent(RETRY[name])
        return RETRY[name]

    def confirm_text(self) -> str:
        self.asking = None
        v = self.values
        return phrases.fill(phrases.CONFIRM, name=v["name"], phone=v["phone"],
                            address=v["address"], content=v["content"])

    def _agent(self, text: str) -> None:
        self.turn += 1
        self.filler.update(self.turn, AGENT, text)

    def take(self, text: str) -> tuple[set[str], str | None]:
        """Read one message: the fields it gave (values updated), and the field asked for when
        the message did not give it (to ask again)."""
        text = text.strip()
        self.turn += 1
        changed = set(self.filler.update(self.turn, CALLER, text))
        form = self.filler.form
        asked, correcting = self.asking, self.asking is None
        found: dict[str, str] = {}

        if "caller_name" in changed and form.caller_name is not None:
            found["name"] = form.caller_name.value
        elif asked == "name" and (name := _bare_name(text)):
            found["name"] = name

        bad_phone = False
        if "phone" in changed and form.phone is not None:
            if number := normalize_phone(form.phone.value):
                found["phone"] = number
            else:
                bad_phone = True
        elif asked == "phone" or (correcting and _DIGITS.search(text)):
            if number := normalize_phone(text.strip(_PUNCT)):
                found["phone"] = number
            else:
                bad_phone = asked == "phone"

        if asked == "address":
            address = _ADDRESS_LEAD.sub("", text.strip(_PUNCT)).strip(_PUNCT)
            if len(address) >= 4 and (_ADDRESS_HINT.search(address) or len(address) >= 8):
                found["address"] = address
        elif (m := _ADDRESS_IN_TEXT.search(text)) and _ADDRESS_HINT.search(m.group(1)):
            found["address"] = m.group(1).strip(_PUNCT)
        if "address" in found and form.district is not None:
            self.district = form.district.value

        if asked == "content":
            if text == phrases.REUSE_QUESTION and self.pending_question:
                found["content"] = self.pending_question
            elif len(text.strip(_PUNCT)) >= 4:
                found["content"] = text

        given: set[str] = set()
        for name, value in found.items():
            if name == asked or correcting or not self.values.get(name):
                self.values[name] = value[: LIMITS[name]]
                given.add(name)
        if asked is not None and asked not in given:
            return given, asked
        if bad_phone and "phone" not in given:
            return given, "phone"
        return given, None


def _bare_name(text: str) -> str | None:
    """A name typed on its own ('李红梅', '我叫李红梅', '王先生') when the filler found none."""
    name = _NAME_LEAD.sub("", text.strip(_PUNCT)).strip(_PUNCT)
    if _NAME.match(name) and not (set(name) & _NOT_IN_NAMES):
        return name
    return None


@dataclass(frozen=True)
class FiledTicket:
    number: str
    due_date: dt.date


def file_ticket(ctx: AppContext, form: dict[str, str], content: str, *,
                call_id: str | None = None, district: str | None = None) -> FiledTicket:
    """Store the ticket (status 受理, created by "chatbot"); the request type is read from the
    citizen's words. Raises :class:`copilot.tickets.service.TicketError` when refused."""
    draft = TicketDraft(content=content, request_type=request_type(content).type,
                        caller_name=form.get("name"), phone=form.get("phone"),
                        street_address=form.get("address"), district=district, call_id=call_id)
    with ctx.db.session() as session:
        ticket = create_ticket(session, draft, actor="chatbot")
        return FiledTicket(str(ticket.number), ticket.due_date)
