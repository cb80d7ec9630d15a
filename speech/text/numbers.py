"""Numbers, digit strings, dates and times read the Vietnamese way, and spoken numbers parsed back.

Pure functions, no I/O. Two directions:

- **reading** (what the hotline says): :func:`read_number`, :func:`read_digits`,
  :func:`read_date`, :func:`read_time`;
- **parsing** (what the caller said or typed): :func:`words_to_digits` (strict: the whole text must
  be a number) and :func:`extract_digits` (lenient: the longest run of digits inside a sentence).

Strategy (reading). Numbers are read in groups of three digits, from the left: ``tỷ`` (10^9),
``triệu`` (10^6), ``nghìn``/``ngàn`` (10^3). The leading group is read short; every later non-zero
group is read in full, with ``không trăm`` when its hundreds digit is 0 (2026 → "hai nghìn không
trăm hai mươi sáu"); all-zero groups are skipped (1 000 105 → "một triệu một trăm linh năm"). In a
group: ``linh`` (``lẻ`` in the southern setting) before a lone unit after a hundreds digit;
``mười`` for 10–19 and ``mươi`` from 20; the unit 1 after ``mươi`` is ``mốt``, 4 is ``tư``, 5 after
``mười``/``mươi`` is ``lăm``. Above 10^12 the count of ``tỷ`` is itself read as a number
("một nghìn tỷ").

Why not ``num2words(n, lang="vi")`` at run time (0.5.14): it is right for 0–999 apart from the
style choice ``bốn`` after ``mươi`` and always saying ``lẻ``, but wrong in structure above 999 —
it never says ``không trăm`` in a later group and joins with ``lẻ`` instead (2026 → "hai nghìn lẻ
hai mươi sáu", 1010 → "một nghìn lẻ mười", 1 005 000 → "một triệu năm nghìn", 3.2×10^12 →
"ba nghìn tỷ hai trăm tỷ"). Patching its
output would mean re-deriving the groups anyway, so the group reader below (30 lines) is the
implementation and num2words is kept as a test oracle on the cases where it agrees; the cases
where it does not are listed and checked in ``tests/unit/test_text_numbers.py``.

Strategy (parsing). The text is cut into tokens (match keys, so tone-less input works); each token
is a digit word (``không`` … ``chín`` and the variants ``mốt``, ``tư``, ``lăm``, ``nhăm``), a
multiplier (``mười``, ``mươi``, ``chục``, ``trăm``, ``linh``/``lẻ``, ``nghìn``/``ngàn``,
``triệu``, ``tỷ``), typed digits, a filler (``dạ``, ``ờ``, ``số``, ``là`` …) or another word.
A digit word directly followed by a multiplier starts a *number phrase*, parsed by a small
grammar into its value ("một trăm linh năm" → 105); any other digit word is one digit ("không
chín không tám" → 0908). Pieces are concatenated, so "không chín mười hai" → 0912. Without tone
marks ``muoi`` is both ``mười`` (10) and ``mươi`` (×10): after a digit word it is the multiplier.
Colloquial short forms are understood: "hai mốt" (21), "một trăm hai" (120), "một nghìn rưỡi"
is not (rare on a hotline).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from speech.text.errors import SpokenNumberError
from speech.text.normalise import match_key, nfc, tokens

__all__ = [
    "DIGIT_WORDS",
    "digit_runs",
    "extract_digits",
    "parse_spoken_digits",
    "read_date",
    "read_digits",
    "read_number",
    "read_time",
    "words_to_digits",
]

DIGIT_WORDS: tuple[str, ...] = (
    "không",
    "một",
    "hai",
    "ba",
    "bốn",
    "năm",
    "sáu",
    "bảy",
    "tám",
    "chín",
)

_GROUP_SCALES: tuple[str, ...] = ("", "nghìn", "triệu")  # below 10^9; tỷ is handled recursively
_BILLION = 1_000_000_000


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def _read_group(n: int, *, full: bool, southern: bool) -> list[str]:
    """Words of 0 < n < 1000; ``full`` reads the hundreds even when 0 ("không trăm")."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if full or hundreds:
        words += [DIGIT_WORDS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:
                words.append("lẻ" if southern else "linh")
            words.append(DIGIT_WORDS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGIT_WORDS[units])
    else:
        words += [DIGIT_WORDS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 4: "tư", 5: "lăm"}.get(units, DIGIT_WORDS[units]))
    return words


def _read_below_billion(n: int, *, leading: bool, southern: bool) -> list[str]:
    groups = [n // 1_000_000, n // 1000 % 1000, n % 1000]
    scales = ["triệu", "ngàn" if southern else "nghìn", ""]
    words: list[str] = []
    for value, scale in zip(groups, scales, strict=True):
        if value == 0:
            continue
        words += _read_group(value, full=bool(words) or not leading, southern=southern)
        if scale:
            words.append(scale)
    return words


def _read_words(n: int, *, leading: bool, southern: bool) -> list[str]:
    if n < _BILLION:
        return _read_below_billion(n, leading=leading, southern=southern)
    billions, rest = divmod(n, _BILLION)
    words = [*_read_words(billions, leading=leading, southern=southern), "tỷ"]
    if rest:
        words += _read_below_billion(rest, leading=False, southern=southern)
    return words


def read_number(n: int, *, southern: bool = False) -> str:
    """Read an integer the Vietnamese way (northern standard; ``southern`` says lẻ and ngàn).

    >>> read_number(2026)
    'hai nghìn không trăm hai mươi sáu'
    >>> read_number(105, southern=True)
    'một trăm lẻ năm'
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"read_number needs an int, got {type(n).__name__}")
    if n < 0:
        return "âm " + read_number(-n, southern=southern)
    if n == 0:
        return DIGIT_WORDS[0]
    return " ".join(_read_words(n, leading=True, southern=southern))


def read_digits(text: str, *, groups: Sequence[int] = ()) -> str:
    """Read a code, case or phone number digit by digit, 0 as "không".

    Separators (spaces, ``-``, ``.``, ``/``) are dropped; letters are kept, upper case, as their
    own words (the synthesiser spells them). ``groups`` puts a comma (a short pause when spoken)
    after each group of that many digits: ``groups=(4, 3, 3)`` for a mobile number.

    >>> read_digits("0912")
    'không chín một hai'
    >>> read_digits("0912345678", groups=(4, 3, 3))
    'không chín một hai, ba bốn năm, sáu bảy tám'
    """
    words: list[str] = []
    breaks: set[int] = set()
    position = 0
    for size in groups:
        position += size
        breaks.add(position)
    count = 0
    for ch in nfc(text):
        if ch.isdigit() and ch.isascii():
            words.append(DIGIT_WORDS[int(ch)])
            count += 1
            if count in breaks and words:
                words[-1] += ","
        elif ch.isalpha():
            words.append(ch.upper())
        elif ch.isspace() or ch in "-./_,:()+":
            continue
        else:
            raise SpokenNumberError(f"cannot read {ch!r} in code {text!r} digit by digit")
    return " ".join(words).rstrip(",")


_WEEKDAYS = ("thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật")


def _read_month(month: int, southern: bool) -> str:
    return "tư" if month == 4 else read_number(month, southern=southern)


def read_date(
    day: dt.date,
    *,
    southern: bool = False,
    mung: bool = False,
    weekday: bool = False,
    year: bool = True,
) -> str:
    """Read a date: "ngày hai mươi lăm tháng mười một năm hai nghìn không trăm hai mươi sáu".

    ``mung`` says days 1–10 as "mồng" (northern) / "mùng" (southern): "ngày mồng một tháng tư".
    Month 4 is always "tháng tư". ``weekday`` prefixes "thứ hai" … "chủ nhật".
    """
    parts: list[str] = []
    if weekday:
        parts.append(_WEEKDAYS[day.weekday()])
    parts.append("ngày")
    if mung and day.day <= 10:
        parts.append("mùng" if southern else "mồng")
    # A day is a count, not a tens reading: 14 is "mười bốn", 24 "hai mươi tư".
    parts.append(read_number(day.day, southern=southern))
    parts += ["tháng", _read_month(day.month, southern)]
    if year:
        parts += ["năm", read_number(day.year, southern=southern)]
    return " ".join(parts)


def _day_period(hour: int) -> str:
    if hour < 11:
        return "sáng"
    if hour < 13:
        return "trưa"
    if hour < 18:
        return "chiều"
    if hour < 22:
        return "tối"
    return "đêm"


def read_time(
    moment: dt.time, *, southern: bool = False, seconds: bool = False, day_period: bool = False
) -> str:
    """Read a time of day: "mười bốn giờ năm phút"; with ``day_period`` "hai giờ năm phút chiều".

    Minute 0 is "mười giờ đúng"; ``seconds`` adds "… giây" when non-zero.
    """
    hour = moment.hour
    spoken_hour = (hour % 12 or 12) if day_period else hour
    parts = [read_number(spoken_hour, southern=southern), "giờ"]
    if moment.minute:
        parts += [read_number(moment.minute, southern=southern), "phút"]
    if seconds and moment.second:
        parts += [read_number(moment.second, southern=southern), "giây"]
    if not moment.minute and not (seconds and moment.second):
        parts.append("đúng")
    if day_period:
        parts.append(_day_period(hour))
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------
_DIGIT = "digit"
_TEN = "ten"  # mười: 10
_MUL = "mul"  # mươi, chục: ×10
_MUOI = "muoi"  # tone-less "muoi": mười or mươi, decided by context
_HUNDRED = "hundred"
_LINH = "linh"
_SCALE = "scale"
_LITERAL = "literal"
_FILLER = "filler"
_OTHER = "other"

# Keys are match keys (tone-less), so "khong chin" works like "không chín". Where the tone
# matters (mười/mươi) the toned word is looked up first, in _TONED.
_TONED: dict[str, tuple[str, int]] = {
    "mười": (_TEN, 10),
    "mươi": (_MUL, 10),
}
_KEYED: dict[str, tuple[str, int]] = {
    "khong": (_DIGIT, 0),
    "mot": (_DIGIT, 1),
    "hai": (_DIGIT, 2),
    "ba": (_DIGIT, 3),
    "bon": (_DIGIT, 4),
    "tu": (_DIGIT, 4),
    "nam": (_DIGIT, 5),
    "lam": (_DIGIT, 5),
    "nham": (_DIGIT, 5),
    "sau": (_DIGIT, 6),
    "bay": (_DIGIT, 7),
    "tam": (_DIGIT, 8),
    "chin": (_DIGIT, 9),
    "muoi": (_MUOI, 10),
    "chuc": (_MUL, 10),
    "tram": (_HUNDRED, 100),
    "linh": (_LINH, 0),
    "le": (_LINH, 0),
    "nghin": (_SCALE, 1000),
    "ngan": (_SCALE, 1000),
    "ngin": (_SCALE, 1000),
    "trieu": (_SCALE, 1_000_000),
    "ty": (_SCALE, _BILLION),
    "ti": (_SCALE, _BILLION),
}
# Words that may surround or interrupt a spoken number without being part of it (match keys).
FILLERS: frozenset[str] = frozenset(
    {
        "da",
        "vang",
        "o",
        "u",
        "um",
        "uhm",
        "a",
        "ah",
        "uh",
        "ha",
        "thi",
        "la",
        "so",
        "ma",
        "cua",
        "nha",
        "nhe",
        "nhen",
        "nghen",
        "nhá",
        "gach",
        "ngang",
        "cheo",
        "cham",
    }
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    value: int = 0
    text: str = ""


def _classify(word: str) -> _Tok:
    if word.isdigit():
        return _Tok(_LITERAL, 0, word)
    toned = _TONED.get(word)
    if toned is not None:
        return _Tok(toned[0], toned[1], word)
    key = match_key(word)
    keyed = _KEYED.get(key)
    if keyed is not None:
        return _Tok(keyed[0], keyed[1], word)
    if key in FILLERS:
        return _Tok(_FILLER, 0, word)
    return _Tok(_OTHER, 0, word)


def _lex(text: str) -> list[_Tok]:
    return [_classify(w) for w in tokens(text)]


class _Parser:
    """Recursive-descent parser of one number phrase over the token list (see module docstring)."""

    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks

    def kind(self, i: int) -> str:
        return self.toks[i].kind if 0 <= i < len(self.toks) else ""

    def is_digit(self, i: int) -> bool:
        return self.kind(i) == _DIGIT

    def is_tens_mul(self, i: int) -> bool:
        return self.kind(i) in (_MUL, _MUOI)

    def is_ten(self, i: int) -> bool:
        return self.kind(i) in (_TEN, _MUOI)

    def numberish(self, i: int) -> bool:
        return self.kind(i) in (_DIGIT, _TEN, _MUL, _MUOI, _HUNDRED, _LINH)

    def starts_phrase(self, i: int) -> bool:
        """True if a structured number phrase (not a bare digit) starts at token i."""
        if self.is_ten(i):
            return True
        if self.is_digit(i) and self.kind(i + 1) == _MUOI and self.is_digit(i - 1):
            # Tone-less "khong chin muoi hai": inside a run of bare digits, "muoi" is mười (10).
            return False
        if self.is_digit(i) and self.kind(i + 1) in (_MUL, _MUOI, _HUNDRED, _SCALE):
            return True
        return (
            self.kind(i) == _LITERAL and len(self.toks[i].text) <= 3 and self.kind(i + 1) == _SCALE
        )

    def tens(self, i: int) -> tuple[int, int] | None:
        """Parse 10–99 written with a tens word: "mười lăm", "hai mươi mốt", "ba chục"."""
        if self.is_ten(i):
            value, i = 10, i + 1
        elif self.is_digit(i) and self.is_tens_mul(i + 1) and self.toks[i].value > 0:
            value, i = self.toks[i].value * 10, i + 2
        else:
            return None
        if self.is_digit(i) and not self.is_tens_mul(i + 1) and self.kind(i + 1) != _HUNDRED:
            value, i = value + self.toks[i].value, i + 1
        return value, i

    def after_hundreds(self, i: int) -> tuple[int, int]:
        """What may follow "X trăm": linh/lẻ + unit, a tens reading, or colloquial short forms."""
        if self.kind(i) == _LINH and self.is_digit(i + 1):
            return self.toks[i + 1].value, i + 2
        tens = self.tens(i)
        if tens is not None:
            return tens
        if self.is_digit(i) and self.is_digit(i + 1) and not self.numberish(i + 2):
            # "một trăm hai ba" = 123, "hai trăm không năm" = 205 (spoken shorthand)
            return self.toks[i].value * 10 + self.toks[i + 1].value, i + 2
        if self.is_digit(i) and not self.numberish(i + 1):
            # "một trăm hai" = 120
            return self.toks[i].value * 10, i + 1
        return 0, i

    def group(self, i: int, *, inner: bool) -> tuple[int, int] | None:
        """Parse 0–999 at i; ``inner`` (after a scale word) also allows "linh năm"."""
        if self.is_digit(i) and self.kind(i + 1) == _HUNDRED:
            rest, j = self.after_hundreds(i + 2)
            return self.toks[i].value * 100 + rest, j
        tens = self.tens(i)
        if tens is not None:
            return tens
        if inner and self.kind(i) == _LINH and self.is_digit(i + 1):
            return self.toks[i + 1].value, i + 2
        if self.is_digit(i) and self.kind(i + 1) == _SCALE:
            return self.toks[i].value, i + 1
        if self.kind(i) == _LITERAL and len(self.toks[i].text) <= 3 and self.kind(i + 1) == _SCALE:
            return int(self.toks[i].text), i + 1
        return None

    def number(self, i: int) -> tuple[int, int] | None:
        """Parse a whole number phrase at i: groups joined by nghìn/triệu/tỷ."""
        total = 0
        top = 1  # the largest scale already folded into total
        first = True
        while True:
            parsed = self.group(i, inner=not first)
            if parsed is None:
                break
            value, j = parsed
            if self.kind(j) != _SCALE:
                return total + value, j
            scale = 1
            while self.kind(j) == _SCALE:  # "nghìn tỷ" is one scale of 10^12
                scale *= self.toks[j].value
                j += 1
            # A larger scale multiplies everything before it ("ba nghìn hai trăm tỷ");
            # a smaller one adds a lower group ("một tỷ hai trăm nghìn").
            total = (total + value) * scale if scale > top else total + value * scale
            top = max(top, scale)
            i, first = j, False
            # "một nghìn hai" = 1200: one digit word ending the phrase right after a scale.
            if self.is_digit(i) and not self.numberish(i + 1) and self.kind(i + 1) != _SCALE:
                return total + self.toks[i].value * (scale // 10), i + 1
        if first:
            return None
        return total, i


def _parse_spans(text: str) -> list[tuple[str, str, int, int]]:
    """Cut text into pieces with their token span [start, end): ("digits", "105", 0, 4) spoken,
    ("typed", "0912", ...), ("filler", "dạ", ...), or ("word", "xyz", ...) for other words."""
    toks = _lex(text)
    parser = _Parser(toks)
    pieces: list[tuple[str, str, int, int]] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        start = i
        if tok.kind == _FILLER:
            pieces.append(("filler", tok.text, start, i + 1))
            i += 1
        elif tok.kind == _LITERAL and not parser.starts_phrase(i):
            pieces.append(("typed", tok.text, start, i + 1))
            i += 1
        elif parser.starts_phrase(i):
            parsed = parser.number(i)
            if parsed is None:
                pieces.append(("word", tok.text, start, i + 1))
                i += 1
            else:
                value, i = parsed
                pieces.append(("digits", str(value), start, i))
        elif tok.kind == _DIGIT:
            pieces.append(("digits", str(tok.value), start, i + 1))
            i += 1
        else:
            pieces.append(("word", tok.text, start, i + 1))
            i += 1
    return pieces


def _parse(text: str) -> list[tuple[str, str]]:
    return [(kind, value) for kind, value, _, _ in _parse_spans(text)]


def digit_runs(text: str, *, min_digits: int = 3) -> list[tuple[int, int, str]]:
    """Runs of spoken or typed digits in ``text`` as (first token, end token, digits), over the
    tokens of :func:`speech.text.normalise.tokens`. Fillers inside a run belong to it; runs
    shorter than ``min_digits`` count only if typed as digits."""
    runs: list[tuple[int, int, str]] = []
    current: list[tuple[str, str, int, int]] = []

    def close() -> None:
        numbers = [p for p in current if p[0] in ("digits", "typed")]
        digits = "".join(p[1] for p in numbers)
        typed = any(p[0] == "typed" for p in numbers)
        if digits and (len(digits) >= min_digits or typed):
            runs.append((numbers[0][2], numbers[-1][3], digits))
        current.clear()

    pieces = _parse_spans(text)
    for index, piece in enumerate(pieces):
        if piece[0] == "word":
            # One letter between typed digit groups belongs to a code: "000.00.12.H12-2501".
            between = 0 < index < len(pieces) - 1
            if (
                between
                and len(piece[1]) == 1
                and piece[1].isascii()
                and pieces[index - 1][0] == "typed"
                and pieces[index + 1][0] == "typed"
            ):
                continue
            close()
        else:
            current.append(piece)
    close()
    return runs


def parse_spoken_digits(text: str) -> str:
    """Like :func:`words_to_digits` but raise :class:`SpokenNumberError` naming the bad word."""
    pieces = _parse(text)
    bad = [word for kind, word in pieces if kind == "word"]
    if bad:
        raise SpokenNumberError(f"{bad[0]!r} in {text!r} is not a digit or number word")
    digits = "".join(value for kind, value in pieces if kind in ("digits", "typed"))
    if not digits:
        raise SpokenNumberError(f"no digits or number words in {text!r}")
    return digits


def words_to_digits(text: str) -> str | None:
    """Turn a spoken or typed number into a digit string, or None if the text is not one.

    Digit words are read one by one, number phrases by value; typed digits and fillers
    ("dạ", "ờ", "số là") are accepted; tone marks are optional.

    >>> words_to_digits("dạ số là không chín không tám")
    '0908'
    >>> words_to_digits("hai bốn không chín một lăm")
    '240915'
    >>> words_to_digits("một trăm linh năm")
    '105'
    >>> words_to_digits("hôm nay trời đẹp") is None
    True
    """
    try:
        return parse_spoken_digits(text)
    except SpokenNumberError:
        return None


def extract_digits(text: str, *, min_digits: int = 3) -> str | None:
    """The longest run of spoken or typed digits inside a sentence, or None.

    A run may contain fillers ("ờ", "là") but ends at any other word. Runs shorter than
    ``min_digits`` digits are ignored unless they were typed as digits (one spoken "một" in
    "tôi có một việc" is not a code).

    >>> extract_digits("tra cứu hồ sơ số không chín, ờ, một hai ba")
    '09123'
    """
    best: str | None = None
    for _, _, digits in digit_runs(text, min_digits=min_digits):
        if best is None or len(digits) > len(best):
            best = digits
    return best
