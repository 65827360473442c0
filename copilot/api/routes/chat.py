"""The citizen chatbot: ``POST /api/v1/chat`` (see :mod:`copilot.chat.bot`)."""

from __future__ import annotations

import re
import threading
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from copilot.api.deps import ContextDep
from copilot.chat import phrases
from copilot.chat.bot import ChatBot
from copilot.chat.ratelimit import RateLimiter
from copilot.context import AppContext

router = APIRouter(prefix="/api/v1", tags=["chatbot"])

_CONVERSATION_ID = re.compile(r"^[0-9a-f]{32}$")
_setup_lock = threading.Lock()


class ChatRequest(BaseModel):
    conversation_id: str | None = Field(
        default=None, description="the id the previous reply gave; omit to start a conversation")
    message: str = Field(description="what the citizen typed (or an option's text)")


class CitationOut(BaseModel):
    title: str
    template_id: int
    id: str = Field(description="the answer's public id (the imported id where one was given)")
    version: int
    unit: str | None = Field(description="the handling unit the answer names")
    unit_phone: str | None
    source: str = Field(description="the policy or regulation the answer rests on")
    contact: str = Field(description="how to contact the unit: its phone, or a fixed phrase")


class TicketOut(BaseModel):
    number: str
    due_date: str


class ReplyOut(BaseModel):
    kind: Literal["answer", "clarify", "no_answer", "emergency", "ask_field", "confirm",
                  "ticket_filed", "out_of_scope", "info"]
    text: str = Field(description="an answer template's text, or a fixed reviewed phrase")
    citation: CitationOut | None = None
    options: list[str] = Field(default_factory=list,
                               description="quick replies: send one back as the message")
    lines: list[str] = Field(default_factory=list, description="emergency numbers to call")
    ticket: TicketOut | None = None
    field: str | None = Field(default=None, description="the ticket field asked for")


class ChatResponse(BaseModel):
    conversation_id: str
    reply: ReplyOut


def _bot(request: Request, ctx: AppContext) -> tuple[ChatBot, RateLimiter]:
    """The bot and the rate limiter of this app, made on first use."""
    state = request.app.state
    if getattr(state, "chat_bot", None) is None:
        with _setup_lock:
            if getattr(state, "chat_bot", None) is None:
                s = ctx.settings
                state.chat_limiter = RateLimiter(s.chat_rate_per_minute, s.chat_burst)
                state.chat_bot = ChatBot(ctx)
    return state.chat_bot, state.chat_limiter


def client_key(request: Request, trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.client.host if request.client else "unknown"


@router.post("/chat", response_model=ChatResponse, response_model_exclude_none=True,
             responses={413: {"description": "message too long"},
                        422: {"description": "empty message or malformed conversation id"},
                        429: {"description": "too many messages from this client"}})
def chat(body: ChatRequest, request: Request, ctx: ContextDep) -> ChatResponse:
    """One citizen message in, one reply out. The reply is a published, unexpired answer
    (quoted exactly, with its citation), a clarifying question, a no-answer with a ticket
    offer, an emergency instruction, or a step of taking a ticket; nothing else is said."""
    bot, limiter = _bot(request, ctx)
    s = ctx.settings
    wait = limiter.check(client_key(request, s.chat_trust_forwarded_for))
    if wait:
        raise HTTPException(429, detail=phrases.fill(phrases.TOO_FAST, seconds=wait),
                            headers={"Retry-After": str(wait)})
    message = body.message.strip()
    if not message:
        raise HTTPException(422, detail=phrases.EMPTY_MESSAGE)
    if len(message) > s.chat_max_message_chars:
        raise HTTPException(413, detail=phrases.fill(phrases.TOO_LONG, n=len(message),
                                                     limit=s.chat_max_message_chars))
    if body.conversation_id is not None and not _CONVERSATION_ID.match(body.conversation_id):
        raise HTTPException(422, detail=phrases.BAD_CONVERSATION)
    conversation_id, reply = bot.handle(body.conversation_id, message)
    return ChatResponse(conversation_id=conversation_id,
                        reply=ReplyOut.model_validate(reply.as_dict()))


class GreetingOut(BaseModel):
    text: str
    emergency_lines: list[str]
    max_message_chars: int


@router.get("/chat/greeting", response_model=GreetingOut)
def greeting(ctx: ContextDep) -> GreetingOut:
    """The bot's opening words (a fixed phrase) and the limits the chat page shows."""
    return GreetingOut(text=phrases.GREETING, emergency_lines=list(phrases.EMERGENCY),
                       max_message_chars=ctx.settings.chat_max_message_chars)
