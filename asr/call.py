"""A call's audio as it arrives: interleaved PCM frames → one recogniser per channel.

Stereo call-centre audio has one side per channel (which one is the caller is said in the start
message); mono audio has one recogniser. 8 kHz telephone audio is resampled to 16 kHz with a
stateful polyphase filter, so frame boundaries leave no clicks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from asr.audio import SAMPLE_RATE, SUPPORTED_RATES, AudioFormatError, pcm16_to_float
from asr.streaming import Decoder, StreamingRecognizer, StreamOptions, TranscriptEvent


class StreamResampler:
    """Chunk-by-chunk 8 → 16 kHz with ``_CONTEXT`` input samples of look-behind and -ahead."""

    _CONTEXT = 64

    def __init__(self, rate: int) -> None:
        if rate not in SUPPORTED_RATES:
            raise AudioFormatError(f"sample rate {rate} Hz is not supported: send 8000 or 16000")
        self.factor = SAMPLE_RATE // rate
        self._tail = np.zeros(2 * self._CONTEXT, dtype=np.float32)
        self._started = False

    def __call__(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        if self.factor == 1:
            return x.astype(np.float32, copy=False)
        from scipy.signal import resample_poly

        p = self._CONTEXT
        data = np.concatenate([self._tail, x.astype(np.float32)])
        if final:
            data = np.concatenate([data, np.zeros(p, dtype=np.float32)])
        if len(data) < 2 * p + 1:
            self._tail = data if not final else np.zeros(0, dtype=np.float32)
            return np.zeros(0, dtype=np.float32)
        y = resample_poly(data, self.factor, 1)
        out = y[self.factor * p:self.factor * (len(data) - p)]
        if not self._started:  # the first context is the zero padding, not audio
            out = out[self.factor * p:]
            self._started = True
        self._tail = data[-2 * p:]
        return out.astype(np.float32)


@dataclass(frozen=True)
class CallAudioFormat:
    sample_rate: int = 8000
    channels: int = 2
    caller_channel: int = 1  # stereo: 0 = left, 1 = right (call centres: agent left)
    mono_speaker: str = "caller"

    def validate(self) -> None:
        if self.sample_rate not in SUPPORTED_RATES:
            raise AudioFormatError(f"sample_rate must be 8000 or 16000, got {self.sample_rate}")
        if self.channels not in (1, 2):
            raise AudioFormatError(f"channels must be 1 or 2, got {self.channels}")
        if self.caller_channel not in (0, 1):
            raise AudioFormatError("caller_channel must be 0 (left) or 1 (right)")

    @property
    def speakers(self) -> list[str]:
        if self.channels == 1:
            return [self.mono_speaker]
        return ["caller" if i == self.caller_channel else "agent" for i in range(2)]

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * 2


class CallTranscriber:
    """Feeds a call's frames to its recognisers; events come back in audio-time order.

    Thread-safe: a websocket handler that is cancelled mid-decode leaves its worker thread
    running, and the flush that follows must wait for it rather than race it."""

    def __init__(self, engine: Decoder, fmt: CallAudioFormat,
                 options: StreamOptions | None = None,
                 hotwords: Callable[[], list[str]] | None = None,
                 correct: Callable[[str], str] | None = None) -> None:
        fmt.validate()
        self.fmt = fmt
        self.recognizers = [StreamingRecognizer(engine, speaker, options, hotwords, correct)
                            for speaker in fmt.speakers]
        self._resamplers = [StreamResampler(fmt.sample_rate) for _ in fmt.speakers]
        self.bytes_received = 0
        self._lock = threading.RLock()

    def feed(self, frame: bytes) -> None:
        """Add one binary frame (pcm_s16le, interleaved); raises AudioFormatError if it is
        not whole samples of the announced channel count."""
        pcm = pcm16_to_float(frame, self.fmt.channels)
        with self._lock:
            self.bytes_received += len(frame)
            for ch, (rec, resample) in enumerate(zip(self.recognizers, self._resamplers,
                                                     strict=True)):
                rec.insert_audio(resample(pcm[:, ch]))

    @property
    def audio_seconds(self) -> float:
        return self.bytes_received / self.fmt.bytes_per_second

    def process(self) -> list[TranscriptEvent]:
        with self._lock:
            events = [e for rec in self.recognizers for e in rec.process()]
        return sorted(events, key=lambda e: (e.end, e.type != "final"))

    def finish(self) -> list[TranscriptEvent]:
        with self._lock:
            if self.recognizers[0].finished:
                return []
            for rec, resample in zip(self.recognizers, self._resamplers, strict=True):
                rec.insert_audio(resample(np.zeros(0, dtype=np.float32), final=True))
            events = [e for rec in self.recognizers for e in rec.finish()]
        return sorted(events, key=lambda e: (e.end, e.type != "final"))
