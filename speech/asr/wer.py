"""Word error rate, the Vietnamese way: NFC, lower case, punctuation dropped, digits read out.

``wer(reference, hypothesis)`` = (substitutions + deletions + insertions) / reference words,
by Levenshtein alignment over words. Digits in a hypothesis (Whisper writes "5") are read out
with ``speech.text.read_number`` so that "5" and "năm" compare equal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from speech.text import nfc, read_number

_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^\w\s]|_")


def wer_words(text: str) -> list[str]:
    text = nfc(text).lower()
    text = _DIGITS.sub(lambda m: f" {read_number(int(m.group()))} ", text)
    return _NON_WORD.sub(" ", text).split()


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = wer_words(reference), wer_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)


def corpus_wer(pairs: Sequence[tuple[str, str]]) -> float:
    """Errors over all reference words (not the mean of per-utterance rates)."""
    errors = sum(edit_distance(wer_words(r), wer_words(h)) for r, h in pairs)
    words = sum(len(wer_words(r)) for r, _ in pairs)
    return errors / words if words else 0.0
