"""The demo knowledge base shipped with the copilot (written for this project): a 广州市 12345
hotline's taxonomy, handling units and standard answers. Illustrative content, not official
policy. Loaded into an empty ``COPILOT_HOME`` on first start."""

from __future__ import annotations

import logging
from importlib import resources

from sqlalchemy import func, select

from knowledge_base.db import Database
from knowledge_base.importer import Kind, import_table
from knowledge_base.models import AnswerTemplate, Category

logger = logging.getLogger(__name__)

DEMO_FILES: tuple[tuple[Kind, str], ...] = (
    ("taxonomy", "taxonomy.csv"),
    ("units", "units.csv"),
    ("answers", "answers.csv"),
)


def demo_bytes(filename: str) -> bytes:
    return resources.files("knowledge_base").joinpath("demo", filename).read_bytes()


def is_empty(db: Database) -> bool:
    """No categories and no answers: a home nobody has imported into."""
    with db.session() as session:
        categories = session.scalar(select(func.count()).select_from(Category)) or 0
        answers = session.scalar(select(func.count()).select_from(AnswerTemplate)) or 0
    return categories == 0 and answers == 0


def load_demo(db: Database) -> dict[str, dict[str, object]]:
    """Import the demo files in one transaction; returns each file's import summary."""
    summaries = {}
    with db.session() as session:
        for kind, filename in DEMO_FILES:
            summary = import_table(session, kind, demo_bytes(filename), f"demo/{filename}",
                                   actor="demo")
            summaries[kind] = summary.as_dict()
    logger.info("demo knowledge base loaded: %s",
                {k: v["created"] for k, v in summaries.items()})
    return summaries
