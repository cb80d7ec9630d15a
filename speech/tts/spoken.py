"""The words a prompt will actually say: numbers, codes, dates and times read the Vietnamese way.

espeak-ng and gTTS each read digits their own way (and espeak reads "1900 9120" as one big
number). We hand them words instead, using ``speech.text``:

- dates ``25/11/2026`` → "ngày hai mươi lăm tháng mười một năm hai nghìn không trăm hai mươi sáu";
- times ``14:05`` → "mười bốn giờ năm phút";
- a code with letters and digits (``HS2024-0015``) → letters spelled, digits one by one;
- an amount with thousands dots (``1.500.000``) → read as a quantity;
- a digit run that starts with 0, has 5 or more digits, or is a group of digit runs separated by
  spaces/dots/dashes (phone numbers, ``1900 9120``, case codes) → digit by digit, 0 = "không";
- any other number → read as a quantity: 21 "hai mươi mốt", 105 "một trăm linh năm".

Pure: no I/O. ``southern=True`` uses "lẻ" and "ngàn".
"""

from __future__ import annotations

import datetime as dt
import re

from speech.text import nfc, normalise_whitespace, read_date, read_digits, read_number, read_time

_DATE = re.compile(r"(?:\b[Nn]gày\s+)?(?<!\d)(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?!\d)")
_TIME = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)")
_CODE = re.compile(r"\b[A-Za-z]+\d[A-Za-z0-9\-./]*\b")
_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{3})+(?![\d.])")
_DIGIT_GROUPS = re.compile(r"(?<!\d)\d+(?:[ .\-]\d+)+(?!\d)")
_NUMBER = re.compile(r"(?<!\d)\d+(?!\d)")


def _date(match: re.Match[str], southern: bool) -> str:
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else 2000
    try:
        when = dt.date(year, month, day)
    except ValueError:
        return match.group(0)
    return read_date(when, southern=southern, year=match.group(3) is not None)


def _time(match: re.Match[str], southern: bool) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return match.group(0)
    return read_time(dt.time(hour, minute), southern=southern)


def _number(match: re.Match[str], southern: bool) -> str:
    digits = match.group(0)
    if (digits.startswith("0") and len(digits) > 1) or len(digits) >= 5:
        return read_digits(digits)
    return read_number(int(digits), southern=southern)


def spoken_form(text: str, *, southern: bool = False) -> str:
    """NFC text with every number replaced by the words that should be heard."""
    out = nfc(text)
    out = _DATE.sub(lambda m: _date(m, southern), out)
    out = _TIME.sub(lambda m: _time(m, southern), out)
    out = _CODE.sub(lambda m: read_digits(m.group(0)), out)
    out = _THOUSANDS.sub(
        lambda m: read_number(int(m.group(0).replace(".", "")), southern=southern), out
    )
    out = _DIGIT_GROUPS.sub(lambda m: read_digits(m.group(0)), out)
    out = _NUMBER.sub(lambda m: _number(m, southern), out)
    return normalise_whitespace(out)
