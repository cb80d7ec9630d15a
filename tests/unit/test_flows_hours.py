"""Office hours (dialplans/province.yaml `office_hours`): open/closed at a moment, holidays, and
the spoken schedule derived from the data."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import yaml

from ivr.flows.hours import OfficeHoursError, parse_office_hours

REPO = Path(__file__).resolve().parents[2]
RAW = {
    "timezone": "Asia/Ho_Chi_Minh",
    "weekly": {d: ["07:00-11:30", "13:30-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": "07:00-11:30"},
    "holidays": ["2026-09-02"],
}


def test_open_closed_and_holidays() -> None:
    hours = parse_office_hours(RAW)
    assert hours.is_open(datetime(2026, 11, 25, 9, 0))  # a Wednesday morning (local)
    assert not hours.is_open(datetime(2026, 11, 25, 12, 0))  # lunch
    assert not hours.is_open(datetime(2026, 11, 25, 17, 0))  # the end is exclusive
    assert hours.is_open(datetime(2026, 11, 28, 7, 0))  # Saturday morning
    assert not hours.is_open(datetime(2026, 11, 29, 9, 0))  # Sunday
    assert not hours.is_open(datetime(2026, 9, 2, 9, 0))  # a holiday (a Wednesday)
    # aware times are compared in the schedule's zone: 02:00 UTC is 09:00 in Viet Nam
    assert hours.is_open(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 25, 5, 0, tzinfo=UTC))  # 12:00 local: lunch


def test_spoken_schedule_is_derived_from_the_data() -> None:
    hours = parse_office_hours(RAW)
    assert hours.spoken() == (
        "từ thứ Hai đến thứ Sáu, từ bảy giờ đến mười một giờ ba mươi phút và từ mười ba giờ "
        "ba mươi phút đến mười bảy giờ; thứ Bảy, từ bảy giờ đến mười một giờ ba mươi phút, "
        "trừ các ngày lễ, Tết"
    )
    two = parse_office_hours({"weekly": {"sat": ["08:00-09:05"], "sun": ["08:00-09:05"]}})
    assert two.spoken(southern=True) == "thứ Bảy và Chủ nhật, từ tám giờ đến chín giờ năm phút"
    assert parse_office_hours({}).spoken() == "theo lịch được thông báo"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"timezone": "Mars/Base"}, "unknown time zone"),
        ({"weekly": {"mon": ["9-17"]}}, "expected 'HH:MM-HH:MM'"),
        ({"weekly": {"mon": ["17:00-09:00"]}}, "ends before it starts"),
        ({"weekly": {"mon": ["25:00-26:00"]}}, "not a time of day"),
        ({"weekly": {"mon": ["08:00-12:00", "11:00-13:00"]}}, "overlap"),
        ({"weekly": {"monday": ["08:00-12:00"]}}, "unknown day"),
        ({"holidays": ["30/4"]}, "not YYYY-MM-DD"),
    ],
)
def test_bad_sections_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(OfficeHoursError, match=message):
        parse_office_hours(raw)


def test_the_province_file_parses() -> None:
    raw = yaml.safe_load((REPO / "dialplans" / "province.yaml").read_text(encoding="utf-8"))
    hours = parse_office_hours(raw["office_hours"])
    assert hours.weekly[0][0] == (time(7, 0), time(11, 30))
    assert raw["readings"] == "southern"
