"""Recorded calls the operator console can play as 演示录音 (demonstration and training).

The files are the ``.wav`` / ``.flac`` files directly inside ``COPILOT_DEMO_AUDIO_DIR`` (by
default the shared test recordings beside the project, when they are there); the list is empty
when there is no such folder. A file is served only by its plain name from that folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from copilot.api.deps import ContextDep

router = APIRouter(prefix="/api/v1/demo", tags=["demo"])

AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _folder(ctx: ContextDep) -> Path | None:
    folder = ctx.settings.demo_audio_dir
    return folder if folder is not None and folder.is_dir() else None


def _describe(path: Path) -> dict[str, Any]:
    """Name and size, plus the duration and turn count from a ``NAME.json`` beside it."""
    out: dict[str, Any] = {"name": path.name, "bytes": path.stat().st_size,
                           "duration_s": None, "turns": None}
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            out["duration_s"] = float(meta["duration"]) if "duration" in meta else None
            out["turns"] = len(meta["turns"]) if isinstance(meta.get("turns"), list) else None
        except (ValueError, TypeError, KeyError, OSError):
            pass  # a broken sidecar only loses the extra details
    return out


@router.get("/audio")
def list_audio(ctx: ContextDep) -> dict[str, Any]:
    """The recorded calls on offer (empty when no folder is configured or present)."""
    folder = _folder(ctx)
    if folder is None:
        return {"files": [], "folder_configured": ctx.settings.demo_audio_dir is not None}
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in AUDIO_TYPES and _NAME.match(p.name))
    return {"files": [_describe(p) for p in files], "folder_configured": True}


@router.get("/audio/{name}")
def get_audio(ctx: ContextDep, name: str) -> FileResponse:
    """One recorded call, by the name the list gave."""
    folder = _folder(ctx)
    suffix = Path(name).suffix.lower()
    if folder is None or not _NAME.match(name) or suffix not in AUDIO_TYPES:
        raise HTTPException(404, detail=f"no demo recording {name!r}")
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise HTTPException(404, detail=f"no demo recording {name!r}")
    return FileResponse(str(path), media_type=AUDIO_TYPES[suffix])
