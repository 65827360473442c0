"""Streaming recognition over Whisper, free of any transport code.

``insert_audio(chunk)`` adds 16 kHz float32 audio; ``process()`` returns the events that the
audio so far allows; ``finish()`` closes the stream. Voice activity (silero) finds utterances;
while one is spoken, a fast greedy decode every ``partial_interval_s`` of audio gives a partial
whose agreed prefix (LocalAgreement: what two decodes in a row share) never changes again; when
the speaker pauses for ``hangover_s`` a wider-beam decode, prompted with the call's hotwords,
gives the final text. An utterance longer than ``max_utterance_s`` is cut at its quietest frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

import numpy as np

from asr.audio import SAMPLE_RATE
from asr.engine import Decoded
from asr.vad import FRAME, FrameVad

logger = logging.getLogger(__name__)


class Decoder(Protocol):
    @property
    def busy(self) -> bool: ...

    def decode(self, audio: np.ndarray, *, beam_size: int = 5,
               hotwords: list[str] | None = None,
               temperatures: tuple[float, ...] | None = None) -> Decoded: ...


@dataclass(frozen=True)
class StreamOptions:
    partial_interval_s: float = 1.0
    speech_threshold: float = 0.5
    silence_threshold: float = 0.35
    min_speech_s: float = 0.25
    hangover_s: float = 0.5
    preroll_s: float = 0.3
    max_utterance_s: float = 14.0  # cut within the 15 s encoder window (asr/engine.py)
    partial_beam: int = 1
    # beam 3, not 5: on 4 calls + 5 clips streaming CER 0.239 vs 0.259 and final latency p50
    # 1.42 vs 1.52 s (bench/asr_bench.py --calls 4 --final-beam N)
    final_beam: int = 3
    # Finals decode at temperature 0 only: the same audio always gives the same text. The
    # fallback to sampling (0.4) changed the streaming CER of none of 21 call sides
    # (bench/asr_bench.py, 0.235 both ways) but made a call's transcript differ between runs.
    final_temperatures: tuple[float, ...] = (0.0,)
    # a short piece that decodes to nothing is decoded again behind the last ``context_s`` of
    # the previous utterance, when it follows it within ``context_gap_s`` and is at most
    # ``context_max_s`` long
    context_s: float = 1.5  # 1.0 s stopped hearing '七二四五' once the VAD judged each sample once
    context_beam: int = 5  # the wider beam hears '七二四五' behind '…零七零八'; 3 did not
    context_gap_s: float = 1.5
    context_max_s: float = 4.0
    # The final is decoded once the speaker has been quiet ``early_final_s`` and held back
    # until the pause reaches ``hangover_s``; speech that resumes first throws it away. The
    # text is the one the endpoint would decode (same audio), ``hangover_s - early_final_s``
    # sooner. 0 turns it off; it is skipped while other streams wait for the decoder.
    early_final_s: float = 0.2
    max_backlog_s: float = 1.5  # more unprocessed audio than this: skip partials, keep finals
    # while other streams' decodes are running or waiting, a partial waits up to this long
    busy_partial_interval_s: float = 3.0


@dataclass
class TranscriptEvent:
    type: Literal["partial", "final"]
    speaker: str
    text: str
    start: float  # audio seconds from the start of the stream
    end: float
    utterance: int
    stable: str = ""  # partials: the prefix that later partials and the final keep

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# Chinese digits as Arabic, one character for one, to find words said again whichever way the
# normaliser wrote them ('零七零八' / '0708').
_DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")


def common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


@dataclass
class _Utterance:
    start: int  # absolute sample
    index: int
    last_partial_end: int = 0
    previous: str = ""
    committed: str = ""
    low_prob: list[float] = field(default_factory=list)
    early: tuple[int, str] | None = None  # (end sample, text) of a final decoded in a pause


class StreamingRecognizer:
    def __init__(self, engine: Decoder, speaker: str = "caller",
                 options: StreamOptions | None = None,
                 hotwords: Callable[[], list[str]] | None = None,
                 correct: Callable[[str], str] | None = None) -> None:
        """``hotwords``: names for the final's prompt; ``correct``: rewrites a final's text
        (the call's name directory, copilot/calls/names.py)."""
        self.engine = engine
        self.speaker = speaker
        self.opt = options or StreamOptions()
        self.hotwords = hotwords
        self.correct = correct
        self._vad = FrameVad()
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute sample of _buf[0]
        self._received = 0  # samples inserted
        self._vad_done = 0  # samples whose VAD frame was judged
        self._vad_fed = 0  # samples handed to the VAD (it keeps a partial frame itself)
        self._speech_run = 0
        self._silence_run = 0
        self._utt: _Utterance | None = None
        self._count = 0
        self._frame_probs: list[float] = []  # probs of the current utterance's frames …
        self._probs_start = 0  # … the first of which starts at this sample
        # the end of the last utterance with text: (its last audio, its text, its end sample)
        self._context: tuple[np.ndarray, str, int] | None = None
        self.finished = False

    # ------------------------------------------------------------------ input

    def insert_audio(self, audio: np.ndarray) -> None:
        if self.finished:
            raise RuntimeError("the stream is finished")
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        self._buf = np.concatenate([self._buf, audio])
        self._received += len(audio)

    @property
    def audio_seconds(self) -> float:
        return self._received / SAMPLE_RATE

    # ------------------------------------------------------------------ processing

    def process(self) -> list[TranscriptEvent]:
        """Judge the new audio and return the events it produces."""
        events: list[TranscriptEvent] = []
        backlog = self._received - self._vad_done
        # Each sample goes to the VAD once, whatever the sizes of the chunks: it holds the
        # part of a frame that is not complete yet (handing it over again doubled those
        # samples, so pauses were judged differently depending on how the audio arrived).
        new = self._buf[self._vad_fed - self._buf_start:]
        self._vad_fed = self._received
        probs = self._vad(new) if len(new) else np.zeros(0, dtype=np.float32)
        opt = self.opt
        min_speech = max(1, round(opt.min_speech_s * SAMPLE_RATE / FRAME))
        hangover = max(1, round(opt.hangover_s * SAMPLE_RATE / FRAME))
        early = round(opt.early_final_s * SAMPLE_RATE / FRAME)
        max_len = int(opt.max_utterance_s * SAMPLE_RATE)
        for prob in probs:
            frame_start = self._vad_done
            self._vad_done += FRAME
            if self._utt is None:
                self._speech_run = self._speech_run + 1 if prob >= opt.speech_threshold else 0
                if self._speech_run >= min_speech:
                    onset = frame_start - (self._speech_run - 1) * FRAME
                    start = max(self._buf_start, onset - int(opt.preroll_s * SAMPLE_RATE))
                    self._utt = _Utterance(start=start, index=self._count,
                                           last_partial_end=start)
                    self._count += 1
                    self._silence_run = 0
                    self._frame_probs = []
                    self._probs_start = self._vad_done
                else:
                    self._trim()
                continue
            self._frame_probs.append(float(prob))
            self._silence_run = self._silence_run + 1 if prob < opt.silence_threshold else 0
            if self._silence_run >= hangover:
                events += self._final(self._pause_start())
            elif 0 < early == self._silence_run and not self.engine.busy:
                end = self._final_end(self._pause_start())
                self._utt.early = (end, self._decode_final(end))
            elif self._vad_done - self._utt.start >= max_len:
                events += self._final(self._cut_point(), cut=True)
        utt = self._utt
        if (utt is not None and backlog <= opt.max_backlog_s * SAMPLE_RATE
                and (not early or self._silence_run < early)):
            # Partials share the machine with every other stream: when decodes are queued,
            # this stream's partial waits (finals never do), so a busy machine shows partials
            # less often instead of falling behind.
            interval = (opt.busy_partial_interval_s if self.engine.busy
                        else opt.partial_interval_s)
            if self._vad_done - utt.last_partial_end >= interval * SAMPLE_RATE:
                events += self._partial()
        return events

    def finish(self) -> list[TranscriptEvent]:
        """Flush: the final of an utterance still open when the audio ends."""
        events = self.process()
        if self._utt is not None:
            events += self._final(self._received)
        self.finished = True
        return events

    # ------------------------------------------------------------------ helpers

    def _audio(self, start: int, end: int) -> np.ndarray:
        return self._buf[start - self._buf_start:end - self._buf_start]

    def _trim(self) -> None:
        """Outside speech keep only the pre-roll."""
        keep_from = self._vad_done - int(self.opt.preroll_s * SAMPLE_RATE) - FRAME
        if keep_from > self._buf_start:
            self._buf = self._buf[keep_from - self._buf_start:]
            self._buf_start = keep_from

    def _cut_point(self) -> int:
        """The end of the quietest frame in the last third of a too-long utterance."""
        probs = self._frame_probs
        lo = len(probs) * 2 // 3
        i = lo + int(np.argmin(probs[lo:])) if probs[lo:] else len(probs) - 1
        return self._probs_start + (i + 1) * FRAME

    def _with_context(self, audio: np.ndarray, start: int,
                      hotwords: list[str] | None) -> str:
        """Whisper often returns nothing for a short piece said after a pause ('…零七零八，
        七二四五'); decoded behind the end of the previous utterance it is heard. The words of
        that end, said again at the start, are removed; without such an overlap nothing is
        returned rather than risk repeating them."""
        tail, previous, previous_end = self._context  # type: ignore[misc]
        if (len(audio) > self.opt.context_max_s * SAMPLE_RATE
                or start - previous_end > self.opt.context_gap_s * SAMPLE_RATE):
            return ""
        text = self.engine.decode(np.concatenate([tail, audio]), beam_size=self.opt.context_beam,
                                  hotwords=hotwords,
                                  temperatures=self.opt.final_temperatures).text
        said, again = previous.translate(_DIGITS), text.translate(_DIGITS)
        for n in range(min(len(said), len(again)), 1, -1):
            if again.startswith(said[-n:]):
                return text[n:].lstrip("，,。、 ")
        return ""

    def _partial(self) -> list[TranscriptEvent]:
        utt = self._utt
        assert utt is not None
        end = self._vad_done
        utt.last_partial_end = end
        text = self.engine.decode(self._audio(utt.start, end), beam_size=self.opt.partial_beam,
                                  temperatures=(0.0,)).text
        agreed = common_prefix(utt.previous, text)
        if len(agreed) > len(utt.committed) and agreed.startswith(utt.committed):
            utt.committed = agreed
        utt.previous = text
        shown = text if text.startswith(utt.committed) else utt.committed
        if not shown:
            return []
        return [TranscriptEvent("partial", self.speaker, shown, utt.start / SAMPLE_RATE,
                                end / SAMPLE_RATE, utt.index, stable=utt.committed)]

    def _pause_start(self) -> int:
        """Where the final of an utterance ends when the current pause ends it: two frames
        into the pause."""
        return self._vad_done - (self._silence_run - 2) * FRAME

    def _final_end(self, end: int) -> int:
        assert self._utt is not None
        return max(self._utt.start, min(end, self._received))

    def _decode_final(self, end: int) -> str:
        """The final text of the current utterance up to ``end``; changes no state."""
        utt = self._utt
        assert utt is not None
        hotwords = self.hotwords() if self.hotwords else None
        audio = self._audio(utt.start, end)
        text = self.engine.decode(audio, beam_size=self.opt.final_beam, hotwords=hotwords,
                                  temperatures=self.opt.final_temperatures).text
        if not text and self._context is not None:
            text = self._with_context(audio, utt.start, hotwords)
        if text and self.correct is not None:
            text = self.correct(text)
        return text

    def _final(self, end: int, cut: bool = False) -> list[TranscriptEvent]:
        utt = self._utt
        assert utt is not None
        end = self._final_end(end)
        if utt.early is not None and utt.early[0] == end:
            text = utt.early[1]  # decoded early in this same pause, from the same audio
        else:
            text = self._decode_final(end)
        audio = self._audio(utt.start, end)
        self._context = None
        if text:
            tail = audio[-int(self.opt.context_s * SAMPLE_RATE):]
            self._context = (tail.copy(), text, end)
        event = TranscriptEvent("final", self.speaker, text, utt.start / SAMPLE_RATE,
                                end / SAMPLE_RATE, utt.index)
        self._speech_run = 0
        self._silence_run = 0
        if cut:
            # cut inside speech: the audio after the cut opens the next utterance
            kept = (end - self._probs_start) // FRAME
            self._frame_probs = self._frame_probs[kept:]
            self._probs_start = end
            self._utt = _Utterance(start=end, index=self._count, last_partial_end=end)
            self._count += 1
            drop = end - self._buf_start
        else:
            self._utt = None
            self._frame_probs = []
            drop = self._vad_done - int(self.opt.preroll_s * SAMPLE_RATE) - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return [event] if text else []
