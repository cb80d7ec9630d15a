"""gTTS backend: Google Translate's voice, online, optional. Cached and throttled.

Strategy: the service has no SLA and rate-limits eagerly, so
- every answer is cached on disk by a hash of (language, NFC text): a text is fetched once, ever;
- requests are spaced by at least ``min_interval_s`` (``Throttle``, a pure counter fed with the
  times the adapter reads — it never reads a clock itself);
- a failed request is retried with exponential backoff, then reported as ``tts-throttled`` or
  ``tts-backend-unavailable``.
The network sits behind ``TtsTransport`` so that tests run a fake transport and no internet.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from speech.audio import Audio
from speech.errors import TtsBackendUnavailableError, TtsError, TtsThrottledError
from speech.tts.base import decode_audio_bytes, to_phone_audio


class TtsTransport(Protocol):
    """Fetches encoded audio (MP3 or WAV) for a text; raises TtsError subclasses on failure."""

    def fetch(self, text: str, lang: str) -> bytes: ...


class GttsTransport:
    """The real transport: the ``gtts`` package (HTTPS to translate.google.com)."""

    def __init__(self, *, tld: str = "com", timeout_s: float = 10.0) -> None:
        self._tld = tld
        self._timeout_s = timeout_s

    def fetch(self, text: str, lang: str) -> bytes:
        from gtts import gTTS, gTTSError

        buf = io.BytesIO()
        try:
            gTTS(text=text, lang=lang, tld=self._tld, timeout=self._timeout_s).write_to_fp(buf)
        except gTTSError as exc:
            status = getattr(getattr(exc, "rsp", None), "status_code", None)
            if status == 429:
                raise TtsThrottledError(f"gTTS rate-limited us (HTTP 429): {exc}") from exc
            raise TtsBackendUnavailableError(f"gTTS request failed: {exc}") from exc
        except OSError as exc:
            raise TtsBackendUnavailableError(f"gTTS unreachable: {exc}") from exc
        return buf.getvalue()


@dataclass
class Throttle:
    """Spacing of requests: pure, fed with monotonic times by its caller."""

    min_interval_s: float
    _last: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait before the next request may go out."""
        if self._last is None:
            return 0.0
        return max(0.0, self._last + self.min_interval_s - now)

    def record(self, now: float) -> None:
        self._last = now


class GttsSynthesizer:
    """Online Vietnamese synthesis with an on-disk cache, a throttle and retries."""

    name = "gtts"

    def __init__(
        self,
        cache_dir: Path,
        *,
        transport: TtsTransport | None = None,
        lang: str = "vi",
        min_interval_s: float = 1.0,
        retries: int = 3,
        backoff_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._cache_dir = cache_dir
        self._transport: TtsTransport = transport or GttsTransport()
        self._lang = lang
        self._throttle = Throttle(min_interval_s)
        self._retries = retries
        self._backoff_s = backoff_s
        self._clock = clock
        self._sleep = sleep

    @property
    def voice(self) -> str:
        return self._lang

    def cache_path(self, text: str) -> Path:
        key = hashlib.sha256(f"{self._lang}\0{unicodedata.normalize('NFC', text)}".encode())
        return self._cache_dir / f"{key.hexdigest()[:32]}.audio"

    def synthesize(self, text: str) -> Audio:
        if not text.strip():
            raise TtsError("cannot synthesise an empty text")
        text = unicodedata.normalize("NFC", text)
        cached = self.cache_path(text)
        if cached.exists():
            data = cached.read_bytes()
        else:
            data = self._fetch_with_retries(text)
            self._store(cached, data)
        return to_phone_audio(decode_audio_bytes(data, name=f"gTTS audio for {text[:30]!r}"))

    def _fetch_with_retries(self, text: str) -> bytes:
        last: TtsError | None = None
        for attempt in range(self._retries + 1):
            wait = self._throttle.delay(self._clock())
            if attempt:
                wait = max(wait, self._backoff_s * 2 ** (attempt - 1))
            if wait > 0:
                self._sleep(wait)
            self._throttle.record(self._clock())
            try:
                data = self._transport.fetch(text, self._lang)
            except TtsError as exc:
                last = exc
                continue
            if not data:
                last = TtsBackendUnavailableError("gTTS answered with no audio")
                continue
            return data
        assert last is not None
        if isinstance(last, TtsThrottledError):
            raise TtsThrottledError(
                f"gTTS still rate-limits after {self._retries + 1} attempts: {last.message}"
            ) from last
        raise TtsBackendUnavailableError(
            f"gTTS failed {self._retries + 1} times for {text[:40]!r}: {last.message}"
        ) from last

    def _store(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".gtts.", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
