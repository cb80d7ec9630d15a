"""Errors of the speech package: one root, each error with a stable code and a human message.

The codes (``asr-model-missing``, ``tts-failed`` ...) are part of the public API: the call
controller and the CLI branch and report on them, so they never change meaning. The message
names the thing and its state and, where the user can fix it, says how.
"""

from __future__ import annotations


class SpeechError(Exception):
    """Root of every error raised by ``speech``."""

    code: str = "speech-failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class AudioFormatError(SpeechError):
    """A WAV file or audio buffer cannot be read or is not in the expected format."""

    code = "audio-format"


# --- recognition ---------------------------------------------------------------------------------
class AsrError(SpeechError):
    """Speech recognition failed."""

    code = "asr-failed"


class AsrModelMissingError(AsrError):
    """A recognition model is not on this machine (nothing is downloaded at run time)."""

    code = "asr-model-missing"


class AsrModelCorruptError(AsrError):
    """A recognition model is present but does not match its pinned checksum."""

    code = "asr-model-corrupt"


class AsrEngineUnknownError(AsrError):
    """The configured engine name is not one we provide."""

    code = "asr-engine-unknown"


class AsrStreamError(AsrError):
    """A streaming recognition failed mid-stream (bad frame, engine error, stream closed)."""

    code = "asr-stream-failed"


class ModelFetchError(AsrError):
    """``hotline models fetch`` could not download or verify a model."""

    code = "model-fetch-failed"


# --- synthesis -----------------------------------------------------------------------------------
class TtsError(SpeechError):
    """Speech synthesis failed."""

    code = "tts-failed"


class TtsBackendUnavailableError(TtsError):
    """The synthesis backend is not installed or not reachable."""

    code = "tts-backend-unavailable"


class TtsThrottledError(TtsError):
    """The online synthesis service refused us (rate limit) after our retries."""

    code = "tts-throttled"


class PromptError(TtsError):
    """A prompt id or prompt file is invalid."""

    code = "prompt-invalid"


# --- worker pool ---------------------------------------------------------------------------------
class WorkerPoolError(SpeechError):
    """The speech worker pool is closed or one of its processes died."""

    code = "speech-worker-failed"
