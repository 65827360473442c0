"""The application context: settings, database and search index of one ``COPILOT_HOME``.

Opened once per process (by the server's lifespan or a CLI command) and handed to whatever needs
it; the encoder and the index load lazily, on first use, so commands that do not search stay fast.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from asr.engine import WhisperEngine, get_engine
from copilot.accounts.models import create_tables as create_account_tables
from copilot.calls.names import NameDirectory
from copilot.calls.store import CallStore
from copilot.classification import Classifier
from copilot.settings import Settings, get_settings
from copilot.tickets.models import create_tables as create_ticket_tables
from knowledge_base.db import Database
from knowledge_base.demo import is_empty, load_demo
from retrieval.encoder import Encoder, load_encoder
from retrieval.fusion import FusionOptions
from retrieval.index import SearchIndex

logger = logging.getLogger(__name__)


class AppContext:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.settings.ensure_dirs()
        self.db = Database(self.settings.db_url)
        create_ticket_tables(self.db.engine)
        create_account_tables(self.db.engine)
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()
        self.calls = CallStore(self.settings.home / "calls")
        self.classifier = Classifier(self)
        self.names = NameDirectory(self.db, self.settings.names_file)

    def kb_is_empty(self) -> bool:
        return is_empty(self.db)

    def load_demo_if_empty(self) -> bool:
        """Load the demo knowledge base into an empty home (when settings allow)."""
        if self.settings.load_demo and self.kb_is_empty():
            logger.info("empty knowledge base in %s: loading the demo", self.settings.home)
            load_demo(self.db)
            return True
        return False

    @property
    def encoder(self) -> Encoder:
        s = self.settings
        return load_encoder(str(s.e5_dir), s.torch_threads, s.encoder_batch_size)

    @property
    def asr_engine(self) -> WhisperEngine:
        """The Whisper engine shared by every call of this process."""
        return get_engine(str(self.settings.whisper_dir), self.settings.asr_threads,
                          self.settings.asr_workers)

    @property
    def index(self) -> SearchIndex:
        """The search index, loaded (or built) on first use."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    s = self.settings
                    index = SearchIndex(
                        self.db, self.encoder, s.index_dir / "answers",
                        fusion=FusionOptions(s.fusion, s.fusion_alpha, s.rrf_k),
                        category_boost=s.category_boost, candidates=s.search_candidates,
                        max_query_chars=s.max_query_chars)
                    index.open()
                    self._index = index
        return self._index

    def find_duplicates(self, form: dict[str, str | None], text: str, *,
                        now: dt.datetime | None = None,
                        exclude_ticket_id: int | None = None) -> list[dict[str, Any]]:
        """Open tickets the call may repeat (``now``: naive times are Beijing time)."""
        from classifier.deadline import CHINA_TZ
        from copilot.tickets.duplicates import find_duplicates

        if now is not None and now.tzinfo is None:
            now = now.replace(tzinfo=CHINA_TZ)
        with self.db.session() as session:
            found = find_duplicates(session, form, text, now=now,
                                    exclude_ticket_id=exclude_ticket_id)
            return [c.as_dict() for c in found]

    def close(self) -> None:
        self.db.dispose()
