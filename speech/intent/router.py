"""Route a caller's utterance (ASR text or typed text) to an intent with slots and a confidence.

Strategy. Colloquial and ASR forms in the utterance are rewritten to standard ones
("hông" → "không", "dzậy" → "vậy") and fillers ("dạ", "ờ", "nha") dropped, word by word: a word
in a text with diacritics must match exactly ("hồng" is not "hông", "nhà" is not "nha"); in a
text typed without any, tone-less forms match. Spoken or typed digit runs are taken out (they
are the ``digits`` slot, and the "không" of a code is not a "no"). Then the utterance becomes a
match key (lower case, no tone marks). Each *cue* of the data (a phrase that is evidence for an
intent, or a keyword of a complaint category) is looked for in it with ``rapidfuzz``:

- cues of up to 6 characters ("có", "rác", "hố ga") only as whole words, exactly, and with
  their diacritics when the text has any ("báo" is not the "bao" of "bao nhiêu");
- longer cues with ``fuzz.partial_ratio_alignment`` on space-padded strings, so that the best
  alignment tends to start and end on word boundaries and one ASR slip ("kẹt xê") still scores
  high; a cue longer than the utterance is compared whole (``fuzz.ratio``);
- a cue scoring below ~1.5 edits of its length is ignored (the cutoff rises for mid-sized cues);
- ``short_only`` cues (yes/no/repeat...) only in utterances of a few words, so that the "không"
  of "mấy ngày không ai dọn" is not a "no", and not next to real content ("có tai nạn").

Overlapping hits are resolved longest-first ("không đúng" is a "no", not a "yes" for "đúng";
"đã phản ánh" is a complaint_status, not a complaint for "phản ánh"). Each kept hit gives
evidence ``p = weight × (0.5 + 0.5 × (score − cutoff) / (100 − cutoff))`` and an intent's
evidence is the noisy-OR of its hits. Category keywords are evidence for the category and, at
0.9 of it, for a complaint (or, if the caller asks about an earlier complaint, for
complaint_status). The confidence is the best evidence discounted by the runner-up:
``c = s1 × (1 − 0.5 × s2)``; below ``Thresholds.reject`` the result is "no intent".

Slots: ``digits`` from :func:`speech.text.extract_digits` (a text that is only a number is a
digits answer, no intent); ``place`` from a :class:`PlaceMatcher` over the places given to the
router; ``category`` as above.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from rapidfuzz import fuzz, process

from speech.intent.model import INTENTS, Cue, IntentData, IntentResult, Slots, Thresholds
from speech.intent.places import PlaceMatcher
from speech.text.normalise import match_key, normalise, tokens
from speech.text.numbers import digit_runs, extract_digits, words_to_digits

__all__ = ["IntentRouter", "Scorer"]

Scorer = Literal["partial", "token_set", "wratio"]
T = TypeVar("T")

_SHORT_CUE = 6  # characters: such cues match whole words only
_CATEGORY_SHARE = 0.9
_RUNNER_UP_DISCOUNT = 0.5
_ANSWER_AT = 3  # with ``expect``: an answer word among the first words of a long sentence


@dataclass(frozen=True, slots=True)
class _Hit:
    cue: Cue
    key: str
    score: float
    start: int
    end: int
    evidence: float


def _expectation(expect: Collection[str] | None) -> frozenset[str] | None:
    if expect is None:
        return None
    wanted = frozenset(expect)
    unknown = sorted(wanted - set(INTENTS))
    if unknown:
        raise ValueError(f"unknown intents {unknown} in expect (known: {', '.join(INTENTS)})")
    return wanted


def _expected(cue: Cue, expect: frozenset[str]) -> bool:
    if cue.category is not None:  # category words count for complaint or complaint_status
        return "complaint" in expect or "complaint_status" in expect
    return cue.intent in expect


class _WordIndex(Generic[T]):
    """Word sequences (NFC lower case) with a payload, found at a position of a word list:
    exactly, or by tone-less keys when the text has no diacritics at all."""

    def __init__(self) -> None:
        self._by_word: dict[str, list[tuple[tuple[str, ...], T]]] = defaultdict(list)
        self._by_key: dict[str, list[tuple[tuple[str, ...], T]]] = defaultdict(list)

    def add(self, words: Sequence[str], payload: T) -> None:
        entry = (tuple(words), payload)
        self._by_word[words[0]].append(entry)
        keyed = (tuple(match_key(w) for w in words), payload)
        self._by_key[keyed[0][0]].append(keyed)

    def all_at(self, words: Sequence[str], i: int, toneless: bool) -> list[tuple[int, T]]:
        table = self._by_key if toneless else self._by_word
        found: list[tuple[int, T]] = []
        for source, payload in table.get(words[i], ()):
            size = len(source)
            if tuple(words[i : i + size]) == source:
                found.append((size, payload))
        return found

    def longest_at(self, words: Sequence[str], i: int, toneless: bool) -> tuple[int, T] | None:
        found = self.all_at(words, i, toneless)
        return max(found, key=lambda f: f[0]) if found else None


class IntentRouter:
    """Intent routing over :class:`IntentData`; build once, call :meth:`route` per utterance.

    ``places`` are the ward/commune names of the province (the composition root loads them
    from the case database). ``scorer`` picks the rapidfuzz scorer for long cues: ``partial``
    (default, measured best), ``token_set`` or ``wratio`` (kept for the benchmark).
    """

    def __init__(
        self,
        data: IntentData,
        *,
        places: Sequence[str] = (),
        thresholds: Thresholds | None = None,
        scorer: Scorer = "partial",
        cutoff: float = 85.0,
    ) -> None:
        self.data = data
        self.thresholds = thresholds or Thresholds()
        self.scorer: Scorer = scorer
        self.cutoff = cutoff
        self.places = PlaceMatcher(places)
        self._rewrites: _WordIndex[tuple[str, ...]] = _WordIndex()
        for source, target in data.rewrites:
            self._rewrites.add(source.split(), tuple(target.split()))
        self._fillers = frozenset(data.fillers)
        self._filler_keys = frozenset(match_key(f) for f in data.fillers)
        # Cues go through the same rewriting as utterances, so that both meet in one form.
        # Short cues are found as whole words through an index; long ones fuzzily, one by one.
        self._short: _WordIndex[tuple[Cue, str]] = _WordIndex()
        long_cues: dict[tuple[Cue, str], None] = {}
        for cue in data.cues:
            words = self.prepare_words(cue.text)
            if not words:
                continue
            key = match_key(" ".join(words))
            if len(key) <= _SHORT_CUE:
                self._short.add(words, (cue, key))
            else:
                long_cues[(cue, key)] = None
        self._long = tuple(long_cues)
        self._long_padded = [f" {key} " for _, key in self._long]

    # --- text preparation --------------------------------------------------------------------
    def prepare_words(self, text: str) -> list[str]:
        """The words of ``text`` (NFC, lower case, diacritics kept), rewritten, fillers dropped.

        In a text with diacritics words must match exactly ("hồng" is not "hông", "bao" not
        "báo"); in a text typed without any, the tone-less forms match ("hong" may be "hông").
        """
        words = tokens(text)
        toneless = " ".join(words).isascii()
        out: list[str] = []
        i = 0
        while i < len(words):
            found = self._rewrites.longest_at(words, i, toneless)
            if found is None:
                out.append(words[i])
                i += 1
            else:
                size, target = found
                out += target
                i += size
        if toneless:
            kept = [w for w in out if w not in self._fillers and w not in self._filler_keys]
        else:
            kept = [w for w in out if w not in self._fillers]
        return kept or out

    def prepare(self, text: str) -> str:
        """The match key the cues are looked for in: rewritten, fillers dropped, no tones."""
        return match_key(" ".join(self.prepare_words(text)))

    # --- cue matching --------------------------------------------------------------------------
    def _score(self, key: str, padded: str, length: int) -> tuple[float, int, int] | None:
        if len(key) > length:
            score = fuzz.ratio(key, padded.strip())
            return (score, 0, len(padded)) if score >= self.cutoff else None
        if self.scorer == "partial":
            found = fuzz.partial_ratio_alignment(f" {key} ", padded, score_cutoff=self.cutoff)
            if found is None:
                return None
            return found.score, found.dest_start, found.dest_end
        scorer = fuzz.token_set_ratio if self.scorer == "token_set" else fuzz.WRatio
        score = scorer(key, padded, score_cutoff=self.cutoff)
        return (score, 0, 0) if score >= self.cutoff else None

    def _hits(self, words: list[str], expect: frozenset[str] | None = None) -> list[_Hit]:
        keys = [match_key(w) for w in words]
        prepared = " ".join(keys)
        padded = f" {prepared} "
        offsets: list[int] = []  # where each word's key starts in padded
        position = 1
        for key in keys:
            offsets.append(position)
            position += len(key) + 1
        toneless = prepared == " ".join(words)
        short = len(words) <= self.data.short_max_tokens
        found_at: list[tuple[Cue, str, tuple[float, int, int]]] = []
        for i in range(len(words)):
            for size, (cue, key) in self._short.all_at(words, i, toneless):
                end = offsets[i + size - 1] + len(keys[i + size - 1]) + 1
                found_at.append((cue, key, (100.0, offsets[i] - 1, end)))
        # One batched pass (C, no Python per cue) finds the few long cues worth aligning.
        if self.scorer == "partial" and self._long:
            coarse = process.cdist(
                self._long_padded, [padded], scorer=fuzz.partial_ratio, score_cutoff=self.cutoff
            )[:, 0]
            candidates = [self._long[int(i)] for i in coarse.nonzero()[0]]
        else:
            candidates = list(self._long)
        for cue, key in candidates:
            scored = self._score(key, padded, len(prepared))
            if scored is not None:
                found_at.append((cue, key, scored))
        hits: list[_Hit] = []
        seen: set[tuple[Cue, str]] = set()
        for cue, key, found in found_at:
            if (cue, key) in seen:
                continue
            seen.add((cue, key))
            score, start, end = found
            if expect is not None:
                if not _expected(cue, expect):
                    continue
                # Asked a question, the answer word comes first: "vâng, đúng hồ sơ đó ạ".
                if cue.short_only and not short and bisect_right(offsets, start + 1) > _ANSWER_AT:
                    continue
            elif cue.short_only and not short:
                continue
            # About one and a half edits per cue: 85 for long cues, more for mid-sized ones.
            if score < 100.0 - 150.0 / (len(key) + 2):
                continue
            strength = 0.5 + 0.5 * (score - self.cutoff) / max(100.0 - self.cutoff, 1e-6)
            hits.append(_Hit(cue, key, score, start, end, cue.weight * strength))
        # Most matched characters first (length × how far above the cutoff); a hit that
        # overlaps a kept one by more than half of its own span is dropped. Scorers without
        # alignment (start == end) never overlap.
        hits.sort(key=lambda h: (-len(h.key) * (h.score - self.cutoff + 1), -len(h.key)))
        kept: list[_Hit] = []
        for hit in hits:
            span = hit.end - hit.start
            if span > 0 and any(
                min(hit.end, k.end) - max(hit.start, k.start) > span / 2 for k in kept
            ):
                continue
            kept.append(hit)
        # A short answer word next to real content is not an answer: "có tai nạn" is a report.
        if any(not h.cue.short_only and h.evidence >= 0.5 for h in kept):
            kept = [h for h in kept if not h.cue.short_only]
        return kept

    def explain(
        self, text: str, *, expect: Collection[str] | None = None
    ) -> list[tuple[str, str, float, float]]:
        """The cue hits kept for ``text``: (intent or category, cue key, score, evidence)."""
        words = self.prepare_words(self._without_numbers(normalise(text)))
        return [
            (h.cue.category or h.cue.intent, h.key, round(h.score, 1), round(h.evidence, 3))
            for h in self._hits(words, _expectation(expect))
        ]

    @staticmethod
    def _without_numbers(spoken: str) -> str:
        """The utterance without its digit runs: a code's "không" is not a "no"."""
        words = tokens(spoken)
        for start, end, _ in reversed(digit_runs(spoken)):
            del words[start:end]
        return " ".join(words)

    # --- the answer ----------------------------------------------------------------------------
    def route(self, text: str, *, expect: Collection[str] | None = None) -> IntentResult:
        """Route one utterance; never raises on odd input (empty text is "no intent").

        ``expect`` names the intents the flow can act on at this point (after "Bạn muốn tra
        cứu hồ sơ, phải không?": yes, no, repeat, agent): evidence for other intents is
        ignored, and an answer word counts at the start of a longer sentence too.
        """
        wanted = _expectation(expect)
        spoken = normalise(text)
        digits = extract_digits(spoken)
        place_found = self.places.find(spoken) if len(self.places) else None
        place = place_found[0] if place_found else None
        only_number = words_to_digits(spoken)
        if only_number is not None and len(only_number) >= 3:
            return IntentResult(None, 0.0, Slots(digits=only_number, place=place), (), text)

        hits = self._hits(self.prepare_words(self._without_numbers(spoken)), wanted)
        evidence: dict[str, float] = {}
        categories: dict[str, float] = {}

        def add(table: dict[str, float], name: str, p: float) -> None:
            table[name] = 1.0 - (1.0 - table.get(name, 0.0)) * (1.0 - p)

        category_sums: dict[str, float] = {}
        for hit in hits:
            if hit.cue.category is not None:
                add(categories, hit.cue.category, hit.evidence)
                category_sums[hit.cue.category] = (
                    category_sums.get(hit.cue.category, 0.0) + hit.evidence
                )
            else:
                add(evidence, hit.cue.intent, hit.evidence)
        category = (
            max(categories, key=lambda c: (categories[c], category_sums[c])) if categories else None
        )
        if category is not None:
            target = (
                "complaint_status"
                if evidence.get("complaint_status", 0.0) > evidence.get("complaint", 0.0)
                else "complaint"
            )
            add(evidence, target, _CATEGORY_SHARE * categories[category])

        ranked = sorted(evidence.items(), key=lambda kv: -kv[1])
        alternatives = tuple((name, round(p, 4)) for name, p in ranked)
        if not ranked:
            return IntentResult(None, 0.0, Slots(digits=digits, place=place), (), text)
        best, s1 = ranked[0]
        s2 = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = s1 * (1.0 - _RUNNER_UP_DISCOUNT * s2)
        intent: str | None = best if confidence >= self.thresholds.reject else None
        slot_category = category if intent in ("complaint", "complaint_status") else None
        slots = Slots(category=slot_category, digits=digits, place=place)
        return IntentResult(intent, round(confidence, 4), slots, alternatives, text)
