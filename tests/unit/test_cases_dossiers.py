"""Dossier codes as callers give them, overdue derivation, row validation (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from cases.config import DEFAULT_DOSSIER_TEMPLATE
from cases.dossiers import DossierCodeFormat, DossierInfo, minimise_name, row_to_info
from cases.errors import InvalidDossierCodeError
from cases.models import DossierStatus

FMT = DossierCodeFormat(DEFAULT_DOSSIER_TEMPLATE)
CODE = "000.00.12.H12-240915-0001"


@pytest.mark.parametrize(
    "given",
    [
        CODE,  # printed
        "000.00.12.h12-240915-0001",  # lower case letter
        "000 00 12 H12 240915 0001",  # read out with pauses
        "0000012H122409150001",  # no punctuation
        "0000012122409150001",  # keypad: digits only, the H comes from the template
        " 000.00.12.H12 - 240915 - 0001 ",
        "０００.００.１２.Ｈ１２-２４０９１５-０００１",  # full-width digits from a phone keyboard
    ],
)
def test_every_way_a_caller_gives_a_code_normalises_to_the_printed_form(given: str) -> None:
    assert FMT.normalise(given) == CODE


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("", "empty"),
        ("12345", "5 digits, expected 19"),
        ("000.00.12.K12-240915-0001", "expected 'H'"),
        ("000.00.12.HH2-240915-0001", "character 9 is 'H', expected a digit"),
        ("000.00.12.H12-240915-0001#", "unexpected characters '#'"),
        ("ABC", "3 letters and digits, expected 20"),
    ],
)
def test_invalid_codes_say_why(given: str, why: str) -> None:
    with pytest.raises(InvalidDossierCodeError, match=why.replace("(", r"\(")):
        FMT.normalise(given)


def test_the_format_is_configurable() -> None:
    short = DossierCodeFormat("Gdd-dddd")
    assert short.digit_slots == 6
    assert short.normalise("123456") == "G12-3456"
    assert short.normalise("g12 3456") == "G12-3456"
    assert not short.is_valid(CODE)


def _info(status: DossierStatus, finished: date | None = None) -> DossierInfo:
    return DossierInfo(
        code=CODE,
        procedure="Đăng ký khai sinh",
        received_on=date(2026, 11, 1),
        due_on=date(2026, 11, 10),
        status=status,
        finished_on=finished,
    )


def test_overdue_is_derived_from_the_appointment_date() -> None:
    assert not _info(DossierStatus.PROCESSING).is_overdue(date(2026, 11, 10))
    assert _info(DossierStatus.PROCESSING).is_overdue(date(2026, 11, 11))
    assert _info(DossierStatus.PROCESSING).days_overdue(date(2026, 11, 13)) == 3
    on_time = _info(DossierStatus.RETURNED, date(2026, 11, 9))
    assert not on_time.is_overdue(date(2027, 1, 1))
    late = _info(DossierStatus.DONE, date(2026, 11, 12))
    assert late.is_overdue(date(2027, 1, 1)) and late.days_overdue(date(2027, 1, 1)) == 2


def test_applicant_data_is_minimised() -> None:
    assert minimise_name("Nguyễn Văn An") == "Nguyễn V. A."
    row = {
        "code": "0000012122409150001",
        "procedure": "Đăng ký khai sinh",
        "applicant": "Trần Thị Bích Hạnh",
        "phone": "0912 345 678",
        "received_on": "15/09/2024",
        "due_on": "2024-09-16",
        "status": "Đang xử lý",
    }
    info = row_to_info(row, FMT)
    assert info.code == CODE and info.applicant == "Trần T. B. H." and info.phone_tail == "678"
    assert info.received_on == date(2024, 9, 15) and info.status is DossierStatus.PROCESSING


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"due_on": "2024-09-01"}, "before received_on"),
        ({"received_on": "31/02/2024"}, "not a date"),
        ({"status": "lost"}, "status 'lost' is unknown"),
        ({"status": "done"}, "needs finished_on"),
        ({"procedure": " "}, "procedure is empty"),
    ],
)
def test_bad_rows_are_refused_with_a_reason(change: dict[str, str], why: str) -> None:
    row = {
        "code": CODE,
        "procedure": "Đăng ký khai sinh",
        "received_on": "2024-09-15",
        "due_on": "2024-09-16",
        "status": "processing",
        **change,
    }
    with pytest.raises(ValueError, match=why):
        row_to_info(row, FMT)
