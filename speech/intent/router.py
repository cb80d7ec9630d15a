"""Route a caller's utterance (ASR text or typed text) to an intent with slots and a confidence.

Strategy. Colloquial and ASR forms in the utterance are rewritten to standard ones
("hông" → "không", "dzậy" → "vậy") and fillers ("dạ", "ờ", "nha") dropped, word by word: a word
with diacritics must match exactly ("hồng" is not "hông", "nhà" is not "nha"), a word typed with
none matches tone-less. Spoken or typed digit runs are taken out (they are the ``digits`` slot,
and the "không" of a code is not a "no"). Then the utterance becomes a match key (lower case, no
tone marks). Each *cue* of the data (a phrase that is evidence for an intent, or a keyword of a
complaint category) is looked for in it with ``rapidfuzz``:

- cues of up to 6 characters ("có", "rác", "hố ga") only as whole words, exactly;
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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from speech.intent.model import Cue, IntentData, IntentResult, Slots, Thresholds
from speech.intent.places import PlaceMatcher
from speech.text.normalise import match_key, normalise, tokens
from speech.text.numbers import digit_runs, extract_digits, words_to_digits

__all__ = ["IntentRouter", "Scorer"]

Scorer = Literal["partial", "token_set", "wratio"]

_SHORT_CUE = 6  # characters: such cues match whole words only
_CATEGORY_SHARE = 0.9
_RUNNER_UP_DISCOUNT = 0.5


@dataclass(frozen=True, slots=True)
class _Hit:
    cue: Cue
    key: str
    score: float
    start: int
    end: int
    evidence: float


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
        self._rewrite_rules = tuple(
            (
                tuple((w, match_key(w)) for w in source.split()),
                target.split(),
                len(source.split()),
            )
            for source, target in data.rewrites
        )
        self._filler_rules = tuple((f, match_key(f)) for f in data.fillers)
        # Cues go through the same rewriting as utterances, so that both meet in one form.
        prepared = ((cue, self.prepare(cue.text)) for cue in data.cues)
        self._cues = tuple(dict.fromkeys((cue, key) for cue, key in prepared if key))

    # --- text preparation --------------------------------------------------------------------
    @staticmethod
    def _same(word: str, source: str, source_key: str) -> bool:
        # With diacritics the word must match exactly ("hồng" is not "hông"); a word typed
        # without any diacritics matches the tone-less form ("hong" may be "hông").
        return word == source or (word.isascii() and word == source_key)

    def prepare(self, text: str) -> str:
        """The match key the cues are looked for in: rewritten, fillers dropped."""
        words = tokens(text)
        out: list[str] = []
        i = 0
        while i < len(words):
            for source, target, size in self._rewrite_rules:
                if i + size <= len(words) and all(
                    self._same(words[i + k], s, sk) for k, (s, sk) in enumerate(source)
                ):
                    out += target
                    i += size
                    break
            else:
                out.append(words[i])
                i += 1
        kept = [w for w in out if not any(self._same(w, f, fk) for f, fk in self._filler_rules)]
        return match_key(" ".join(kept or out))

    # --- cue matching --------------------------------------------------------------------------
    def _score(self, key: str, padded: str, length: int) -> tuple[float, int, int] | None:
        if len(key) <= _SHORT_CUE:
            at = padded.find(f" {key} ")
            return (100.0, at, at + len(key) + 2) if at >= 0 else None
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

    def _hits(self, prepared: str) -> list[_Hit]:
        padded = f" {prepared} "
        short = len(prepared.split()) <= self.data.short_max_tokens
        hits: list[_Hit] = []
        for cue, key in self._cues:
            if cue.short_only and not short:
                continue
            found = self._score(key, padded, len(prepared))
            if found is None:
                continue
            score, start, end = found
            # About one and a half edits per cue: 85 for long cues, more for mid-sized ones.
            if score < 100.0 - 150.0 / (len(key) + 2):
                continue
            strength = 0.5 + 0.5 * (score - self.cutoff) / (100.0 - self.cutoff)
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

    def explain(self, text: str) -> list[tuple[str, str, float, float]]:
        """The cue hits kept for ``text``: (intent or category, cue key, score, evidence)."""
        return [
            (h.cue.category or h.cue.intent, h.key, round(h.score, 1), round(h.evidence, 3))
            for h in self._hits(self.prepare(self._without_numbers(normalise(text))))
        ]

    @staticmethod
    def _without_numbers(spoken: str) -> str:
        """The utterance without its digit runs: a code's "không" is not a "no"."""
        words = tokens(spoken)
        for start, end, _ in reversed(digit_runs(spoken)):
            del words[start:end]
        return " ".join(words)

    # --- the answer ----------------------------------------------------------------------------
    def route(self, text: str) -> IntentResult:
        """Route one utterance; never raises on odd input (empty text is "no intent")."""
        spoken = normalise(text)
        digits = extract_digits(spoken)
        place_found = self.places.find(spoken) if len(self.places) else None
        place = place_found[0] if place_found else None
        only_number = words_to_digits(spoken)
        if only_number is not None and len(only_number) >= 3:
            return IntentResult(None, 0.0, Slots(digits=only_number, place=place), (), text)

        hits = self._hits(self.prepare(self._without_numbers(spoken)))
        evidence: dict[str, float] = {}
        categories: dict[str, float] = {}

        def add(table: dict[str, float], name: str, p: float) -> None:
            table[name] = 1.0 - (1.0 - table.get(name, 0.0)) * (1.0 - p)

        for hit in hits:
            if hit.cue.category is not None:
                add(categories, hit.cue.category, hit.evidence)
            else:
                add(evidence, hit.cue.intent, hit.evidence)
        category = max(categories, key=lambda c: categories[c]) if categories else None
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
