"""The Whisper engine (faster-whisper, Whisper base, int8 on CPU): loaded once per process and
shared by every call behind a lock, never one model per connection."""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asr.normalize import clean_segment

logger = logging.getLogger(__name__)

# Prompting in Simplified Chinese steers Whisper away from Traditional characters.
BASE_PROMPT = "以下是普通话的句子，使用简体中文。"


# Whisper's encoder reads 30 s windows: faster-whisper pads every piece of audio to 3,000 mel
# frames, so a 3 s utterance costs the encoder as much as 30 s (0.27 s on two cores). A piece
# that fits in a shorter window with a second to spare is padded only to that window (15 s:
# 0.06 s). On 4 calls + 5 clips (bench/asr_bench.py --windows): streaming CER 0.242 → 0.241,
# final latency p50 0.79 → 0.55 s, p90 1.14 → 0.78 s, partial p90 0.67 → 0.32 s; a 10 s window
# as well cost 0.4 points of CER for no further gain. A piece under 3 s keeps the 30 s window:
# in 15 s Whisper made words of a short run of digits ('七二四五' → '下速') where in 30 s it
# returns nothing and the recogniser decodes it again behind its context.
ENCODER_WINDOWS: tuple[int, ...] = (1500,)  # mel frames (10 ms); 3,000 beyond the last
_WINDOW_MARGIN = 100
_SHORTEST = 300  # pieces of fewer frames keep Whisper's own 30 s window


def _pad_to_window(array: np.ndarray, length: int = 3000, *, axis: int = -1) -> np.ndarray:
    """faster-whisper's ``pad_or_trim``, to the shortest encoder window the audio fits."""
    from faster_whisper.audio import pad_or_trim

    frames = array.shape[axis]
    for window in ENCODER_WINDOWS if frames >= _SHORTEST else ():
        if frames <= window - _WINDOW_MARGIN and window < length:
            return pad_or_trim(array, window, axis=axis)
    return pad_or_trim(array, length, axis=axis)


def _install_encoder_windows() -> None:
    """Make faster-whisper's decoding loop pad each piece with ``_pad_to_window``."""
    import faster_whisper.transcribe as fw

    if getattr(fw, "pad_or_trim", None) is None:
        raise RuntimeError("this faster-whisper has no transcribe.pad_or_trim: the encoder "
                           "window cannot be set (pin faster-whisper as pyproject.toml does)")
    fw.pad_or_trim = _pad_to_window


@dataclass
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Decoded:
    text: str
    segments: list[Segment] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    seconds: float = 0.0


def build_prompt(hotwords: list[str] | None) -> str:
    """The initial prompt: the base sentence plus the names expected in this call."""
    if not hotwords:
        return BASE_PROMPT
    names = "，".join(dict.fromkeys(w.strip() for w in hotwords if w.strip()))
    return f"{BASE_PROMPT}{names}。"[:220]


class WhisperEngine:
    def __init__(self, model_dir: Path, threads: int = 2, compute_type: str = "int8",
                 temperatures: tuple[float, ...] = (0.0, 0.4), workers: int = 1) -> None:
        """``workers`` decodes run at once, each on ``threads`` threads (one model in memory)."""
        from faster_whisper import WhisperModel
        from threadpoolctl import threadpool_limits

        # One BLAS thread for the whole process, as the query encoder sets: the mel
        # spectrogram is a numpy product whose last bits differ with 1 or 2 threads, and a
        # borderline utterance then decodes to other words ('…二三五四' or '2354'); with one
        # fixed setting the same audio gives the same text whichever model loaded first.
        threadpool_limits(1, user_api="blas")
        self.temperatures = temperatures
        self.workers = workers
        started = time.perf_counter()
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type,
                                  cpu_threads=threads, num_workers=workers)
        _install_encoder_windows()
        self._lock = threading.Semaphore(workers)
        self._state = threading.Lock()
        self._queued = 0  # decodes running or waiting for the model
        logger.info("Whisper loaded from %s in %.1f s", model_dir, time.perf_counter() - started)

    @property
    def busy(self) -> bool:
        """Whether a new decode would have to wait for a worker."""
        return self._queued >= self.workers

    def decode(self, audio: np.ndarray, *, beam_size: int = 5, hotwords: list[str] | None = None,
               vad_filter: bool = False, timestamps: bool = False,
               temperatures: tuple[float, ...] | None = None) -> Decoded:
        """Transcribe 16 kHz float32 mono audio as Mandarin; text cleaned (Simplified,
        punctuation, no hallucinated credits or loops). Thread-safe (``workers`` at a time).

        ``temperatures``: instead of the engine's (0 with a fallback to 0.4, which rescues a
        whole-file decode caught in a repetition loop but makes the output random)."""
        if audio.size == 0:
            return Decoded(text="")
        started = time.perf_counter()
        with self._state:
            self._queued += 1
        try:
            with self._lock:
                raw = self._transcribe(audio, beam_size, hotwords, vad_filter, timestamps,
                                       temperatures or self.temperatures)
        finally:
            with self._state:
                self._queued -= 1
        return self._result(raw, started)

    def _transcribe(self, audio: np.ndarray, beam_size: int, hotwords: list[str] | None,
                    vad_filter: bool, timestamps: bool,
                    temperatures: tuple[float, ...]) -> list:  # type: ignore[type-arg]
        segments, _info = self.model.transcribe(
            audio, language="zh", task="transcribe", beam_size=beam_size, best_of=1,
            temperature=list(temperatures), condition_on_previous_text=False,
            initial_prompt=build_prompt(hotwords), without_timestamps=not timestamps,
            vad_filter=vad_filter, no_speech_threshold=0.6, log_prob_threshold=-1.0,
            compression_ratio_threshold=2.4,
        )
        return list(segments)

    def _result(self, raw: list, started: float) -> Decoded:  # type: ignore[type-arg]
        out: list[Segment] = []
        for seg in raw:
            if seg.no_speech_prob > 0.6 and seg.avg_logprob < -0.8:
                continue  # Whisper itself thinks there is no speech here
            text = clean_segment(seg.text)
            if text:
                out.append(Segment(float(seg.start), float(seg.end), text))
        return Decoded(
            text="".join(s.text for s in out),
            segments=out,
            avg_logprob=float(np.mean([s.avg_logprob for s in raw])) if raw else 0.0,
            no_speech_prob=float(np.max([s.no_speech_prob for s in raw])) if raw else 1.0,
            seconds=time.perf_counter() - started,
        )


@functools.lru_cache(maxsize=1)
def get_engine(model_dir: str, threads: int = 2, workers: int = 1) -> WhisperEngine:
    """The process-wide engine (prepared from the wheels on first use)."""
    from asr.model_files import prepare_whisper

    return WhisperEngine(prepare_whisper(Path(model_dir)), threads=threads, workers=workers)
