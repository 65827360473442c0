"""Working-day deadlines on the official calendar (holidays, make-up working days, cut-off)."""

from __future__ import annotations

import csv
import datetime as dt
import logging
from pathlib import Path

import pytest

from classifier.deadline import (
    CHINA_TZ,
    DEADLINE_DAYS,
    Calendar,
    default_calendar,
    due_date,
)

D = dt.date
T = dt.datetime
CSV_PATH = Path(__file__).resolve().parents[2] / "classifier" / "holidays_cn.csv"


def test_deadlines_are_the_designed_ones() -> None:
    assert DEADLINE_DAYS == {"咨询": 3, "求助": 7, "意见建议": 7, "投诉": 15, "举报": 15}


# --- the shipped calendar ------------------------------------------------------------------


def _rows() -> list[tuple[dt.date, str]]:
    with CSV_PATH.open(encoding="utf-8") as fh:
        return [(D.fromisoformat(r["date"]), r["kind"]) for r in csv.DictReader(fh)]


def test_shipped_csv_is_date_kind_and_well_formed() -> None:
    with CSV_PATH.open(encoding="utf-8") as fh:
        assert fh.readline().strip() == "date,kind"
    rows = _rows()
    assert {k for _, k in rows} == {"holiday", "workday"}
    days = [d for d, _ in rows]
    assert days == sorted(days) and len(days) == len(set(days))
    for day, kind in rows:
        if kind == "workday":
            assert day.weekday() >= 5, f"make-up working day {day} is not a weekend day"


def test_shipped_calendar_covers_2025_and_2026() -> None:
    cal = default_calendar()
    assert cal.years == {2025, 2026}
    assert cal.last_year == 2026


@pytest.mark.parametrize(("first", "last"), [
    ("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
    ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08"),
    ("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
])
def test_holiday_ranges_are_days_off(first: str, last: str) -> None:
    cal = default_calendar()
    day, end = D.fromisoformat(first), D.fromisoformat(last)
    while day <= end:
        assert not cal.is_working_day(day), day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("day", ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28",
                                 "2025-10-11", "2026-01-04", "2026-02-14", "2026-02-28",
                                 "2026-05-09", "2026-09-20", "2026-10-10"])
def test_make_up_days_are_working_days(day: str) -> None:
    d = D.fromisoformat(day)
    assert d.weekday() >= 5
    assert default_calendar().is_working_day(d)


def test_ordinary_days() -> None:
    cal = default_calendar()
    assert cal.is_working_day(D(2025, 9, 30))  # Tuesday before National Day
    assert not cal.is_working_day(D(2025, 9, 27))  # a plain Saturday
    assert cal.is_working_day(D(2025, 10, 9))  # first day back


# --- due dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(("request_type", "accepted", "due"), [
    # 2025 National Day + Mid-Autumn (10/1–10/8 off, 9/28 Sun and 10/11 Sat worked)
    ("咨询", T(2025, 9, 29, 10), D(2025, 10, 9)),  # 9/29, 9/30, 10/9
    ("咨询", T(2025, 9, 30, 16, 59), D(2025, 10, 10)),  # 9/30, 10/9, 10/10
    ("咨询", T(2025, 9, 30, 18), D(2025, 10, 11)),  # after 17:00: 10/9, 10/10, 10/11 (Sat, worked)
    ("咨询", T(2025, 10, 3, 9), D(2025, 10, 11)),  # accepted on a holiday
    ("咨询", T(2025, 9, 27, 10), D(2025, 9, 30)),  # Saturday → Sunday 9/28 is a working day
    ("求助", T(2025, 9, 26, 9), D(2025, 10, 11)),  # 9/26, 9/28, 9/29, 9/30, 10/9, 10/10, 10/11
    ("投诉", T(2025, 9, 29, 10), D(2025, 10, 24)),
    ("举报", T(2025, 10, 8, 23), D(2025, 10, 28)),  # holiday and late: from 10/9
    # 2025 Spring Festival (1/28–2/4 off, 1/26 Sun and 2/8 Sat worked)
    ("咨询", T(2025, 1, 24, 10), D(2025, 1, 27)),  # 1/24, 1/26 (Sun, worked), 1/27
    ("求助", T(2025, 1, 24, 10), D(2025, 2, 8)),  # … 2/5, 2/6, 2/7, 2/8 (Sat, worked)
    ("意见建议", T(2025, 1, 25, 10), D(2025, 2, 10)),  # Sat → starts Sun 1/26
    ("投诉", T(2025, 1, 27, 17, 30), D(2025, 2, 24)),  # after hours → counts from 2/5
    # an ordinary week
    ("咨询", T(2025, 3, 3, 9), D(2025, 3, 5)),
    ("咨询", T(2025, 3, 7, 18), D(2025, 3, 12)),  # Friday evening → Mon, Tue, Wed
    # 2026 Spring Festival (2/15–2/23 off, 2/14 Sat and 2/28 Sat worked)
    ("咨询", T(2026, 2, 13, 10), D(2026, 2, 24)),  # 2/13, 2/14 (Sat, worked), 2/24
    ("求助", T(2026, 2, 24, 10), D(2026, 3, 3)),  # 2/24 … 2/27, 2/28 (Sat), 3/2, 3/3
])
def test_due_date(request_type: str, accepted: dt.datetime, due: dt.date) -> None:
    assert due_date(request_type, accepted) == due


def test_exactly_at_the_cutoff_counts_the_same_day() -> None:
    assert due_date("咨询", T(2025, 3, 3, 17, 0)) == D(2025, 3, 5)
    assert due_date("咨询", T(2025, 3, 3, 17, 0, 1)) == D(2025, 3, 6)


def test_cutoff_is_a_parameter() -> None:
    evening = T(2025, 3, 3, 18, 30)
    assert due_date("咨询", evening) == D(2025, 3, 6)
    assert due_date("咨询", evening, cutoff=dt.time(20, 0)) == D(2025, 3, 5)
    assert due_date("咨询", evening, cutoff=None) == D(2025, 3, 5)
    assert due_date("咨询", T(2025, 3, 3, 16), cutoff=dt.time(12, 0)) == D(2025, 3, 6)


def test_start_day_not_counted_variant_is_one_working_day_later() -> None:
    accepted = T(2025, 9, 30, 10)
    assert due_date("咨询", accepted) == D(2025, 10, 10)
    assert due_date("咨询", accepted, start_day_counts=False) == D(2025, 10, 11)


def test_a_plain_date_counts_as_accepted_in_hours() -> None:
    assert due_date("咨询", D(2025, 9, 29)) == D(2025, 10, 9)


def test_aware_datetimes_are_converted_to_beijing_time() -> None:
    # 2025-09-30 10:30 UTC is 18:30 in Beijing: after the cut-off
    utc = T(2025, 9, 30, 10, 30, tzinfo=dt.UTC)
    assert due_date("咨询", utc) == D(2025, 10, 11)
    assert due_date("咨询", T(2025, 9, 30, 18, 30, tzinfo=CHINA_TZ)) == D(2025, 10, 11)
    assert due_date("咨询", T(2025, 9, 30, 2, 0, tzinfo=dt.UTC)) == D(2025, 10, 10)


def test_custom_deadlines() -> None:
    assert due_date("投诉", T(2025, 3, 3, 9), deadlines={"投诉": 1}) == D(2025, 3, 3)
    with pytest.raises(ValueError, match="at least 1"):
        due_date("投诉", T(2025, 3, 3, 9), deadlines={"投诉": 0})


def test_unknown_request_type_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="咨询"):
        due_date("催办", T(2025, 3, 3, 9))


def test_bad_accepted_at() -> None:
    with pytest.raises(TypeError):
        due_date("咨询", "2025-03-03")  # type: ignore[arg-type]


# --- beyond the calendar -----------------------------------------------------------------


def test_beyond_the_calendar_falls_back_to_weekends_and_warns_once(
        caplog: pytest.LogCaptureFixture) -> None:
    cal = Calendar.from_csv(CSV_PATH)
    with caplog.at_level(logging.WARNING, logger="classifier.deadline"):
        # 2027-01-01 is a Friday; without data it is a working day
        assert due_date("咨询", T(2027, 1, 1, 10), calendar=cal) == D(2027, 1, 5)
        assert due_date("投诉", T(2027, 3, 1, 10), calendar=cal) == D(2027, 3, 19)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_counting_into_an_uncovered_year(caplog: pytest.LogCaptureFixture) -> None:
    cal = Calendar.from_csv(CSV_PATH)
    with caplog.at_level(logging.WARNING, logger="classifier.deadline"):
        # 2026-12-29 (Tue), 12-30, 12-31, then 2027 by weekdays only: 1/1 (Fri) … 1/6
        assert due_date("求助", T(2026, 12, 29, 9), calendar=cal) == D(2027, 1, 6)
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1


def test_covered_years_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    cal = Calendar.from_csv(CSV_PATH)
    with caplog.at_level(logging.WARNING, logger="classifier.deadline"):
        due_date("投诉", T(2026, 6, 1, 9), calendar=cal)
    assert not caplog.records


# --- a hotline's own calendar ------------------------------------------------------------


def test_hotline_loads_its_own_calendar(tmp_path: Path) -> None:
    path = tmp_path / "cal.csv"
    # a local holiday on Wednesday and a Saturday declared a working day, with a BOM and a name
    path.write_text("\ufeffdate,kind,name\n2027-03-03,holiday,本地节日\n2027-03-06,workday,调休\n",
                    encoding="utf-8")
    cal = Calendar.from_csv(path)
    assert cal.years == {2027}
    assert not cal.is_working_day(D(2027, 3, 3))
    assert cal.is_working_day(D(2027, 3, 6))
    # Tue 3/2, (Wed off), Thu 3/4, Fri 3/5, Sat 3/6 (worked), Mon 3/8, Tue 3/9, Wed 3/10
    assert due_date("咨询", T(2027, 3, 2, 9), calendar=cal) == D(2027, 3, 5)
    assert due_date("求助", T(2027, 3, 2, 9), calendar=cal) == D(2027, 3, 10)


def test_declared_years_cover_a_year_without_rows(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cal.csv"
    path.write_text("date,kind\n2027-10-01,holiday\n", encoding="utf-8")
    cal = Calendar.from_csv(path, years=[2027, 2028])
    with caplog.at_level(logging.WARNING, logger="classifier.deadline"):
        assert cal.is_working_day(D(2028, 3, 1))
    assert not caplog.records


@pytest.mark.parametrize(("content", "message"), [
    ("day,type\n2027-01-01,holiday\n", "header"),
    ("date,kind\n2027-13-01,holiday\n", ":2: date"),
    ("date,kind\n2027-01-01,vacation\n", ":2: kind"),
    ("date,kind\n2027-01-01,holiday\n2027-01-01,workday\n", "both"),
    ("date,kind\n", "no dates"),
])
def test_bad_calendar_files_are_reported(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Calendar.from_csv(path)


def test_calendar_helpers() -> None:
    cal = default_calendar()
    assert cal.next_working_day(D(2025, 9, 30)) == D(2025, 10, 9)
    assert cal.add_working_days(D(2025, 9, 30), 0) == D(2025, 9, 30)
    assert cal.add_working_days(D(2025, 9, 30), 2) == D(2025, 10, 10)
    assert cal.working_days(D(2025, 9, 27), D(2025, 10, 12)) == 6  # 9/28, 9/29, 9/30, 10/9-11
    with pytest.raises(ValueError):
        cal.add_working_days(D(2025, 9, 30), -1)


def test_weekends_only_calendar() -> None:
    cal = Calendar.weekends_only()
    assert cal.is_working_day(D(2025, 10, 1))
    assert due_date("咨询", T(2025, 9, 30, 10), calendar=cal) == D(2025, 10, 2)
