"""Measure a router on labelled utterances: accuracy, off-topic rejection, decision quality.

Pure: labelled items in (already parsed), a report out. Used by the evaluation test
(``tests/unit/test_intent_eval.py``) and ``benchmarks/intent.py``.

An item is right when the intent matches and every slot the item names (category, digits,
place) matches too. An item labelled ``intent: None`` is off-topic: right when rejected.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from speech.intent.model import Decision, IntentResult, Thresholds

__all__ = ["EvalItem", "EvalReport", "evaluate", "items_from_mapping"]


@dataclass(frozen=True, slots=True)
class EvalItem:
    text: str
    intent: str | None
    kind: str = "full"
    category: str | None = None
    digits: str | None = None
    place: str | None = None

    @property
    def routed_text(self) -> str:
        """The text as given to the router: ``nfd`` items are decomposed first."""
        return unicodedata.normalize("NFD", self.text) if self.kind == "nfd" else self.text

    def is_right(self, result: IntentResult) -> bool:
        if result.intent != self.intent:
            return False
        if self.category is not None and result.slots.category != self.category:
            return False
        if self.digits is not None and result.slots.digits != self.digits:
            return False
        return self.place is None or result.slots.place == self.place


def items_from_mapping(rows: Iterable[Mapping[str, object]]) -> list[EvalItem]:
    """Items from the short-key rows of ``tests/data/intent_eval.yaml`` (t, i, k, c, d, p)."""

    def opt(row: Mapping[str, object], key: str) -> str | None:
        value = row.get(key)
        return None if value is None else str(value)

    return [
        EvalItem(
            text=str(row.get("t") or ""),
            intent=opt(row, "i"),
            kind=str(row.get("k", "full")),
            category=opt(row, "c"),
            digits=opt(row, "d"),
            place=opt(row, "p"),
        )
        for row in rows
    ]


@dataclass(slots=True)
class EvalReport:
    total: int = 0
    right: int = 0
    off_topic: int = 0
    off_topic_rejected: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    right_by_kind: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)  # decision -> count
    right_by_decision: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[EvalItem, IntentResult]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def off_topic_rejection(self) -> float:
        return self.off_topic_rejected / self.off_topic if self.off_topic else 0.0

    def precision(self, decision: Decision) -> float:
        """Share of right answers among items that got ``decision``."""
        n = self.decisions[decision.value]
        return self.right_by_decision[decision.value] / n if n else 1.0

    def kind_accuracy(self, kind: str) -> float:
        n = self.by_kind[kind]
        return self.right_by_kind[kind] / n if n else 0.0


def evaluate(
    route: Callable[[str], IntentResult],
    items: Iterable[EvalItem],
    thresholds: Thresholds | None = None,
) -> EvalReport:
    """Route every item and count; ``route`` is ``IntentRouter.route`` or a baseline."""
    report = EvalReport()
    for item in items:
        result = route(item.routed_text)
        right = item.is_right(result)
        decision = result.decision(thresholds).value
        report.total += 1
        report.right += right
        report.by_kind[item.kind] += 1
        report.right_by_kind[item.kind] += right
        report.decisions[decision] += 1
        report.right_by_decision[decision] += right
        if item.intent is None:
            report.off_topic += 1
            report.off_topic_rejected += result.intent is None
        if not right:
            report.errors.append((item, result))
    return report
