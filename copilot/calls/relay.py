"""Call events between app processes, through Redis pub/sub, so the audio websocket of a call
and the consoles watching it may sit on different processes behind one address.

Every process publishes the events of its calls to ``copilot:call:<call_id>`` and listens to
all of them. An event from another process is applied to this process's copy of the call —
the journals on disk are the truth and are written before any event goes out, so a copy is
simply reloaded; suggestions, which are not journaled, are taken from the event — and then
handed to the consoles connected here. When the Redis connection drops, events are kept
locally and the connection is retried with backoff; once it is back, every console here is
told to resync (it gets a fresh snapshot), so nothing final is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

CHANNEL = "copilot:call:"
MAX_OUTBOX = 10_000


class RelayUnavailable(RuntimeError):
    """Redis cannot be reached at start-up (the message says which URL and what to do)."""


class RedisRelay:
    def __init__(self, url: str, on_remote: Callable[[str, dict[str, Any]], Awaitable[None]],
                 on_reconnect: Callable[[], None]) -> None:
        self.url = url
        self.origin = uuid.uuid4().hex  # this process
        self._on_remote = on_remote
        self._on_reconnect = on_reconnect
        self._outbox: asyncio.Queue[str] = asyncio.Queue(MAX_OUTBOX)
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None

    async def start(self) -> None:
        """Connect (failing clearly if Redis is not there) and start listening."""
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.url, socket_connect_timeout=5,
                                        health_check_interval=15)
        try:
            await self._redis.ping()
        except Exception as e:
            await self._redis.aclose()
            raise RelayUnavailable(
                f"COPILOT_REDIS_URL={self.url} cannot be reached ({e}): start Redis, or unset "
                "COPILOT_REDIS_URL to run a single process") from e
        ready = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(ready)),
                       asyncio.create_task(self._send())]
        await asyncio.wait_for(ready.wait(), timeout=10)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._redis is not None:
            await self._redis.aclose()

    def publish(self, call_id: str, event: dict[str, Any]) -> None:
        """Queue an event for the other processes (call on the event loop's thread)."""
        message = json.dumps({"origin": self.origin, "call_id": call_id, "event": event},
                             ensure_ascii=False)
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            logger.warning("redis relay: %d events waiting; dropping one of call %s",
                           MAX_OUTBOX, call_id)

    async def _send(self) -> None:
        while True:
            message = await self._outbox.get()
            call_id = json.loads(message)["call_id"]
            delay = 0.5
            while True:
                try:
                    await self._redis.publish(CHANNEL + call_id, message)
                    break
                except Exception as e:  # Redis away: keep the event and retry
                    logger.warning("redis relay: publish failed (%s); retrying in %.1f s", e,
                                   delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10)

    async def _listen(self, ready: asyncio.Event) -> None:
        delay = 0.5
        first = True
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(CHANNEL + "*")
                if first:
                    ready.set()
                else:
                    logger.info("redis relay: reconnected; consoles here resync")
                    self._on_reconnect()
                first, delay = False, 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    await self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as e:
                logger.warning("redis relay: connection lost (%s); retrying in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _deliver(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if message["origin"] == self.origin:
                return
            call_id, event = str(message["call_id"]), dict(message["event"])
        except (ValueError, KeyError, TypeError):
            logger.warning("redis relay: ignored a malformed message")
            return
        try:
            await self._on_remote(call_id, event)
        except Exception:  # one bad event must not stop the relay
            logger.exception("redis relay: applying an event of call %s failed", call_id)
