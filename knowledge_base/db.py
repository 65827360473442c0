"""Engine and sessions: SQLite in WAL mode by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base.models import Base, KbRevision


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite, make the folder and switch on WAL and foreign keys."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> None:
    """Create missing tables and the revision row."""
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        if session.get(KbRevision, 1) is None:
            session.add(KbRevision(id=1, revision=0))


class Database:
    """An engine plus a session factory; one per process and configuration."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        init_db(self.engine)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any error."""
        session = self._factory()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def revision(self) -> int:
        with self._factory() as session:
            query = select(KbRevision.revision).where(KbRevision.id == 1)
            return session.execute(query).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()
