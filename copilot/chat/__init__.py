"""The citizen self-service chatbot: answers only from published answer templates (quoted and
cited), asks back when answers of different topics are close, says so and offers a ticket when
none is good enough, and sends emergencies to 110 / 119 / 120 / 122 at once."""

from copilot.chat.bot import ChatBot, Citation, Reply
from copilot.chat.ratelimit import RateLimiter

__all__ = ["ChatBot", "Citation", "RateLimiter", "Reply"]
