"""The Whisper base model joined from the two wheels loads in faster-whisper and recognises
Mandarin (the ASR issue builds the streaming recogniser on it)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from asr.metrics import cer
from asr.model_files import PART_SHA256, prepare_whisper
from copilot.settings import Settings
from tests.conftest import SHARED_DATA, requires_shared_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    from faster_whisper import WhisperModel

    path = prepare_whisper(Settings().whisper_dir)
    assert (path / "model.bin").stat().st_size == 2 * 72608766
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getsampwidth() == 2 and w.getnchannels() == 1
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768


def test_prepare_is_idempotent_and_checks_hashes(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    path = Settings().whisper_dir
    mtime = (path / "model.bin").stat().st_mtime
    assert prepare_whisper(path) == path
    assert (path / "model.bin").stat().st_mtime == mtime
    assert set(PART_SHA256) == {"model.bin.part1", "model.bin.part2"}


@requires_shared_data("speech", "BAC009S0764W0121.wav")
def test_transcribes_an_aishell_clip(model) -> None:  # type: ignore[no-untyped-def]
    audio = _read_wav(SHARED_DATA / "speech" / "BAC009S0764W0121.wav")
    segments, info = model.transcribe(audio, language="zh", beam_size=5,
                                      condition_on_previous_text=False)
    text = "".join(s.text for s in segments)
    assert info.language == "zh"
    assert cer("甚至出现交易几乎停滞的情况", text) <= 0.25, text
