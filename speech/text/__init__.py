"""Vietnamese text: normalisation, match keys, numbers/dates/times read aloud and parsed back.

Pure functions, no I/O. The public API:

- :func:`nfc`, :func:`normalise`, :func:`strip_tones`, :func:`match_key`, :func:`tokens`;
- :func:`read_number`, :func:`read_digits`, :func:`read_date`, :func:`read_time`;
- :func:`words_to_digits` (None on failure), :func:`parse_spoken_digits` (raises),
  :func:`extract_digits` (a digit run inside a sentence), :func:`digit_runs`;
- :func:`normalize_for_speech` (a written sentence with its numbers, dates, times and codes
  in words, for the synthesiser).
"""

from __future__ import annotations

from speech.text.normalise import (
    match_key,
    nfc,
    normalise,
    normalise_whitespace,
    strip_tones,
    tokens,
)
from speech.text.numbers import (
    digit_runs,
    extract_digits,
    parse_spoken_digits,
    read_date,
    read_digits,
    read_number,
    read_time,
    words_to_digits,
)
from speech.text.spoken import normalize_for_speech

__all__ = [
    "digit_runs",
    "extract_digits",
    "match_key",
    "nfc",
    "normalise",
    "normalise_whitespace",
    "normalize_for_speech",
    "parse_spoken_digits",
    "read_date",
    "read_digits",
    "read_number",
    "read_time",
    "strip_tones",
    "tokens",
    "words_to_digits",
]
