"""Value objects of intent routing: the intent set, slots, results, decisions and thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "CATEGORIES",
    "INTENTS",
    "Cue",
    "Decision",
    "IntentData",
    "IntentResult",
    "Slots",
    "Thresholds",
]

INTENTS: tuple[str, ...] = (
    "dossier_status",
    "complaint",
    "complaint_status",
    "agent",
    "repeat",
    "yes",
    "no",
    "goodbye",
)
CATEGORIES: tuple[str, ...] = (
    "security_order",
    "urban_order",
    "environment",
    "traffic",
    "health",
    "education",
    "utilities",
    "other",
)


class Decision(StrEnum):
    """What a flow should do with a result: act on it, read it back for a yes/no, or ask again
    (and after repeated re-asks fall back to the keypad)."""

    ACCEPT = "accept"
    CONFIRM = "confirm"
    REASK = "reask"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Confidence thresholds of :meth:`IntentResult.decision` and of "no intent".

    Chosen from the calibration on ``tests/data/intent_eval.yaml`` (docs/benchmarks.md
    "## Intent routing"): answers at 0.9 and above were right 99 % of the time and everything
    at ``accept`` and above 98.6 % (test split); between ``confirm`` and ``accept`` 67 %, worth
    a yes/no read-back; below ``reject`` the result is "no intent" (mostly off-topic speech).
    """

    accept: float = 0.75
    confirm: float = 0.5
    reject: float = 0.4

    def __post_init__(self) -> None:
        if not 0.0 <= self.reject <= self.confirm <= self.accept <= 1.0:
            raise ValueError(
                f"thresholds must satisfy 0 <= reject <= confirm <= accept <= 1, got {self}"
            )


@dataclass(frozen=True, slots=True)
class Slots:
    """What the caller named besides the intent; None when not found."""

    category: str | None = None
    digits: str | None = None
    place: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"category": self.category, "digits": self.digits, "place": self.place}


@dataclass(frozen=True, slots=True)
class IntentResult:
    """The router's answer for one utterance.

    ``intent`` is None for "no intent" (off-topic, empty, or too weak); ``confidence`` is then
    the confidence of the best guess, which ``alternatives`` lists first. ``alternatives`` holds
    every intent with any evidence, best first, as (name, confidence).
    """

    intent: str | None
    confidence: float
    slots: Slots = field(default_factory=Slots)
    alternatives: tuple[tuple[str, float], ...] = ()
    text: str = ""

    def decision(self, thresholds: Thresholds | None = None) -> Decision:
        """ACCEPT / CONFIRM / REASK for this result under ``thresholds``."""
        limits = thresholds or Thresholds()
        if self.intent is None or self.confidence < limits.confirm:
            return Decision.REASK
        if self.confidence < limits.accept:
            return Decision.CONFIRM
        return Decision.ACCEPT

    def as_json(self) -> dict[str, object]:
        """The stable JSON shape of ``hotline intent``."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 3),
            "slots": self.slots.as_dict(),
            "decision": self.decision().value,
            "alternatives": [[name, round(conf, 3)] for name, conf in self.alternatives],
        }


@dataclass(frozen=True, slots=True)
class Cue:
    """One phrase that is evidence for an intent (or a complaint category); NFC lower case."""

    text: str
    intent: str
    weight: float = 1.0
    category: str | None = None
    short_only: bool = False  # counts only in short utterances (yes/no/repeat...)


@dataclass(frozen=True, slots=True)
class IntentData:
    """Everything the router knows, loaded from ``dialplans/intents.yaml`` (data, not code)."""

    cues: tuple[Cue, ...]
    # Colloquial/ASR form → standard form, both NFC lower case with diacritics (a word typed
    # without any diacritics also matches the tone-less form of a source word).
    rewrites: tuple[tuple[str, str], ...] = ()
    fillers: frozenset[str] = frozenset()  # NFC lower case, same matching rule
    short_max_tokens: int = 5
    province: str | None = None
