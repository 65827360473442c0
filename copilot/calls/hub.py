"""Fan-out of a call's events to the consoles watching it in this process (and, through
:mod:`copilot.calls.relay`, to the other processes).

Each watcher has a bounded queue. A console that falls behind loses partial transcript events
first (the next partial or final replaces them anyway); if even finals and suggestions pile up
past the bound, its queue is emptied and it is told to ``resync``: it then gets a fresh snapshot
of the call, so nothing final is lost to a slow browser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

RESYNC: dict[str, Any] = {"type": "resync"}


class EventHub:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._watchers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        # where this process's events also go (the Redis relay, when several processes serve)
        self.forward: Callable[[str, dict[str, Any]], None] | None = None

    def subscribe(self, call_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.queue_size)
        self._watchers.setdefault(call_id, set()).add(queue)
        return queue

    def unsubscribe(self, call_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        watchers = self._watchers.get(call_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self._watchers[call_id]

    def publish(self, call_id: str, event: dict[str, Any], *, remote: bool = False) -> None:
        """Queue an event for every watcher of the call here, and (unless it came from another
        process) pass it on to the other processes. Call on the event loop's thread."""
        if self.forward is not None and not remote:
            self.forward(call_id, event)
        for queue in list(self._watchers.get(call_id, ())):
            if not queue.full():
                queue.put_nowait(event)
            elif event.get("type") != "partial":
                logger.warning("call %s: a console fell %d events behind; asking it to resync",
                               call_id, queue.qsize())
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)

    def resync_all(self) -> None:
        """Tell every watcher to redraw from a fresh snapshot (events may have been missed)."""
        for queues in list(self._watchers.values()):
            for queue in list(queues):
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)
