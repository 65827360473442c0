"""The streaming recogniser with the real Whisper base model and silero VAD."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest

from asr.audio import AudioFormatError, load_audio_file, pcm16_to_float, resample_to_16k
from asr.engine import get_engine
from asr.gazetteer import Gazetteer
from asr.metrics import cer
from asr.streaming import StreamingRecognizer, StreamOptions, TranscriptEvent, common_prefix
from copilot.settings import Settings
from tests.conftest import SHARED_DATA, requires_shared_data

pytestmark = pytest.mark.slow
SR = 16000


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return get_engine(str(Settings().whisper_dir), 2)


def run_stream(engine, audio: np.ndarray, speaker: str = "caller",  # type: ignore[no-untyped-def]
               chunk_s: float = 0.1, **options: Any) -> list[TranscriptEvent]:
    """``options``: StreamOptions fields, and ``correct`` for the recogniser."""
    correct = options.pop("correct", None)
    rec = StreamingRecognizer(engine, speaker=speaker, options=StreamOptions(**options),
                              correct=correct)
    events: list[TranscriptEvent] = []
    step = int(chunk_s * SR)
    for i in range(0, len(audio), step):
        rec.insert_audio(audio[i:i + step])
        events += rec.process()
    return events + rec.finish()


def test_thirty_seconds_of_silence_give_no_text(engine) -> None:  # type: ignore[no-untyped-def]
    assert run_stream(engine, np.zeros(30 * SR, dtype=np.float32)) == []


def test_thirty_seconds_of_line_noise_give_no_text(engine) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    t = np.arange(30 * SR) / SR
    noise = 0.02 * rng.standard_normal(len(t)) + 0.05 * np.sin(2 * np.pi * 50 * t)
    clicks = (rng.random(len(t)) < 0.0005) * 0.5
    events = run_stream(engine, (noise + clicks).astype(np.float32))
    assert "".join(e.text for e in events) == ""


@requires_shared_data("speech", "BAC009S0764W0121.wav")
def test_partials_settle_and_final_is_accurate(engine) -> None:  # type: ignore[no-untyped-def]
    clip = load_audio_file(SHARED_DATA / "speech" / "BAC009S0764W0121.wav").channels[0]
    silence = np.zeros(SR, dtype=np.float32)
    events = run_stream(engine, np.concatenate([silence, clip, silence, silence]))
    finals = [e for e in events if e.type == "final"]
    partials = [e for e in events if e.type == "partial"]
    assert len(finals) >= 1
    assert cer("甚至出现交易几乎停滞的情况", "".join(e.text for e in finals)) <= 0.25
    assert partials, "a 4 s utterance gives partials before its final"
    stables = [p.stable for p in partials]
    for earlier, later in itertools.pairwise(stables):
        assert later.startswith(earlier)  # the agreed prefix never flickers
    for p in partials:
        assert p.text.startswith(p.stable)
        assert p.start < p.end <= finals[-1].end + 1e-6
    assert 0.5 <= finals[0].start <= 1.5  # the clip starts after 1 s of silence


@requires_shared_data("calls", "audio", "call-031.flac")
def test_stereo_telephone_call_keeps_speakers_apart(engine) -> None:  # type: ignore[no-untyped-def]
    audio = load_audio_file(SHARED_DATA / "calls" / "audio" / "call-031.flac")
    meta = json.loads((SHARED_DATA / "calls" / "audio" / "call-031.json").read_text("utf-8"))
    assert len(audio.channels) == 2
    left, right = audio.channels
    seconds = 35 * SR  # the first half of the call keeps the test short
    agent = run_stream(engine, left[:seconds], "agent")
    caller = run_stream(engine, right[:seconds], "caller")
    gold = {s: "".join(t["text"] for t in meta["turns"]
                       if t["speaker"] == s and t["end"] <= 35) for s in ("agent", "caller")}
    for speaker, events in (("agent", agent), ("caller", caller)):
        finals = [e for e in events if e.type == "final"]
        assert finals and all(e.speaker == speaker for e in finals)
        assert cer(gold[speaker], "".join(e.text for e in finals)) <= 0.45
    # the caller's utterances sit where the caller spoke, not the agent
    turns = [t for t in meta["turns"] if t["speaker"] == "caller" and t["end"] <= 35]
    for e in (e for e in caller if e.type == "final"):
        assert any(t["start"] - 0.6 <= e.start and e.end <= t["end"] + 0.8 for t in turns)


def test_pcm_frames_and_resampling() -> None:
    stereo = np.array([[1000, -1000], [2000, -2000]], dtype="<i2").tobytes()
    frames = pcm16_to_float(stereo, 2)
    assert frames.shape == (2, 2) and frames[1, 0] == pytest.approx(2000 / 32768)
    with pytest.raises(AudioFormatError, match="multiple of 4 bytes"):
        pcm16_to_float(stereo[:-1], 2)
    tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000).astype(np.float32)
    up = resample_to_16k(tone, 8000)
    assert len(up) == 16000
    spectrum = np.abs(np.fft.rfft(up))
    assert abs(np.argmax(spectrum) * SR / len(up) - 440) < 2
    with pytest.raises(AudioFormatError, match="8000 or 16000"):
        resample_to_16k(tone, 44100)


def test_unreadable_file_gets_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "call.wav"
    bad.write_bytes(b"RIFF0000WAVEnot really audio")
    with pytest.raises(AudioFormatError, match="not a readable audio file"):
        load_audio_file(bad)


def test_common_prefix() -> None:
    assert common_prefix("我要投诉", "我要咨询") == "我要"
    assert common_prefix("", "abc") == ""


@requires_shared_data("calls", "audio", "call-164.flac")
def test_a_short_piece_after_a_pause_is_heard_behind_its_context(engine) -> None:  # type: ignore[no-untyped-def]
    # '电话幺三五，零七零八，七二四五': the pause cuts off '七二四五' (1.1 s), which Whisper
    # alone decodes to nothing; behind the end of '…零七零八' it is heard.
    audio = load_audio_file(SHARED_DATA / "calls" / "audio" / "call-164.flac")
    caller = audio.channels[1][33 * SR:41 * SR]
    finals = [e.text for e in run_stream(engine, caller) if e.type == "final"]
    assert len(finals) >= 2  # the piece after the pause is an utterance of its own
    digits = "".join(finals).translate(str.maketrans("零一二三四五六七八九", "0123456789"))
    assert "0708" in digits and digits.endswith("7245"), finals
    assert digits.count("0708") == 1  # the context said again is not repeated


@requires_shared_data("calls", "audio", "call-072.flac")
def test_the_same_audio_gives_the_same_finals_however_it_arrives(engine) -> None:  # type: ignore[no-untyped-def]
    # A browser sends frames of whatever size its timer produces; the VAD must judge every
    # sample once, so the utterances (and the phone said in groups) do not depend on it.
    audio = load_audio_file(SHARED_DATA / "calls" / "audio" / "call-072.flac").channels[1]
    piece = audio[int(39.0 * SR):int(45.0 * SR)]
    finals = {chunk: [(e.text, e.start, e.end) for e in run_stream(engine, piece, chunk_s=chunk)
                      if e.type == "final"] for chunk in (0.1, 0.0485)}
    assert finals[0.1] == finals[0.0485]
    digits = "".join(t for t, _, _ in finals[0.1]).replace("-", "")
    assert "18723546091" in digits, finals


@requires_shared_data("calls", "audio", "call-031.flac")
def test_a_final_decoded_early_in_a_pause_is_the_final_of_the_endpoint(engine) -> None:  # type: ignore[no-untyped-def]
    # The final is decoded 0.2 s into a pause and held until the pause is 0.5 s long; speech
    # resuming first throws it away. The finals must be those decoded at the endpoint.
    audio = load_audio_file(SHARED_DATA / "calls" / "audio" / "call-031.flac").channels[1]
    piece = audio[int(4.5 * SR):int(32 * SR)]
    finals = {early: [(e.text, e.start, e.end) for e in run_stream(engine, piece,
                                                                   early_final_s=early)
                      if e.type == "final"] for early in (0.0, 0.2)}
    assert len(finals[0.2]) >= 2
    assert finals[0.2] == finals[0.0]


@requires_shared_data("calls", "audio", "call-164.flac")
def test_finals_are_corrected_against_the_name_directory(engine) -> None:  # type: ignore[no-untyped-def]
    # Whisper base writes '红谷滩区，丰和中大道' with other characters of the same sound; the
    # directory of names puts them right.
    audio = load_audio_file(SHARED_DATA / "calls" / "audio" / "call-164.flac").channels[1]
    turn = audio[int(52 * SR):int(57.5 * SR)]
    names = Gazetteer(["红谷滩区", "丰和中大道", "南昌市", "江景华府"])
    finals = [e.text for e in run_stream(engine, turn, correct=lambda t: names.correct(t)[0])
              if e.type == "final"]
    assert "红谷滩区" in "".join(finals) and "丰和中大道" in "".join(finals), finals
    partials = [e.text for e in run_stream(engine, turn) if e.type == "partial"]
    assert partials  # partials are shown as heard (only finals are corrected)
