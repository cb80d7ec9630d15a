"""Errors of ``speech.text``: text that cannot be read or parsed as Vietnamese numbers."""

from __future__ import annotations

from speech.errors import SpeechError


class TextError(SpeechError):
    """Root of the errors of Vietnamese text normalisation."""

    code = "text-invalid"


class SpokenNumberError(TextError):
    """A spoken or typed text is not a digit string or a Vietnamese number."""

    code = "spoken-number-invalid"
