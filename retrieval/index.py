"""Hybrid search over the knowledge base's published answers.

A :class:`Snapshot` is an immutable index of the answers that were published at one knowledge
base revision: a FAISS index over e5 vectors (one row for each answer's title + text as a
passage, one row per question form as a query), a BM25 index over jieba words, and the answers'
metadata. :class:`SearchIndex` keeps the current snapshot, persists it under the home's index
folder, and rebuilds it when the knowledge base revision moves (vectors of unchanged texts are
reused, so an edit costs one encode). Dates are checked at query time, so an answer leaves search
the day it expires without any rebuild.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from knowledge_base.db import Database
from knowledge_base.models import AnswerStatus, AnswerTemplate
from retrieval.dense import DenseIndex
from retrieval.encoder import PASSAGE, QUERY, Encoder
from retrieval.fusion import FusionOptions, fuse
from retrieval.lexical import LexicalIndex, tokenize

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
PASSAGE_CHARS = 200


class QueryError(ValueError):
    """A query that cannot be searched, with what to change."""


@dataclass(frozen=True)
class Doc:
    """What search needs to know of one published answer template."""

    template_id: int
    id: str
    version: int
    title: str
    questions: list[str]
    answer: str
    unit: str | None
    unit_phone: str | None
    category_code: str | None
    category_path: list[str]
    source: str
    request_type: str
    effective_from: str | None
    expires_on: str | None

    def live_on(self, day: str) -> bool:
        return ((self.effective_from is None or self.effective_from <= day)
                and (self.expires_on is None or self.expires_on > day))


@dataclass
class SearchHit:
    id: str
    template_id: int
    version: int
    title: str
    question: str
    answer: str
    unit: str | None
    unit_phone: str | None
    category_code: str | None
    category_path: list[str]
    source: str
    score: float
    dense_score: float | None
    lexical_score: float | None
    matched: str = field(default="")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Row:
    """One dense vector: which doc it belongs to and which of its texts it encodes."""

    doc: int
    text: str  # "passage" or the question form


def _key(prefix: str, text: str) -> str:
    return hashlib.sha1((prefix + text).encode("utf-8")).hexdigest()


_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


def split_passages(title: str, answer: str, max_chars: int = PASSAGE_CHARS) -> list[str]:
    """Cut an answer into passages of at most ``max_chars`` at sentence ends (a longer
    sentence is cut hard). The title leads the first passage unless the answer starts with it.
    Short passages keep every part of a long answer searchable (the encoder reads 256 tokens)
    and cost less to encode than one long text."""
    answer = answer.strip()
    head = "" if not title or answer.startswith(title.strip()) else title.strip() + "\n"
    passages: list[str] = []
    current = head
    for sentence in (s for s in _SENTENCE_END.split(answer) if s.strip()):
        while len(sentence) > max_chars:
            if current.strip():
                passages.append(current)
                current = ""
            passages.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if len(current) + len(sentence) > max_chars and current.strip():
            passages.append(current)
            current = ""
        current += sentence
    if current.strip() or not passages:
        passages.append(current or head or answer)
    return [p.strip() for p in passages]


def _row_texts(doc: Doc) -> list[tuple[str, str, str]]:
    """(prefix, text, label) for each dense row of a doc: its passages, then its questions."""
    rows = [(PASSAGE, p, "passage") for p in split_passages(doc.title, doc.answer)]
    rows += [(QUERY, q, q) for q in doc.questions]
    return rows


def _lexical_text(doc: Doc) -> str:
    return "\n".join([doc.title, *doc.questions, doc.answer])


class Snapshot:
    def __init__(self, revision: int, docs: list[Doc], rows: list[Row], dense: DenseIndex,
                 lexical: LexicalIndex, keys: list[str]) -> None:
        self.revision, self.docs, self.rows = revision, docs, rows
        self.dense, self.lexical, self.keys = dense, lexical, keys
        self.row_doc = np.array([r.doc for r in rows], dtype=np.int64)
        # rows are stored doc by doc, the doc's first passage first
        self.doc_start = np.searchsorted(self.row_doc, np.arange(len(docs)), side="left")
        self.doc_end = np.searchsorted(self.row_doc, np.arange(len(docs)), side="right")
        self.codes = [d.category_code or "" for d in docs]

    def dense_scores(self, qvec: np.ndarray, docs: set[int]) -> dict[int, tuple[float, str]]:
        """For each doc: the mean of its best row's and its first passage's cosine (the first
        passage carries the title and the topic; measured better than the best row alone),
        and which text matched best."""
        out: dict[int, tuple[float, str]] = {}
        vectors = self.dense.vectors
        for d in docs:
            start, end = int(self.doc_start[d]), int(self.doc_end[d])
            scores = vectors[start:end] @ qvec
            best = int(np.argmax(scores))
            out[d] = (0.5 * float(scores[best]) + 0.5 * float(scores[0]),
                      self.rows[start + best].text)
        return out

    # ------------------------------------------------------------ persistence

    def save(self, folder: Path) -> None:
        """Write to a fresh sibling folder, then swap it in, so a crash leaves the old one."""
        tmp = folder.with_name(folder.name + f".tmp{threading.get_ident()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.dense.save(tmp / "vectors.npy")
        self.lexical.save(tmp / "bm25")
        meta = {"format": FORMAT_VERSION, "revision": self.revision,
                "docs": [asdict(d) for d in self.docs],
                "rows": [[r.doc, r.text] for r in self.rows], "keys": self.keys}
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> Snapshot:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"index format {meta.get('format')} is not {FORMAT_VERSION}")
        docs = [Doc(**d) for d in meta["docs"]]
        rows = [Row(doc, text) for doc, text in meta["rows"]]
        dense = DenseIndex.load(folder / "vectors.npy")
        if dense.size != len(rows) or len(meta["keys"]) != len(rows):
            raise ValueError("index files disagree on the number of vectors")
        lexical = LexicalIndex.load(folder / "bm25", len(docs))
        return cls(meta["revision"], docs, rows, dense, lexical, meta["keys"])


def load_docs(db: Database) -> tuple[int, list[Doc]]:
    """The revision and every published template (dates are checked at query time)."""
    with db.session() as session:
        revision = db.revision()
        query = (select(AnswerTemplate)
                 .where(AnswerTemplate.status == AnswerStatus.published)
                 .options(selectinload(AnswerTemplate.category),
                          selectinload(AnswerTemplate.unit))
                 .order_by(AnswerTemplate.id))
        docs = [
            Doc(template_id=t.id, id=t.public_id, version=t.version, title=t.title,
                questions=list(t.questions or []), answer=t.answer,
                unit=t.unit.name if t.unit else None,
                unit_phone=(t.unit.phone or None) if t.unit else None,
                category_code=t.category.code if t.category else None,
                category_path=t.category.path() if t.category else [], source=t.source,
                request_type=t.request_type,
                effective_from=t.effective_from.isoformat() if t.effective_from else None,
                expires_on=t.expires_on.isoformat() if t.expires_on else None)
            for t in session.scalars(query)
        ]
    return revision, docs


class SearchIndex:
    """The live hybrid index of one knowledge base; thread-safe; rebuilds itself when stale."""

    def __init__(self, db: Database, encoder: Encoder, folder: Path, *,
                 fusion: FusionOptions | None = None, category_boost: float = 0.5,
                 candidates: int = 50, max_query_chars: int = 2000) -> None:
        self.db, self.encoder, self.folder = db, encoder, folder
        self.fusion = fusion or FusionOptions()
        self.candidates, self.max_query_chars = candidates, max_query_chars
        self.category_boost = category_boost
        self._snapshot: Snapshot | None = None
        self._build_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}
        self._tokens: dict[str, list[str]] = {}
        self.last_build: dict[str, float] = {}

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Load the persisted index if it matches the database, else rebuild it."""
        revision = self.db.revision()
        try:
            snapshot = Snapshot.load(self.folder)
        except FileNotFoundError:
            snapshot = None
        except Exception as e:  # a corrupt or partial index is rebuilt from the database
            logger.warning("index in %s unreadable (%s); rebuilding from the database",
                           self.folder, e)
            snapshot = None
        if snapshot is not None:
            self._remember(snapshot)
            self._snapshot = snapshot
        if snapshot is None or snapshot.revision != revision:
            self.refresh(force=True)

    def _remember(self, snapshot: Snapshot) -> None:
        for key, vector in zip(snapshot.keys, snapshot.dense.vectors, strict=True):
            self._vectors[key] = vector

    @property
    def revision(self) -> int | None:
        return self._snapshot.revision if self._snapshot else None

    def refresh(self, force: bool = False) -> bool:
        """Rebuild if the knowledge base changed since the current snapshot; returns whether
        it rebuilt. Searches go on against the old snapshot meanwhile."""
        if not force and self._snapshot is not None and \
                self._snapshot.revision == self.db.revision():
            return False
        with self._build_lock:
            revision = self.db.revision()
            if not force and self._snapshot is not None and self._snapshot.revision == revision:
                return False
            self._snapshot = self._build(*load_docs(self.db))
            self._snapshot.save(self.folder)
            return True

    def _build(self, revision: int, docs: list[Doc]) -> Snapshot:
        started = time.perf_counter()
        rows: list[Row] = []
        keys: list[str] = []
        todo: dict[str, tuple[str, str]] = {}
        for i, doc in enumerate(docs):
            for prefix, text, label in _row_texts(doc):
                key = _key(prefix, text)
                rows.append(Row(i, label))
                keys.append(key)
                if key not in self._vectors:
                    todo[key] = (prefix, text)
        if todo:
            logger.info("indexing %d answers: encoding %d new texts (about %d s on 2 cores)",
                        len(docs), len(todo), len(todo) // 60 + 1)
        encoded = 0
        for prefix in (PASSAGE, QUERY):
            items = [(k, t) for k, (p, t) in todo.items() if p == prefix]
            if items:
                with self._encode_lock:
                    vectors = self.encoder.encode([t for _, t in items], prefix)
                for (key, _), vector in zip(items, vectors, strict=True):
                    self._vectors[key] = vector
                encoded += len(items)
        encode_s = time.perf_counter() - started
        matrix = (np.stack([self._vectors[k] for k in keys]) if keys
                  else np.zeros((0, self.encoder.dim), dtype=np.float32))
        live = set(keys)
        self._vectors = {k: v for k, v in self._vectors.items() if k in live}
        token_lists = []
        fresh_tokens: dict[str, list[str]] = {}
        for doc in docs:
            text = _lexical_text(doc)
            key = _key("lex:", text)
            tokens = self._tokens.get(key) or tokenize(text)
            fresh_tokens[key] = tokens
            token_lists.append(tokens)
        self._tokens = fresh_tokens
        snapshot = Snapshot(revision, docs, rows, DenseIndex(matrix),
                            LexicalIndex.build(token_lists), keys)
        total = time.perf_counter() - started
        self.last_build = {"docs": len(docs), "rows": len(rows), "encoded": encoded,
                           "encode_s": round(encode_s, 3), "total_s": round(total, 3)}
        logger.info("search index built at revision %d: %s", revision, self.last_build)
        return snapshot

    # ------------------------------------------------------------ search

    def search(self, query: str, top_k: int = 5, *, category: str | None = None,
               category_mode: str = "boost", today: dt.date | None = None,
               refresh: bool = True) -> list[SearchHit]:
        """The ``top_k`` best live answers for ``query``.

        ``category`` is a code prefix (``03`` or ``03.02.005``): with ``category_mode="boost"``
        answers inside it rank higher; with ``"filter"`` only they are returned.
        """
        query = (query or "").strip()
        if not query:
            raise QueryError("the query is empty: give the caller's question as text")
        if len(query) > self.max_query_chars:
            raise QueryError(f"the query has {len(query)} characters, more than the limit of "
                             f"{self.max_query_chars}: send the question, not a whole transcript")
        if category_mode not in ("boost", "filter"):
            raise QueryError("category_mode must be 'boost' or 'filter'")
        if top_k < 1:
            raise QueryError("top_k must be at least 1")
        if refresh:
            self.refresh()
        snap = self._snapshot
        if snap is None or not snap.docs:
            return []
        day = (today or dt.date.today()).isoformat()
        doc_mask = np.array([d.live_on(day) for d in snap.docs], dtype=bool)
        in_category = None
        if category:
            in_category = np.array([c == category or c.startswith(category + ".")
                                    for c in snap.codes], dtype=bool)
            if category_mode == "filter":
                doc_mask &= in_category
        if not doc_mask.any():
            return []

        with self._encode_lock:
            qvec = self.encoder.queries([query])[0]
        n_cand = max(self.candidates, top_k)
        row_mask = doc_mask[snap.row_doc]
        from_dense = {int(snap.row_doc[r]) for r, _ in snap.dense.search(qvec, n_cand * 4,
                                                                          row_mask)}
        lexical_score = dict(snap.lexical.search(tokenize(query), n_cand, doc_mask))
        dense = snap.dense_scores(qvec, from_dense | set(lexical_score))
        # the dense side's own top candidates set the floor its scores are scaled from
        dense_top = sorted(from_dense, key=lambda d: -dense[d][0])[:n_cand]
        floor = dense[dense_top[-1]][0] if dense_top else None
        candidates = set(dense_top) | set(lexical_score)
        fused = fuse({d: dense[d][0] for d in candidates}, lexical_score, self.fusion, floor)
        if in_category is not None and category_mode == "boost" and self.category_boost:
            fused = {d: s * (1 + self.category_boost) if in_category[d] else s
                     for d, s in fused.items()}
        best = sorted(fused, key=lambda d: -fused[d])[:top_k]
        hits = []
        for d in best:
            doc = snap.docs[d]
            cosine, text = dense[d]
            matched = text if text != "passage" else ""
            hits.append(SearchHit(
                id=doc.id, template_id=doc.template_id, version=doc.version, title=doc.title,
                question=matched or (doc.questions[0] if doc.questions else doc.title),
                answer=doc.answer, unit=doc.unit, unit_phone=doc.unit_phone,
                category_code=doc.category_code, category_path=doc.category_path,
                source=doc.source, score=round(fused[d], 6),
                dense_score=round(cosine, 4),
                lexical_score=round(lexical_score[d], 4) if d in lexical_score else None,
                matched=matched))
        return hits

    def dense_only(self, query: str, top_k: int) -> list[str]:
        """Ids ranked by the dense side alone (for benchmarks)."""
        snap = self._require()
        with self._encode_lock:
            qvec = self.encoder.queries([query])[0]
        docs = {int(snap.row_doc[r]) for r, _ in snap.dense.search(qvec, self.candidates * 4)}
        dense = snap.dense_scores(qvec, docs)
        return [snap.docs[d].id for d in sorted(dense, key=lambda d: -dense[d][0])[:top_k]]

    def lexical_only(self, query: str, top_k: int) -> list[str]:
        """Ids ranked by BM25 alone (for benchmarks)."""
        snap = self._require()
        return [snap.docs[d].id for d, _ in snap.lexical.search(tokenize(query), top_k)]

    def _require(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("the index is not open: call open() first")
        return self._snapshot

    def stats(self) -> dict[str, object]:
        snap = self._snapshot
        return {"revision": snap.revision if snap else None,
                "answers": len(snap.docs) if snap else 0,
                "vectors": len(snap.rows) if snap else 0, "last_build": self.last_build}
