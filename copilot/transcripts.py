"""Durable call transcripts: each final utterance is appended (and flushed) to a JSON Lines file
under ``COPILOT_HOME/calls/<call_id>/`` the moment it is recognised, so a dropped connection or
a crashed server loses nothing that was final."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_call_id(call_id: str) -> str:
    if not CALL_ID.match(call_id):
        raise ValueError("call_id must be 1–64 letters, digits, '.', '_' or '-' "
                         "(starting with a letter or digit)")
    return call_id


class TranscriptStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def path(self, call_id: str) -> Path:
        return self.root / check_call_id(call_id) / "transcript.jsonl"

    def append(self, call_id: str, event: dict[str, object]) -> None:
        path = self.path(call_id)
        line = json.dumps(event, ensure_ascii=False) + "\n"
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def read(self, call_id: str) -> list[dict[str, object]]:
        path = self.path(call_id)
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash mid-write is skipped, the rest is kept
        return out
