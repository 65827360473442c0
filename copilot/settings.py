"""One typed settings object for the whole copilot, read from the environment (``COPILOT_*``).

``COPILOT_HOME`` decides where the database, the search indexes and trained artefacts live, so
several independent knowledge bases can sit side by side. Converted models are shared between
homes in ``COPILOT_MODELS_DIR`` (a cache folder) because they do not depend on the knowledge base.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "hotline-copilot"


def _default_models_dir() -> Path:
    return Path.home() / ".cache" / "hotline-copilot" / "models"


def _default_demo_audio_dir() -> Path | None:
    """The shared test recordings beside the project, when they are there."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "calls" / "audio"
    return path if path.is_dir() else None


class Settings(BaseSettings):
    """Validated at start-up; an invalid value stops the process with a message naming it."""

    model_config = SettingsConfigDict(env_prefix="COPILOT_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="database, indexes, models")
    models_dir: Path = Field(
        default_factory=_default_models_dir,
        description="converted model folders (shared by every COPILOT_HOME)",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file inside COPILOT_HOME"
    )
    env: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    load_demo: bool = Field(default=True, description="load the demo KB into an empty home")

    # retrieval
    search_top_k: int = Field(default=5, ge=1, le=50)
    search_candidates: int = Field(default=50, ge=5, le=500)
    fusion: Literal["linear", "rrf"] = Field(default="linear", description="how dense and "
                                             "lexical scores are fused (retrieval/fusion.py)")
    fusion_alpha: float = Field(default=0.7, ge=0, le=1, description="share of the dense side")
    rrf_k: int = Field(default=60, ge=1)
    category_boost: float = Field(default=0.5, ge=0, description="relative score bonus when "
                                  "the answer's category matches the caller's category")
    max_query_chars: int = Field(default=2000, ge=10)
    encoder_batch_size: int = Field(default=16, ge=1)
    # One thread: the query encoder shares two cores with Whisper's decoder, and two torch
    # threads beside it were measured 20x slower per query (1,060 vs 55 ms at load 4).
    torch_threads: int = Field(default=1, ge=1)

    # speech recognition
    asr_threads: int = Field(default=2, ge=1, description="threads per Whisper decode")
    asr_workers: int = Field(
        default=1, ge=1, description="Whisper decodes at once (one model in memory); on 2 "
        "cores 1×2 threads keeps 2 stereo calls in real time and 2×1 thread does not "
        "(bench/asr_bench.py --workers); on larger machines raise both")
    max_streams: int = Field(default=4, ge=1, description="concurrent audio streams per process")
    max_frame_bytes: int = Field(default=64 * 1024, ge=320, description="largest audio frame")
    max_call_seconds: int = Field(default=4 * 3600, ge=60)
    demo_audio_dir: Path | None = Field(
        default_factory=_default_demo_audio_dir,
        description="recorded calls (.wav/.flac) the console offers as 演示录音; none: no list",
    )

    # limits
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_import_rows: int = Field(default=100_000, ge=1)

    # accounts (copilot/accounts)
    admin_password: str | None = Field(
        default=None, description="password of the first administrator `admin`, used only when "
        "no account exists yet (otherwise a random one, written to initial-passwords.txt)")
    session_hours: float = Field(default=12, gt=0, le=24 * 30,
                                 description="a login lasts at most this long (one shift)")
    session_idle_minutes: float = Field(default=120, gt=0,
                                        description="a login unused this long ends")
    cookie_secure: bool = Field(default=False, description="send the session cookie over "
                                "HTTPS only (set it when served behind TLS)")

    # several app processes (copilot/calls/relay.py)
    redis_url: str | None = Field(
        default=None, description="Redis that passes call events between app processes "
        "(needed when more than one process serves, e.g. `copilot serve --workers 2`)")

    names_file: Path | None = Field(
        default=None, description="extra names a call's transcript is corrected against, one "
        "a line (a street directory, a merchant register), beside the divisions of China, the "
        "units and past work orders' merchants and roads")

    # personal data (copilot/privacy)
    retention_days: int | None = Field(
        default=None, ge=1, description="delete call transcripts and chatbot questions older "
        "than this many days (checked at start and daily); unset: keep them")

    # citizen chatbot (copilot/chat; thresholds calibrated by bench/chat_bench.py)
    chat_answer_threshold: float = Field(
        default=0.91, ge=0, le=1, description="dense cosine the best answer needs to be quoted "
        "without asking back (demo KB; a KB imported without questions needs its own, see "
        "bench/chat_bench.py)")
    chat_suggest_threshold: float = Field(
        default=0.895, ge=0, le=1, description="below it nothing is offered: the bot says it "
        "has no answer and offers a ticket; between it and the answer threshold it asks back")
    chat_clarify_margin: float = Field(
        default=0.2, ge=0, le=1, description="fused-score gap under which an answer of another "
        "topic counts as close (the bot then asks which one is meant)")
    chat_max_options: int = Field(default=3, ge=2, le=5)
    chat_max_message_chars: int = Field(default=500, ge=20, le=2000)
    chat_rate_per_minute: float = Field(default=20, gt=0, description="messages per client")
    chat_burst: int = Field(default=8, ge=1)
    chat_trust_forwarded_for: bool = Field(
        default=False, description="key the rate limit on X-Forwarded-For (behind a proxy)")
    chat_session_ttl_s: int = Field(default=1800, ge=60)
    chat_max_conversations: int = Field(default=10_000, ge=10)

    @field_validator("home", "models_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("demo_audio_dir", "names_file", mode="before")
    @classmethod
    def _optional_path(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return Path(str(value)).expanduser().resolve()

    @field_validator("names_file")
    @classmethod
    def _names_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file: give a UTF-8 text file with one name a "
                             "line, or unset COPILOT_NAMES_FILE")
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'copilot.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def e5_dir(self) -> Path:
        return self.models_dir / "multilingual-e5-small"

    @property
    def whisper_dir(self) -> Path:
        return self.models_dir / "whisper-base-ct2"

    def ensure_dirs(self) -> None:
        """Create the folders this configuration writes to."""
        for path in (self.home, self.index_dir, self.models_dir):
            path.mkdir(parents=True, exist_ok=True)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
