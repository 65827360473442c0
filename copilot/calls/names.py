"""The directory of names a call's transcript is corrected against.

Whisper base writes names it does not know with other characters of a close sound; each final
is compared by sound with the names this hotline knows (asr/gazetteer.py) and a stretch that
sounds like one of them is written as that name. The names: every province, city and
county-level division of China, the handling units of the knowledge base, the merchants and
roads of past work orders, and the lines of ``COPILOT_NAMES_FILE`` (a street directory, a
merchant register: one name a line). Measured with bench/hotword_bench.py; putting the names in
Whisper's prompt instead was measured too and is not used (it broke other words).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from asr.gazetteer import Gazetteer
from copilot.form.regions import CITY, DISTRICT, PROVINCE, division_names

if TYPE_CHECKING:
    from knowledge_base.db import Database

logger = logging.getLogger(__name__)

REFRESH_S = 300.0  # new units and tickets join the directory within five minutes
MAX_TICKETS = 50_000  # the most recent work orders whose merchants and roads are taken

# a road, street or village name at the start of an address, before its numbers
_PLACE = re.compile(r"^[\u4e00-\u9fff]{2,12}?(?:大道|路|街|巷|道|村|镇|乡|小区|花园|家园)")


def road_name(street_address: str | None) -> str | None:
    """The road, street or village an address starts with ('建设路55号3楼' -> '建设路')."""
    match = _PLACE.match((street_address or "").strip())
    return match.group(0) if match else None


def directory_names(db: Database, names_file: Path | None = None) -> list[str]:
    """Every name the directory holds (see the module's docstring)."""
    from sqlalchemy import select

    from copilot.tickets.models import Ticket
    from knowledge_base.models import Unit

    names = division_names(PROVINCE) + division_names(CITY) + division_names(DISTRICT)
    with db.session() as session:
        names += session.scalars(select(Unit.name)).all()
        rows = session.execute(select(Ticket.merchant, Ticket.street_address)
                               .order_by(Ticket.id.desc()).limit(MAX_TICKETS)).all()
    for merchant, street in rows:
        names += [n for n in (merchant, road_name(street)) if n]
    if names_file is not None:
        names += names_file.read_text(encoding="utf-8").splitlines()
    return names


class NameDirectory:
    """The gazetteer of one home, rebuilt from the database every ``REFRESH_S`` seconds."""

    def __init__(self, db: Database, names_file: Path | None = None) -> None:
        self.db = db
        self.names_file = names_file
        self._gazetteer: Gazetteer | None = None
        self._built = 0.0
        self._lock = threading.Lock()

    def gazetteer(self) -> Gazetteer:
        with self._lock:
            if self._gazetteer is None or time.monotonic() - self._built > REFRESH_S:
                started = time.perf_counter()
                self._gazetteer = Gazetteer(directory_names(self.db, self.names_file))
                self._built = time.monotonic()
                logger.info("name directory: %d names in %.2f s", self._gazetteer.size,
                            time.perf_counter() - started)
            return self._gazetteer
