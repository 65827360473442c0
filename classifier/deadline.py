"""Working-day deadlines for 12345 tickets, on the official Chinese calendar.

A ticket must be closed within a number of working days that depends on its request type
(``DEADLINE_DAYS``: 咨询 3, 求助 7, 意见建议 7, 投诉 15, 举报 15). Working days are Monday to
Friday, minus public holidays, plus the weekend days declared working days (调休上班).

The calendar is data: ``holidays_cn.csv`` beside this module (``date,kind`` with kind
``holiday`` or ``workday``; 2025 and 2026 as published by the State Council). A hotline can load
its own file with :meth:`Calendar.from_csv`. A year the file does not cover falls back to
weekends only, with one warning per calendar.

Counting convention (:func:`due_date`): the day the ticket counts from is day 1. That is the day
it was accepted when that is a working day and it was accepted no later than ``cutoff``
(17:00 by default); otherwise it is the next working day. The due date is the last of the
N working days. ``start_day_counts=False`` follows the rule that the starting day itself is not
counted (the due date is then N working days after it).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["CHINA_TZ", "DEADLINE_DAYS", "DEFAULT_CUTOFF", "Calendar", "default_calendar",
           "due_date"]

DEADLINE_DAYS: dict[str, int] = {"咨询": 3, "求助": 7, "意见建议": 7, "投诉": 15, "举报": 15}
DEFAULT_CUTOFF = dt.time(17, 0)
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
HOLIDAY, WORKDAY = "holiday", "workday"
_KIND_ALIASES = {"holiday": HOLIDAY, "休": HOLIDAY, "假": HOLIDAY,
                 "workday": WORKDAY, "班": WORKDAY}
_DEFAULT_FILE = "holidays_cn.csv"
_MAX_DAYS = 3660  # ten years of counting means a bad argument, not a deadline


@dataclass(eq=False)
class Calendar:
    """Official days off and make-up working days, for the years in ``years``.

    ``holidays`` are days off even on a weekday; ``workdays`` are weekend days declared working
    days (调休上班). A date in a year outside ``years`` is judged by the weekday alone, and the
    first time that happens a warning is logged.
    """

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    years: frozenset[int]
    source: str = ""
    _warned: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"{self.source or 'calendar'}: dates listed both as holiday and "
                             f"workday: {', '.join(sorted(d.isoformat() for d in both))}")

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[dt.date, str]], source: str = "",
                  years: Iterable[int] | None = None) -> Calendar:
        """Build from (date, kind) pairs; ``years`` defaults to the years the dates fall in."""
        holidays, workdays = set(), set()
        for day, kind in rows:
            if kind not in _KIND_ALIASES:
                raise ValueError(f"{source or 'calendar'}: kind {kind!r} for {day} must be "
                                 f"'holiday' or 'workday'")
            (holidays if _KIND_ALIASES[kind] == HOLIDAY else workdays).add(day)
        covered = frozenset(years) if years is not None else frozenset(
            d.year for d in holidays | workdays)
        return cls(frozenset(holidays), frozenset(workdays), covered, source)

    @classmethod
    def from_csv(cls, path: str | Path, years: Iterable[int] | None = None) -> Calendar:
        """Load a ``date,kind`` CSV (UTF-8, BOM allowed; kind ``holiday`` or ``workday``, also
        休 / 班). Extra columns are ignored. ``years`` says which years the file fully covers
        (default: every year a date in it falls in). Raises ``ValueError`` naming the bad line."""
        path = Path(path)
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return cls._parse(fh.read(), str(path), years)

    @classmethod
    def _parse(cls, text: str, source: str, years: Iterable[int] | None) -> Calendar:
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "date" not in fields or "kind" not in fields:
            raise ValueError(f"{source}: the header must have 'date' and 'kind' columns "
                             f"(got {reader.fieldnames!r})")
        reader.fieldnames = fields
        rows: list[tuple[dt.date, str]] = []
        seen: dict[dt.date, str] = {}
        for row in reader:
            line = reader.line_num
            raw_date, raw_kind = (row.get("date") or "").strip(), (row.get("kind") or "").strip()
            if not raw_date and not raw_kind:
                continue
            try:
                day = dt.date.fromisoformat(raw_date)
            except ValueError:
                raise ValueError(f"{source}:{line}: date {raw_date!r} is not YYYY-MM-DD") from None
            kind = _KIND_ALIASES.get(raw_kind.lower())
            if kind is None:
                raise ValueError(f"{source}:{line}: kind {raw_kind!r} must be 'holiday' or "
                                 f"'workday'")
            if seen.get(day, kind) != kind:
                raise ValueError(f"{source}:{line}: {day} is listed as both {seen[day]} and {kind}")
            seen[day] = kind
            rows.append((day, kind))
        if not rows:
            raise ValueError(f"{source}: no dates")
        return cls.from_rows(rows, source, years)

    @classmethod
    def weekends_only(cls) -> Calendar:
        """A calendar with no holidays at all (every year falls back, without a warning)."""
        calendar = cls(frozenset(), frozenset(), frozenset(), "weekends only")
        calendar._warned = True
        return calendar

    @property
    def last_year(self) -> int | None:
        return max(self.years) if self.years else None

    def covers(self, day: dt.date) -> bool:
        return day.year in self.years

    def is_working_day(self, day: dt.date) -> bool:
        if not self.covers(day):
            if not self._warned:
                self._warned = True
                logger.warning("holiday calendar %s has no data for %d (it covers %s): counting "
                               "weekends only; load a newer calendar with Calendar.from_csv",
                               self.source or "(unnamed)", day.year,
                               ", ".join(map(str, sorted(self.years))) or "no year")
            return day.weekday() < 5
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        for _ in range(_MAX_DAYS):
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_MAX_DAYS} days after {day}")

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day`` (``day`` itself not counted; n >= 0)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie in [start, end] (both included; 0 when end < start)."""
        count, day = 0, start
        while day <= end:
            count += self.is_working_day(day)
            day += dt.timedelta(days=1)
        return count


@functools.lru_cache(maxsize=1)
def default_calendar() -> Calendar:
    """The calendar shipped with the package (``classifier/holidays_cn.csv``), loaded once."""
    # Read beside this file rather than through importlib.resources: an editable install made
    # before classifier/__init__.py existed maps the package as a namespace, which
    # importlib.resources cannot read.
    path = Path(__file__).resolve().with_name(_DEFAULT_FILE)
    text = path.read_text(encoding="utf-8-sig")
    return Calendar._parse(text, f"classifier/{_DEFAULT_FILE}", None)


def _local(accepted_at: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(accepted_at, dt.datetime):
        if accepted_at.tzinfo is not None:
            return accepted_at.astimezone(CHINA_TZ).replace(tzinfo=None)
        return accepted_at  # naive: already Beijing time
    if isinstance(accepted_at, dt.date):
        return dt.datetime.combine(accepted_at, dt.time(0, 0))  # a date alone: within hours
    raise TypeError(f"accepted_at must be a datetime or a date, got {type(accepted_at).__name__}")


def due_date(request_type: str, accepted_at: dt.datetime | dt.date, *,
             calendar: Calendar | None = None, cutoff: dt.time | None = DEFAULT_CUTOFF,
             start_day_counts: bool = True, deadlines: Mapping[str, int] | None = None,
             ) -> dt.date:
    """The date a ticket of ``request_type`` accepted at ``accepted_at`` is due.

    - ``accepted_at``: a naive datetime is Beijing time; an aware one is converted to it; a
      plain date counts as accepted during working hours.
    - ``cutoff``: a ticket accepted after this time of day (strictly later) counts from the next
      working day, as does one accepted on a non-working day. ``None``: no cut-off.
    - ``start_day_counts``: True (default) — the day the ticket counts from is day 1 of N;
      False — counting starts the day after it, so the due date is one working day later.
    - ``deadlines``: working days per request type (default ``DEADLINE_DAYS``).
    - ``calendar``: default :func:`default_calendar`.
    """
    table = DEADLINE_DAYS if deadlines is None else deadlines
    if request_type not in table:
        raise ValueError(f"unknown request type {request_type!r}; expected one of "
                         f"{', '.join(table)}")
    days = table[request_type]
    if days < 1:
        raise ValueError(f"the deadline for {request_type!r} must be at least 1 working day")
    cal = calendar or default_calendar()
    local = _local(accepted_at)
    start = local.date()
    late = cutoff is not None and local.time() > cutoff
    if late or not cal.is_working_day(start):
        start = cal.next_working_day(start)
    due = cal.add_working_days(start, days - 1 if start_day_counts else days)
    logger.debug("%s accepted %s: counts from %s, due %s", request_type, local, start, due)
    return due
