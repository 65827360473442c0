"""Engine and sessions: SQLite in WAL mode by default, any SQLAlchemy URL otherwise.

The schema is managed by Alembic (``knowledge_base/migrations``); :func:`init_db` brings any
database to the newest revision: a new database is upgraded from nothing, an existing one runs the
revisions it lacks, and a home made before Alembic (tables, no ``alembic_version``) gets any missing
table created and is stamped as current. PostgreSQL is reached with the ``pg8000`` driver
(``postgresql+pg8000://user:password@host:port/database``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base.models import Base, KbRevision

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x12345  # PostgreSQL advisory lock: one process migrates at a time


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
    return create_engine(url, pool_pre_ping=True, pool_recycle=1800)


def all_metadata() -> list[MetaData]:
    """The metadata of every declarative base whose tables live in this database."""
    from copilot.accounts.models import AccountsBase
    from copilot.chat.log import ChatLogBase
    from copilot.tickets.models import TicketBase

    return [Base.metadata, TicketBase.metadata, ChatLogBase.metadata, AccountsBase.metadata]


def alembic_config(url: str | None = None, connection: Connection | None = None):  # type: ignore[no-untyped-def]
    """An Alembic ``Config`` for the bundled migrations (no ini file needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision of the bundled migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated, or empty)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the database to the newest revision and return what it was at before.

    ``"none"``: a new database, migrated from nothing; ``"stamped"``: tables made before Alembic,
    missing ones created and the database stamped; anything else is the prior revision.
    """
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        before = current_revision(conn)
        config = alembic_config(connection=conn)
        if before is not None:
            command.upgrade(config, "head")
            return before
        existing = set(inspect(conn).get_table_names())
        ours = {name for metadata in all_metadata() for name in metadata.tables}
        if existing & ours:
            for metadata in all_metadata():
                metadata.create_all(conn)
            command.stamp(config, "head")
            return "stamped"
        command.upgrade(config, "head")
        return "none"


def init_db(engine: Engine) -> None:
    """Migrate the database to the newest revision and create the revision row."""
    upgrade(engine)
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
