"""Intent routing of callers' words: intents and slots from Vietnamese text, data-driven.

Public API: :class:`IntentRouter` (``route(text) -> IntentResult``), :class:`IntentResult`,
:class:`Slots`, :class:`Decision`, :class:`Thresholds`, :func:`load_intent_data`,
:func:`parse_intent_data`, :class:`PlaceMatcher`, ``INTENTS``, ``CATEGORIES``.
"""

from __future__ import annotations

from speech.intent.loader import load_intent_data, parse_intent_data
from speech.intent.model import (
    CATEGORIES,
    INTENTS,
    Cue,
    Decision,
    IntentData,
    IntentResult,
    Slots,
    Thresholds,
)
from speech.intent.places import PlaceMatcher
from speech.intent.router import IntentRouter

__all__ = [
    "CATEGORIES",
    "INTENTS",
    "Cue",
    "Decision",
    "IntentData",
    "IntentResult",
    "IntentRouter",
    "PlaceMatcher",
    "Slots",
    "Thresholds",
    "load_intent_data",
    "parse_intent_data",
]
