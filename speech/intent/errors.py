"""Errors of ``speech.intent``: intent data that cannot be loaded or is inconsistent."""

from __future__ import annotations

from speech.errors import SpeechError


class IntentError(SpeechError):
    """Root of the errors of intent routing."""

    code = "intent-failed"


class IntentDataError(IntentError):
    """The intents file (``dialplans/intents.yaml``) is missing, malformed or inconsistent."""

    code = "intent-data-invalid"
