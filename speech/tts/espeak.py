"""espeak-ng backend: offline, always available on Debian (`apt-get install espeak-ng`).

We run ``espeak-ng -v vi -s <wpm> -w <tmp.wav> -- <text>`` and bring its 22 050 Hz output down
to 8 kHz with ``speech.audio.resample`` (band-limited, numpy only). Voices: ``vi`` (northern),
``vi-vn-x-central``, ``vi-vn-x-south``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from speech.audio import Audio, read_wav
from speech.errors import TtsBackendUnavailableError, TtsError
from speech.tts.base import to_phone_audio

INSTALL_HINT = "install it with: apt-get install espeak-ng"


class EspeakSynthesizer:
    """Synthesise Vietnamese with the espeak-ng command line."""

    name = "espeak"

    def __init__(
        self,
        voice: str = "vi",
        *,
        words_per_minute: int = 150,
        binary: str = "espeak-ng",
        timeout_s: float = 30.0,
    ) -> None:
        self._voice = voice
        self._wpm = words_per_minute
        self._binary = binary
        self._timeout_s = timeout_s

    @property
    def voice(self) -> str:
        return f"{self._voice}@{self._wpm}"

    def _executable(self) -> str:
        found = shutil.which(self._binary)
        if found is None:
            raise TtsBackendUnavailableError(f"{self._binary} is not on PATH; {INSTALL_HINT}")
        return found

    def synthesize(self, text: str) -> Audio:
        if not text.strip():
            raise TtsError("cannot synthesise an empty text")
        exe = self._executable()
        with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
            out = Path(tmp) / "out.wav"
            cmd = [exe, "-v", self._voice, "-s", str(self._wpm), "-w", str(out), "--", text]
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, timeout=self._timeout_s, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise TtsError(
                    f"espeak-ng took longer than {self._timeout_s:.0f} s for {text[:40]!r}"
                ) from exc
            if proc.returncode != 0 or not out.exists():
                err = proc.stderr.decode("utf-8", "replace").strip()
                raise TtsError(
                    f"espeak-ng voice {self._voice} failed (exit {proc.returncode}): {err}"
                )
            audio = read_wav(out)
        if len(audio.samples) == 0:
            raise TtsError(f"espeak-ng produced no audio for {text[:40]!r}")
        return to_phone_audio(audio)
