"""Speech recognition benchmark on ../shared/data/speech and ../shared/data/calls/audio.

Prints CER per clip and overall (offline = one decode of the whole file with faster-whisper's
VAD; streaming = our recogniser fed 100 ms chunks), the real-time factor, partial latency (wall
time of a partial minus the audio time it covers) and final latency (wall time of a final minus
the end of the speech) under real-time arrival, silence/noise output, and how many stereo calls
run at once in real time.

    .venv/bin/python bench/asr_bench.py [--calls 4] [--concurrency 1,2,3,4] [--seconds 30]

Both sides are normalised before CER: Simplified characters, no punctuation, numbers as digits.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr import engine as engine_module
from asr.audio import load_audio_file
from asr.engine import ENCODER_WINDOWS, WhisperEngine, get_engine
from asr.metrics import edit_distance, normalize_for_cer
from asr.streaming import StreamingRecognizer, StreamOptions, TranscriptEvent
from bench.common import SHARED_DATA, need_shared, percentile
from copilot.settings import Settings

SR = 16000
CHUNK = 1600  # 100 ms
OPTIONS = StreamOptions()  # the recogniser's settings (--final-beam, --hangover change them)
def stream_virtual(engine: WhisperEngine, audio: np.ndarray, speaker: str = "caller"
                   ) -> list[tuple[TranscriptEvent, float]]:
    """Feed chunks as if they arrived in real time, on a virtual clock: chunk i arrives at its
    audio end time; processing starts when both it and the previous processing are done.
    Returns each event with its (virtual) wall time."""
    rec = StreamingRecognizer(engine, speaker, OPTIONS)
    clock = 0.0
    out: list[tuple[TranscriptEvent, float]] = []
    for i in range(0, len(audio), CHUNK):
        arrival = min(i + CHUNK, len(audio)) / SR
        clock = max(clock, arrival)
        started = time.perf_counter()
        rec.insert_audio(audio[i:i + CHUNK])
        events = rec.process()
        clock += time.perf_counter() - started
        out += [(e, clock) for e in events]
    started = time.perf_counter()
    events = rec.finish()
    clock += time.perf_counter() - started
    return out + [(e, clock) for e in events]


def clips() -> list[tuple[str, np.ndarray, str]]:
    folder = need_shared("speech")
    with (folder / "transcripts.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(r["file"], load_audio_file(folder / r["file"]).channels[0], r["transcript"])
            for r in rows]


def call_sides(limit: int) -> list[tuple[str, str, np.ndarray, str, list[float]]]:
    """(call id, speaker, 16 kHz audio, reference text, turn end times) per channel."""
    folder = SHARED_DATA / "calls" / "audio"
    out = []
    for meta_path in sorted(folder.glob("call-*.json"))[:limit]:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        audio = load_audio_file(meta_path.with_suffix(".flac"))
        names = {v: i for i, v in enumerate(meta["channels"].values())}
        for speaker in ("agent", "caller"):
            turns = [t for t in meta["turns"] if t["speaker"] == speaker]
            ref = "".join(t.get("tts_text") or t["text"] for t in turns)
            out.append((meta["id"], speaker, audio.channels[names[speaker]], ref,
                        [t["end"] for t in turns]))
    return out


def accuracy(engine: WhisperEngine, n_calls: int) -> None:
    print("== CER (offline: whole file, beam 5, VAD | streaming: 100 ms chunks)")
    items = [(name, "caller", audio, ref, []) for name, audio, ref in clips()]
    items += call_sides(n_calls)
    total = {"ref": 0, "off": 0, "str": 0}
    audio_s = offline_s = 0.0
    partial_lat: list[float] = []
    final_lat: list[float] = []
    for name, speaker, audio, ref, turn_ends in items:
        started = time.perf_counter()
        offline = engine.decode(audio, beam_size=5, vad_filter=True).text
        offline_s += time.perf_counter() - started
        audio_s += len(audio) / SR
        events = stream_virtual(engine, audio, speaker)
        finals = [e for e, _ in events if e.type == "final"]
        streamed = "".join(e.text for e in finals)
        r = normalize_for_cer(ref)
        e_off = edit_distance(r, normalize_for_cer(offline))
        e_str = edit_distance(r, normalize_for_cer(streamed))
        total["ref"] += len(r)
        total["off"] += e_off
        total["str"] += e_str
        print(f"{name:38s} {speaker:6s} offline {e_off / max(1, len(r)):.3f}  "
              f"streaming {e_str / max(1, len(r)):.3f}  ({len(r)} chars)")
        for e, wall in events:
            if e.type == "partial":
                partial_lat.append(wall - e.end)
            else:
                # end of speech: the reference turn end inside this utterance; an utterance
                # cut at a pause inside a turn ends where the VAD heard the pause begin
                ends = [t for t in turn_ends if e.start <= t <= e.end + 0.3]
                speech_end = max(ends) if ends else e.end
                final_lat.append(wall - speech_end)
    print(f"{'overall':45s} offline {total['off'] / total['ref']:.3f}  "
          f"streaming {total['str'] / total['ref']:.3f}  ({total['ref']} chars)")
    print(f"offline real-time factor: {offline_s / audio_s:.3f} "
          f"({audio_s:.0f} s of audio in {offline_s:.1f} s)")
    print(f"partial latency: p50 {percentile(partial_lat, 50):.2f} s  "
          f"p90 {percentile(partial_lat, 90):.2f} s  (n={len(partial_lat)})")
    print(f"final latency after end of speech: p50 {percentile(final_lat, 50):.2f} s  "
          f"p90 {percentile(final_lat, 90):.2f} s  (n={len(final_lat)})")


def silence_and_noise(engine: WhisperEngine) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(30 * SR) / SR
    cases = {
        "30 s silence": np.zeros(30 * SR, dtype=np.float32),
        "30 s line noise": (0.02 * rng.standard_normal(len(t)) + 0.05 * np.sin(2 * np.pi * 50 * t)
                            + (rng.random(len(t)) < 0.0005) * 0.5).astype(np.float32),
        "30 s loud white noise": (0.3 * rng.standard_normal(len(t))).astype(np.float32),
    }
    for name, audio in cases.items():
        text = "".join(e.text for e, _ in stream_virtual(engine, audio))
        print(f"{name}: {len(text)} characters emitted {text[:40]!r}")


def concurrency(engine: WhisperEngine, n: int, seconds: float) -> None:
    """n stereo calls (two recognisers each) fed in real time by threads; reports the lag of
    the slowest stream at the end and the partial latency."""
    sides = call_sides(8)
    calls = [sides[i % len(sides)][2][: int(seconds * SR)] for i in range(2 * n)]
    lags: list[float] = []
    partial_lat: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()

    def run(audio: np.ndarray) -> None:
        rec = StreamingRecognizer(engine, options=OPTIONS)
        for i in range(0, len(audio), CHUNK):
            wait = (i + CHUNK) / SR - (time.perf_counter() - start)
            if wait > 0:
                time.sleep(wait)
            rec.insert_audio(audio[i:i + CHUNK])
            for e in rec.process():
                if e.type == "partial":
                    with lock:
                        partial_lat.append(time.perf_counter() - start - e.end)
        rec.finish()
        with lock:
            lags.append(time.perf_counter() - start - len(audio) / SR)

    threads = [threading.Thread(target=run, args=(a,)) for a in calls]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    ok = max(lags) < 3.0
    print(f"{n} stereo call(s), {seconds:.0f} s: worst lag at end {max(lags):.2f} s, partials "
          f"{len(partial_lat)} (p90 latency {percentile(partial_lat, 90):.2f} s) -> "
          f"{'real time' if ok else 'falls behind'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4, help="call recordings in the CER run")
    parser.add_argument("--concurrency", default="1,2,3,4")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--only-concurrency", action="store_true")
    parser.add_argument("--threads", type=int, default=2, help="threads per Whisper worker")
    parser.add_argument("--workers", type=int, default=1, help="decodes at once")
    parser.add_argument("--temperatures", default="0.0,0.4", help="temperatures of the "
                        "offline whole-file decode (more than one = fallback on failure)")
    parser.add_argument("--final-beam", type=int, default=StreamOptions.final_beam)
    parser.add_argument("--hangover", type=float, default=StreamOptions.hangover_s,
                        help="seconds of silence that end an utterance")
    parser.add_argument("--windows", default=",".join(map(str, ENCODER_WINDOWS)),
                        help="encoder windows in mel frames shorter than Whisper's 3000 ('' "
                        "for 30 s only)")
    parser.add_argument("--early-final", type=float, default=StreamOptions.early_final_s,
                        help="seconds of silence after which the final is decoded (0: at the "
                        "end of the hangover)")
    args = parser.parse_args()
    global OPTIONS
    OPTIONS = StreamOptions(final_beam=args.final_beam, hangover_s=args.hangover,
                            early_final_s=args.early_final)
    engine_module.ENCODER_WINDOWS = tuple(int(w) for w in args.windows.split(",") if w)
    engine = get_engine(str(Settings().whisper_dir), args.threads, args.workers)
    engine.temperatures = tuple(float(t) for t in args.temperatures.split(","))
    if not args.only_concurrency:
        accuracy(engine, args.calls)
        silence_and_noise(engine)
    for n in (int(x) for x in args.concurrency.split(",") if x):
        concurrency(engine, n, args.seconds)


if __name__ == "__main__":
    main()
