"""Office hours: a weekly schedule with holidays (``office_hours:`` in dialplans/province.yaml).

`parse_office_hours(raw)` validates the section into `OfficeHours`; `is_open(moment)` says whether
agents work at an aware or local datetime; `spoken(southern=...)` is the schedule as callers hear
it ("từ thứ Hai đến thứ Sáu, từ bảy giờ đến mười một giờ ba mươi phút và ..."), derived from the
schedule itself so the two never disagree. Pure: the caller passes the time.

Section shape::

    office_hours:
      timezone: Asia/Ho_Chi_Minh
      weekly:                      # mon..sun -> list of "HH:MM-HH:MM"; a missing day is closed
        mon: ["07:00-11:30", "13:30-17:00"]
      holidays: [2026-01-01, 2026-04-30]   # whole days closed
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from speech.text import read_time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Period = tuple[time, time]


class OfficeHoursError(ValueError):
    """The office_hours section is malformed; the message names the key and the value."""


@dataclass(frozen=True, slots=True)
class OfficeHours:
    timezone: str
    weekly: tuple[tuple[Period, ...], ...]  # 7 entries, Monday first
    holidays: frozenset[date]

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone)) if moment.tzinfo else moment
        if local.date() in self.holidays:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.weekly[local.weekday()])

    def spoken(self, *, southern: bool = False) -> str:
        """The schedule in Vietnamese; consecutive days with the same hours are grouped."""
        groups: list[tuple[int, int, tuple[Period, ...]]] = []
        for day, periods in enumerate(self.weekly):
            if not periods:
                continue
            if groups and groups[-1][1] == day - 1 and groups[-1][2] == periods:
                groups[-1] = (groups[-1][0], day, periods)
            else:
                groups.append((day, day, periods))
        if not groups:
            return "theo lịch được thông báo"
        parts: list[str] = []
        for first, last, periods in groups:
            if first == last:
                days = _DAY_VI[first]
            elif last == first + 1:
                days = f"{_DAY_VI[first]} và {_DAY_VI[last]}"
            else:
                days = f"từ {_DAY_VI[first]} đến {_DAY_VI[last]}"
            spans = " và ".join(
                f"từ {_clock(a, southern)} đến {_clock(b, southern)}" for a, b in periods
            )
            parts.append(f"{days}, {spans}")
        text = "; ".join(parts)
        if self.holidays:
            text += ", trừ các ngày lễ, Tết"
        return text


def _clock(moment: time, southern: bool) -> str:
    return read_time(moment, southern=southern).removesuffix(" đúng")


def _span(text: Any, where: str) -> Period:
    match = _SPAN.match(text) if isinstance(text, str) else None
    if match is None:
        raise OfficeHoursError(f"{where}: expected 'HH:MM-HH:MM', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise OfficeHoursError(f"{where}: {text!r} is not a time of day") from exc
    if end <= start:
        raise OfficeHoursError(f"{where}: {text!r} ends before it starts")
    return start, end


def parse_office_hours(raw: Mapping[str, Any], source: str = "office_hours") -> OfficeHours:
    timezone = raw.get("timezone", "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OfficeHoursError(f"{source}.timezone: unknown time zone {timezone!r}") from exc
    weekly_raw = raw.get("weekly") or {}
    if not isinstance(weekly_raw, Mapping):
        raise OfficeHoursError(f"{source}.weekly must map mon..sun to lists of 'HH:MM-HH:MM'")
    stray = sorted(set(weekly_raw) - set(DAYS))
    if stray:
        raise OfficeHoursError(f"{source}.weekly: unknown day(s) {stray}; days are {DAYS}")
    weekly: list[tuple[Period, ...]] = []
    for day in DAYS:
        spans = weekly_raw.get(day) or []
        if isinstance(spans, str):
            spans = [spans]
        if not isinstance(spans, list):
            raise OfficeHoursError(f"{source}.weekly.{day} must be a list of 'HH:MM-HH:MM'")
        periods = sorted(_span(s, f"{source}.weekly.{day}") for s in spans)
        for (_, end), (start, _) in pairwise(periods):
            if start < end:
                raise OfficeHoursError(f"{source}.weekly.{day}: periods overlap")
        weekly.append(tuple(periods))
    holidays: set[date] = set()
    for value in raw.get("holidays") or []:
        if isinstance(value, date):
            holidays.add(value)
            continue
        try:
            holidays.add(date.fromisoformat(str(value)))
        except ValueError as exc:
            raise OfficeHoursError(f"{source}.holidays: {value!r} is not YYYY-MM-DD") from exc
    return OfficeHours(str(timezone), tuple(weekly), frozenset(holidays))


__all__ = ["DAYS", "OfficeHours", "OfficeHoursError", "parse_office_hours"]
