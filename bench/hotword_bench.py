"""Hotword biasing: does putting the call's names in Whisper's prompt help, and what does it
break? Streams the shared stereo call recordings (both sides, 100 ms chunks, finals only) under
each way of choosing the hotwords and prints the CER of every side, the overall CER, and how
many of the calls' names (caller, merchant, district, city, road) come out written right.

    .venv/bin/python bench/hotword_bench.py [--calls 8] [--modes none,call,oracle,gazetteer]

Modes: ``none`` — no hotwords (the base prompt only); ``call`` — the names the form filler has
taken from the finals so far (both sides, as they are recognised) in the prompt; ``oracle`` —
the gold names of the call in the prompt from the start (the most prompting could give, not
reachable in service); ``gazetteer`` — no prompt, each final corrected by sound against a
directory of names (asr/gazetteer.py): every province, city and county-level division of
China, the roads, towns, communities and places of ner/address_parsing_dev.txt (a stand-in
for a city's street directory, thousands of names) and the roads of the 40 annotated calls;
``gazetteer+history`` adds the merchants of the 40 calls (what a hotline's past tickets would
hold). Both gazetteer modes also report how many characters of the 40 calls' reference
transcripts they would wrongly change (damage on text that was right).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.audio import load_audio_file
from asr.engine import WhisperEngine, get_engine
from asr.gazetteer import Gazetteer
from asr.metrics import edit_distance, normalize_for_cer
from asr.streaming import StreamingRecognizer, StreamOptions
from bench.common import SHARED_DATA, need_shared
from copilot.calls.names import road_name
from copilot.form import FormFiller
from copilot.form.regions import CITY, PROVINCE, division_names
from copilot.settings import Settings

SR = 16000
CHUNK = 1600
FINALS_ONLY = StreamOptions(partial_interval_s=1e9)  # partials do not change the finals


# work-order fields whose values are names (not numbers, dates or amounts)
NAME_FIELDS: tuple[str, ...] = ("caller_name", "merchant", "district", "city")


def form_names(values: dict[str, str | None]) -> list[str]:
    """The names among a work order's values (and the road its address starts with)."""
    words = [v.strip() for name in NAME_FIELDS if (v := values.get(name)) and v.strip()]
    if road := road_name(values.get("street_address")):
        words.append(road)
    return list(dict.fromkeys(words))


def annotated_calls() -> list[dict]:  # type: ignore[type-arg]
    with (need_shared("calls") / "calls.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def address_names() -> list[str]:
    """Roads, towns, communities and places of the address parsing set."""
    names, current, kind = [], "", ""
    for line in (need_shared("ner") / "address_parsing_dev.txt").read_text(
            encoding="utf-8").splitlines():
        parts = line.split()
        tag = parts[1] if len(parts) == 2 else "O"
        if tag.startswith("I-") and tag[2:] == kind:
            current += parts[0]
            continue
        if kind in ("road", "town", "community", "poi", "subpoi", "devzone"):
            names.append(current)
        current, kind = (parts[0], tag[2:]) if tag.startswith("B-") else ("", "")
    return names


def directory(calls: list[dict], merchants: bool) -> Gazetteer:  # type: ignore[type-arg]
    names = (division_names(PROVINCE) + division_names(CITY) + division_names()
             + address_names())
    for call in calls:
        entities = call["gold"]["entities"]
        names += form_names({"street_address": entities.get("street_address")})
        if merchants and entities.get("merchant"):
            names.append(entities["merchant"])
    return Gazetteer(names)


def reference_damage(gazetteer: Gazetteer, calls: list[dict]) -> None:  # type: ignore[type-arg]
    changed = total = 0
    for call in calls:
        for turn in call["turns"]:
            total += len(turn["text"])
            for fix in gazetteer.fixes(turn["text"]):
                changed += len(fix.heard)
                print(f"    would wrongly change {fix.heard} -> {fix.name} in {turn['text']}")
    print(f"  damage: {changed} of {total} reference characters changed")


FINALS: dict[str, dict[str, list[str]]] = {}  # call -> side -> finals of the ``none`` run


def stream_call(engine: WhisperEngine, sides: dict[str, np.ndarray],
                hotwords: Callable[[], list[str]] | None,
                heard: Callable[[str, str], None]) -> dict[str, str]:
    recs = {s: StreamingRecognizer(engine, s, FINALS_ONLY, hotwords) for s in sides}
    texts = {s: "" for s in sides}
    length = max(len(a) for a in sides.values())
    for i in range(0, length + CHUNK, CHUNK):
        for side, rec in recs.items():
            last = i >= length
            if not last:
                rec.insert_audio(sides[side][i:i + CHUNK])
            for event in rec.finish() if last else rec.process():
                texts[side] += event.text
                heard(side, event.text)
    return texts


def run_mode(engine: WhisperEngine, mode: str, calls: list[Path],
             annotated: list[dict]) -> None:  # type: ignore[type-arg]
    gold = {c["id"]: c["gold"]["entities"] for c in annotated}
    gazetteer = None
    if mode.startswith("gazetteer"):
        gazetteer = directory(annotated, merchants=mode.endswith("history"))
        print(f"  {gazetteer.size} names")
        reference_damage(gazetteer, annotated)
    ref_total = err_total = 0
    names_total = names_hit = 0
    started = time.perf_counter()
    for meta_path in calls:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        audio = load_audio_file(meta_path.with_suffix(".flac"))
        index = {v: i for i, v in enumerate(meta["channels"].values())}
        sides = {s: audio.channels[index[s]] for s in ("agent", "caller")}
        entities = gold[meta["id"]]
        filler = FormFiller()
        count = [0]

        def heard(side: str, text: str, filler: FormFiller = filler,
                  count: list[int] = count) -> None:
            filler.update(count[0], side, text)
            count[0] += 1

        hotwords: Callable[[], list[str]] | None = None
        if mode == "call":
            hotwords = lambda filler=filler: form_names(filler.form.as_dict())  # noqa: E731
        elif mode == "oracle":
            names = form_names(entities)
            hotwords = lambda names=names: names  # noqa: E731
        if gazetteer is not None:
            texts = {side: "" for side in sides}
            for side, finals in FINALS[meta["id"]].items():
                for final in finals:
                    fixed, fixes = gazetteer.correct(final)
                    texts[side] += fixed
                    for fix in fixes:
                        print(f"    {fix.heard} -> {fix.name}")
        else:
            finals_seen: dict[str, list[str]] = {side: [] for side in sides}

            def heard_and_kept(side: str, text: str, finals: dict[str, list[str]] = finals_seen,
                               heard: Callable[[str, str], None] = heard) -> None:
                finals[side].append(text)
                heard(side, text)

            texts = stream_call(engine, sides, hotwords, heard_and_kept)
            if mode == "none":
                FINALS[meta["id"]] = finals_seen
        for side in ("agent", "caller"):
            turns = [t for t in meta["turns"] if t["speaker"] == side]
            ref = normalize_for_cer("".join(t.get("tts_text") or t["text"] for t in turns))
            err = edit_distance(ref, normalize_for_cer(texts[side]))
            ref_total += len(ref)
            err_total += err
            print(f"  {meta['id']} {side:6s} CER {err / max(1, len(ref)):.3f} ({len(ref)} chars)")
        said = normalize_for_cer(texts["agent"] + texts["caller"])
        reference = normalize_for_cer("".join(t["text"] for t in meta["turns"]))
        for name in form_names(entities):
            if normalize_for_cer(name) in reference:  # only names the call actually says
                names_total += 1
                hit = normalize_for_cer(name) in said
                names_hit += hit
                if not hit:
                    print(f"    missed {name}")
        if mode == "call":
            print(f"    hotwords at the end: {form_names(filler.form.as_dict())}")
    print(f"{mode}: CER {err_total / ref_total:.3f} ({ref_total} chars), names written right "
          f"{names_hit}/{names_total}, {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--modes", default="none,call,oracle")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    need_shared("calls", "audio")
    calls = sorted((SHARED_DATA / "calls" / "audio").glob("call-*.json"))[:args.calls]
    annotated = annotated_calls()
    engine = get_engine(str(Settings().whisper_dir), args.threads)
    modes = args.modes.split(",")
    if any(m.startswith("gazetteer") for m in modes) and "none" not in modes:
        modes.insert(0, "none")  # the gazetteer corrects the finals of the plain run
    for mode in modes:
        print(f"== {mode}")
        run_mode(engine, mode, calls, annotated)


if __name__ == "__main__":
    main()
