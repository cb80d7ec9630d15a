"""Find a ward/commune of the province inside an utterance.

The list of places is GIVEN (the composition root reads it from the case database); this module
never reads it itself. Names look like "Phường Bến Nghé", "Xã Tân Phú", "Phường 12",
"Phường Bạc Liêu, Cà Mau" (what follows a comma is ignored).

Strategy: each name is reduced to its core (administrative prefix dropped) as a match key; the
utterance becomes match-key tokens with spoken numbers after a prefix turned into digits
("phường mười hai" → "phuong 12"). Every window of the utterance with as many tokens as a core
is compared with ``rapidfuzz.fuzz.ratio`` (all windows against all cores at once with
``process.cdist``). A core of one token, or a numbered ward, only counts right after its prefix
word: "an" or "12" alone is not a place; without a prefix word a name must match near-exactly
("tôi ăn" is not "Thới An"). The best score wins; ties go to the longer name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from speech.text.normalise import match_key
from speech.text.numbers import words_to_digits

__all__ = ["PlaceMatcher"]

# Longest first: "thi tran" before "thi".
_PREFIXES: tuple[str, ...] = (
    "thanh pho",
    "thi tran",
    "thi xa",
    "dac khu",
    "phuong",
    "huyen",
    "quan",
    "xa",
    "tp",
)


@dataclass(frozen=True, slots=True)
class _Place:
    name: str
    core: str
    prefix: str
    needs_prefix: bool


def _split(name: str) -> tuple[str, str]:
    key = match_key(name.split(",")[0])
    for prefix in _PREFIXES:
        if key.startswith(prefix + " "):
            return prefix, key[len(prefix) + 1 :]
    return "", key


class PlaceMatcher:
    """Match ward/commune names (given) in utterances; tolerant of missing tones and one typo."""

    def __init__(
        self, places: Sequence[str], *, cutoff: float = 88.0, bare_cutoff: float = 96.0
    ) -> None:
        self.cutoff = cutoff  # after "phường"/"xã": one ASR slip in a short name passes
        self.bare_cutoff = bare_cutoff  # without a prefix word: near-exact only
        self._by_len: dict[int, list[_Place]] = defaultdict(list)
        for name in places:
            prefix, core = _split(name)
            if not core:
                continue
            size = len(core.split())
            needs_prefix = size == 1 or core.isdigit()
            self._by_len[size].append(_Place(name, core, prefix, needs_prefix))

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_len.values())

    @staticmethod
    def _tokens(text: str) -> list[str]:
        words = match_key(text).split()
        out: list[str] = []
        i = 0
        while i < len(words):
            out.append(words[i])
            if words[i] in ("phuong", "quan", "xa") and i + 1 < len(words):
                # "phường mười hai" -> "phuong 12": try the longest spoken number after a prefix.
                for end in range(min(len(words), i + 5), i + 1, -1):
                    digits = words_to_digits(" ".join(words[i + 1 : end]))
                    if digits is not None and not digits.startswith("0"):
                        out.append(digits)
                        i = end
                        break
                else:
                    i += 1
                continue
            i += 1
        return out

    def find(self, text: str) -> tuple[str, float] | None:
        """The best place named in ``text`` and its score (0..1), or None."""
        words = self._tokens(text)
        best: tuple[float, int, str] | None = None
        for size, places in self._by_len.items():
            if size > len(words):
                continue
            starts = range(len(words) - size + 1)
            windows = [" ".join(words[s : s + size]) for s in starts]
            scores = process.cdist(
                windows,
                [p.core for p in places],
                scorer=fuzz.ratio,
                score_cutoff=self.cutoff,
            )
            for w_index, row in enumerate(scores):
                for p_index in row.nonzero()[0]:
                    place = places[int(p_index)]
                    score = float(row[p_index])
                    before = words[w_index - 1] if w_index > 0 else ""
                    has_prefix = before in _PREFIXES or (
                        w_index > 1 and " ".join(words[w_index - 2 : w_index]) in _PREFIXES
                    )
                    if not has_prefix and (place.needs_prefix or score < self.bare_cutoff):
                        continue
                    if place.core.isdigit() and score < 100:
                        continue
                    if has_prefix:
                        score = min(100.0, score + 2.0)
                    candidate = (score, len(place.core), place.name)
                    if best is None or candidate[:2] > best[:2]:
                        best = candidate
        if best is None:
            return None
        return best[2], best[0] / 100.0
