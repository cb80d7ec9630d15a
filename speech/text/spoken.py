"""The spoken form of a written Vietnamese sentence: what a synthesiser should say.

Pure, no I/O. :func:`normalize_for_speech` turns the numbers of a prompt or a dynamic text into
words; everything else is left to the synthesiser, NFC and single-spaced.

Strategy — what a run of digits is, decided from its shape, in this order:

- a date ``25/11/2026`` (or ``25-11-2026``, ``25/11``) → :func:`read_date`;
- a time ``14:05``, ``14h05``, ``14h`` → :func:`read_time`;
- a decimal with a comma ``3,5`` → "ba phẩy năm"; a percentage sign → "phần trăm";
- a number with thousands dots ``10.000`` / ``1.250.000`` (not starting with 0) → its value;
- a code: letters and digits in one token (``HS2024``, ``000.00.12.H12-250101-0001``), a
  number after "mã", a leading 0 (``0912 345 678``), several groups joined by spaces, dots or
  dashes (``1900 9120``), or 7 digits and more → digit by digit (:func:`read_digits`);
- anything else (``2026``, ``105``) → :func:`read_number`.
"""

from __future__ import annotations

import datetime as dt
import re

from speech.text.normalise import nfc, normalise_whitespace
from speech.text.numbers import read_date, read_digits, read_number, read_time

__all__ = ["normalize_for_speech"]

# A "ngày" written before the date is part of the reading ("ngày 25/11" → "ngày hai mươi lăm…").
_DATE = re.compile(
    r"(?:\bngày\s+)?\b([0-9]{1,2})[/-]([0-9]{1,2})(?:[/-]([0-9]{4}))?\b", re.IGNORECASE
)
_TIME = re.compile(r"\b([0-9]{1,2})(?::([0-9]{2})|h([0-9]{2})?)(?![\w:])")
_DECIMAL = re.compile(r"\b([0-9]+),([0-9]+)\b")
_THOUSANDS = re.compile(r"\b[1-9][0-9]{0,2}(?:\.[0-9]{3})+\b(?![.0-9])")
_GROUPS = re.compile(r"\b[0-9]+(?:[ .\-][0-9]+)+\b")
# [0-9], not \d: other scripts' digits are not ours to read.
_DIGITS = re.compile(r"[0-9]+")
# Letters and digits in one token, maybe joined by dots/dashes: a code ("H12", "HS2024",
# "000.00.12.H12-250101-0001"), spelled letter by letter and digit by digit.
_CODE = re.compile(r"\b(?=[\w.\-]*[0-9])(?=[\w.\-]*[A-Za-z])[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*\b")
# After "mã" (code) a number is always a code.
_AFTER_MA = re.compile(r"(\bmã\s+(?:số\s+)?)([0-9]+)\b", re.IGNORECASE)


def _date(match: re.Match[str], southern: bool) -> str:
    day, month, year = int(match[1]), int(match[2]), match[3]
    try:
        when = dt.date(int(year) if year else 2000, month, day)
    except ValueError:
        return match[0]
    return read_date(when, southern=southern, year=year is not None)


def _time(match: re.Match[str], southern: bool) -> str:
    hour, minute = int(match[1]), int(match[2] or match[3] or 0)
    if hour > 23 or minute > 59:
        return match[0]
    return read_time(dt.time(hour, minute), southern=southern)


def _number(text: str, southern: bool) -> str:
    if (text.startswith("0") and len(text) > 1) or len(text) >= 7:
        return read_digits(text)
    return read_number(int(text), southern=southern)


def normalize_for_speech(text: str, *, southern: bool = False) -> str:
    """Numbers, dates, times and codes of ``text`` written out in Vietnamese words.

    >>> normalize_for_speech("Gọi 1900 9120 trước 17:30 ngày 25/11/2026, phí 10.000 đồng")
    'Gọi một chín không không chín một hai không trước mười bảy giờ ba mươi phút ngày hai mươi lăm tháng mười một năm hai nghìn không trăm hai mươi sáu, phí mười nghìn đồng'
    """  # noqa: E501
    out = nfc(text)
    out = _DATE.sub(lambda m: _date(m, southern), out)
    out = _TIME.sub(lambda m: _time(m, southern), out)
    out = _CODE.sub(lambda m: read_digits(m[0]), out)
    out = _AFTER_MA.sub(lambda m: m[1] + read_digits(m[2]), out)
    out = _DECIMAL.sub(
        lambda m: (
            f"{_number(m[1], southern)} phẩy {read_digits(m[2])}"
            if m[2].startswith("0")
            else f"{_number(m[1], southern)} phẩy {read_number(int(m[2]), southern=southern)}"
        ),
        out,
    )
    out = out.replace("%", " phần trăm")
    out = _THOUSANDS.sub(lambda m: read_number(int(m[0].replace(".", "")), southern=southern), out)
    out = _GROUPS.sub(lambda m: read_digits(m[0]), out)
    out = _DIGITS.sub(lambda m: _number(m[0], southern), out)
    return normalise_whitespace(out)
