"""Vietnamese text normalisation: NFC, whitespace, case and tone-mark-free match keys.

Pure functions, no I/O. Two forms of a text exist in this code base:

- the *spoken form*: NFC, full diacritics, what callers hear and what we store;
- the *match key*: lower case, no tone or vowel marks, ``đ`` → ``d``, punctuation turned into
  single spaces. Callers type without diacritics, ASR drops or swaps tones, and input may arrive
  decomposed (NFD, e.g. from macOS or some keyboards); all of these meet on the match key.

Strategy: decompose (NFD), drop every combining mark (Unicode category ``Mn``), map the one
Vietnamese letter that is not a base letter plus a mark (``đ``/``Đ``), recompose. This is exact for
Vietnamese, whose 134 accented letters are all base + marks, and harmless for other scripts.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "match_key",
    "nfc",
    "normalise",
    "normalise_whitespace",
    "strip_tones",
    "tokens",
]

_SPACES = re.compile(r"\s+")
# A token is a run of digits or a run of letters (Vietnamese letters are \w); everything else
# (punctuation, symbols, underscores) separates tokens. Digits and letters are split apart so
# that "hs2024" and "2024hs" give the same tokens.
_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_NON_WORD = re.compile(r"[\W_]+")
_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    """Canonical composition (NFC): the one form we store and compare Vietnamese in."""
    return unicodedata.normalize("NFC", text)


def normalise_whitespace(text: str) -> str:
    """Collapse every run of whitespace (tabs, newlines, NBSP...) to one space and strip."""
    return _SPACES.sub(" ", text).strip()


def normalise(text: str) -> str:
    """NFC, lower case, single spaces: the spoken form, comparable but with diacritics kept."""
    return normalise_whitespace(nfc(text).lower())


def strip_tones(text: str) -> str:
    """Remove tone and vowel marks and map ``đ`` → ``d``; case and punctuation are kept.

    >>> strip_tones("Đường Nguyễn Huệ")
    'Duong Nguyen Hue'
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare)


def match_key(text: str) -> str:
    """Lower case, no marks, punctuation → space, single spaces: the form texts are matched on.

    >>> match_key("  Hồ sơ   số: 0912-345!")
    'ho so so 0912 345'
    """
    return normalise_whitespace(_NON_WORD.sub(" ", strip_tones(nfc(text).lower())))


def tokens(text: str) -> list[str]:
    """The words of ``text`` in spoken form (NFC, lower case), digits and letters split apart.

    >>> tokens("Số HS2024, phường Bến Nghé")
    ['số', 'hs', '2024', 'phường', 'bến', 'nghé']
    """
    return _TOKEN.findall(nfc(text).lower())
