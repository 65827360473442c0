"""The durable record of each call, under ``COPILOT_HOME/calls/<call_id>/``:

- ``transcript.jsonl``: every final utterance, appended and fsync'd the moment it is recognised
  (or typed), so a dropped connection or a crashed server loses nothing that was final;
- ``edits.jsonl``: every edit the operator made to the work order, in order;
- ``meta.json``: when the call started and ended, its call time and the ticket filed from it,
  replaced atomically (write, fsync, rename).

A line cut short by a crash mid-write is skipped on reading; the lines before it are kept.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_call_id(call_id: str) -> str:
    if not CALL_ID.match(call_id):
        raise ValueError("call_id must be 1–64 letters, digits, '.', '_' or '-' "
                         "(starting with a letter or digit)")
    return call_id


class CallStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def folder(self, call_id: str) -> Path:
        return self.root / check_call_id(call_id)

    def exists(self, call_id: str) -> bool:
        return self.folder(call_id).is_dir()

    # ---- append-only journals -------------------------------------------------------------

    def _append(self, call_id: str, name: str, record: dict[str, Any]) -> None:
        path = self.folder(call_id) / name
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def _read(self, call_id: str, name: str) -> list[dict[str, Any]]:
        path = self.folder(call_id) / name
        if not path.exists():
            return []
        out = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s line %d is cut short (a crash mid-write?): skipped", path,
                               number)
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def append(self, call_id: str, utterance: dict[str, Any]) -> None:
        """Store one final utterance."""
        self._append(call_id, "transcript.jsonl", utterance)

    def read(self, call_id: str) -> list[dict[str, Any]]:
        """The final utterances of a call, in the order they were stored."""
        return self._read(call_id, "transcript.jsonl")

    def append_edit(self, call_id: str, edit: dict[str, Any]) -> None:
        self._append(call_id, "edits.jsonl", edit)

    def read_edits(self, call_id: str) -> list[dict[str, Any]]:
        return self._read(call_id, "edits.jsonl")

    # ---- metadata ---------------------------------------------------------------------------

    def write_meta(self, call_id: str, meta: dict[str, Any]) -> None:
        folder = self.folder(call_id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "meta.json.tmp"
        with self._lock:
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(meta, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, folder / "meta.json")

    def read_meta(self, call_id: str) -> dict[str, Any]:
        path = self.folder(call_id) / "meta.json"
        if not path.exists():
            return {}
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            logger.warning("%s is damaged: starting the call's metadata afresh", path)
            return {}
        return meta if isinstance(meta, dict) else {}

    def call_ids(self) -> list[str]:
        """Every stored call, newest first."""
        if not self.root.is_dir():
            return []
        folders = [p for p in self.root.iterdir() if p.is_dir() and CALL_ID.match(p.name)]
        return [p.name for p in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)]
