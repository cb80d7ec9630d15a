"""Prompt files for Asterisk: the content-addressed cache and the build of every prompt id.

Layout under ``prompts_dir`` (bind-mounted read-only into the PBX at /var/lib/hotline/prompts):

- ``<id>.wav`` — one per prompt id of ``dialplans/prompts.yaml``, 8 kHz mono s16, what the
  controller plays with ``STREAM FILE /var/lib/hotline/prompts/<id>``;
- ``tts/<hash>.wav`` — synthesised audio keyed by sha256(format, backend, voice, NFC text).
  Dynamic read-backs (``PromptBuilder.ensure(text)``) are played from here directly.

Precedence: a recorded ``<recorded_prompts_dir>/<id>.wav`` (a voice talent) always wins over
synthesis; it is converted to 8 kHz mono s16 on the way. A text whose hash file exists is never
synthesised again, so a rebuild after changing one prompt costs one synthesis.

Clean-up: reusing a cached file sets its mtime to now, so a ``tts/<hash>.wav``'s mtime is when
it was last played or built. `prune_dynamic` deletes those not used for a while, except the
sources of the built ``<id>.wav`` prompts (same bytes); nothing else in the dir is touched.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from speech.audio import Audio, read_wav, wav_bytes, write_wav
from speech.errors import PromptError, TtsError
from speech.tts.base import Synthesizer, to_phone_audio

CACHE_FORMAT = "v2-8k-s16-spoken"
"""Bumped when the synthesis pipeline changes, so every cached file is rebuilt."""
PROMPT_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
BACKENDS = ("espeak", "gtts")
CACHE_NAME = re.compile(r"^[0-9a-f]{32}\.wav$")
"""A ``tts/`` file `cache_path` names; anything else there (``write_wav``'s ``.<name>.*.tmp``
while a file is being written) is never pruned."""

log = logging.getLogger(__name__)


class PromptConfig(Protocol):
    """What PromptBuilder reads from the settings (``hotline.settings.Settings`` fits)."""

    @property
    def tts_backend(self) -> str: ...

    @property
    def prompts_path(self) -> Path: ...

    @property
    def recorded_prompts_path(self) -> Path: ...


class PromptStatus(StrEnum):
    BUILT = "built"
    CACHED = "cached"
    RECORDED = "pre-recorded"


@dataclass
class BuildReport:
    backend: str
    out_dir: Path
    statuses: dict[str, PromptStatus] = field(default_factory=dict)

    def count(self, status: PromptStatus) -> int:
        return sum(1 for s in self.statuses.values() if s is status)

    def summary(self) -> str:
        return (
            f"{len(self.statuses)} prompts with {self.backend} → {self.out_dir}: "
            f"{self.count(PromptStatus.BUILT)} built, {self.count(PromptStatus.CACHED)} cached, "
            f"{self.count(PromptStatus.RECORDED)} pre-recorded"
        )


def make_synthesizer(backend: str, prompts_dir: Path) -> Synthesizer:
    """The synthesizer named by ``settings.tts_backend``."""
    if backend == "espeak":
        from speech.tts.espeak import EspeakSynthesizer

        return EspeakSynthesizer()
    if backend == "gtts":
        from speech.tts.gtts import GttsSynthesizer

        return GttsSynthesizer(prompts_dir / ".cache" / "gtts")
    raise PromptError(f"unknown TTS backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def default_normalize(text: str) -> str:
    """NFC, numbers/codes/dates read out (``speech.text.normalize_for_speech``)."""
    from speech.text import normalize_for_speech

    return normalize_for_speech(text)


class PromptBuilder:
    """Builds prompt files; ``ensure(text)`` for dynamic text, ``build_all`` for prompts.yaml."""

    def __init__(
        self,
        config: PromptConfig,
        *,
        synthesizer: Synthesizer | None = None,
        normalize: Callable[[str], str] = default_normalize,
    ) -> None:
        self.prompts_dir = Path(config.prompts_path)
        self.recorded_dir = Path(config.recorded_prompts_path)
        self.synthesizer = synthesizer or make_synthesizer(config.tts_backend, self.prompts_dir)
        self._normalize = normalize

    @property
    def backend(self) -> str:
        return self.synthesizer.name

    def cache_key(self, text: str) -> str:
        spoken = self._normalize(text)
        material = "\0".join((CACHE_FORMAT, self.synthesizer.name, self.synthesizer.voice, spoken))
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]

    def cache_path(self, text: str) -> Path:
        return self.prompts_dir / "tts" / f"{self.cache_key(text)}.wav"

    def ensure(self, text: str) -> Path:
        """The WAV of ``text`` under ``tts/``, synthesised only if not there yet."""
        return self._ensure(text)[0]

    def _ensure(self, text: str) -> tuple[Path, PromptStatus]:
        spoken = self._normalize(text)
        if not spoken:
            raise PromptError("cannot build a prompt from an empty text")
        path = self.cache_path(text)
        if path.exists():
            _mark_used(path)
            return path, PromptStatus.CACHED
        try:
            audio = self.synthesizer.synthesize(spoken)
        except TtsError:
            raise
        except Exception as exc:  # a backend bug must still name the text
            raise TtsError(f"{self.backend} failed on {spoken[:40]!r}: {exc}") from exc
        write_wav(path, audio)
        return path, PromptStatus.BUILT

    def playback_name(self, path: Path) -> str:
        """What Asterisk's STREAM FILE takes: the path under prompts_dir, without ``.wav``.

        ``ensure(text)`` → ``<prompts_dir>/tts/ab12….wav`` → ``"tts/ab12…"``; inside the PBX the
        prompts dir is mounted at /var/lib/hotline/prompts.
        """
        try:
            relative = path.relative_to(self.prompts_dir)
        except ValueError:
            raise PromptError(f"{path} is not under the prompts dir {self.prompts_dir}") from None
        return str(relative.with_suffix(""))

    def recorded_path(self, prompt_id: str) -> Path:
        return self.recorded_dir / f"{prompt_id}.wav"

    def prompt_path(self, prompt_id: str) -> Path:
        return self.prompts_dir / f"{prompt_id}.wav"

    def build_one(self, prompt_id: str, text: str) -> PromptStatus:
        if not PROMPT_ID.match(prompt_id):
            raise PromptError(
                f"prompt id {prompt_id!r} is not a safe file name "
                "(lower-case letters, digits, '_', '-', '.')"
            )
        target = self.prompt_path(prompt_id)
        recorded = self.recorded_path(prompt_id)
        if recorded.exists():
            audio: Audio = to_phone_audio(read_wav(recorded))
            _write_if_changed(target, wav_bytes(audio), audio)
            return PromptStatus.RECORDED
        source, status = self._ensure(text)
        data = source.read_bytes()
        if not target.exists() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return status

    def build_all(
        self,
        prompts: Mapping[str, str],
        progress: Callable[[str, PromptStatus], None] | None = None,
    ) -> BuildReport:
        report = BuildReport(backend=self.backend, out_dir=self.prompts_dir)
        for prompt_id, text in prompts.items():
            status = self.build_one(prompt_id, text)
            report.statuses[prompt_id] = status
            if progress is not None:
                progress(prompt_id, status)
        return report


def _mark_used(path: Path) -> None:
    """mtime = now: `prune_dynamic` keeps what was used lately."""
    try:
        os.utime(path)
    except OSError as exc:  # a read-only prompts dir still plays; only the clean-up is blind
        log.warning("cannot mark %s as used (%s): prune may remove it", path.name, exc)


@dataclass(frozen=True, slots=True)
class PrunedFile:
    name: str
    size: int
    idle_s: float  # seconds since last use (mtime)


@dataclass
class PruneReport:
    """What `prune_dynamic` removed (or, with dry_run, would remove) and what it kept."""

    directory: Path
    dry_run: bool
    removed: list[PrunedFile] = field(default_factory=list)
    kept_recent: int = 0
    kept_static: int = 0  # sources of built <id>.wav prompts

    @property
    def removed_bytes(self) -> int:
        return sum(f.size for f in self.removed)

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (
            f"{self.directory}: {verb} {len(self.removed)} file(s), {self.removed_bytes:,} bytes; "
            f"kept {self.kept_recent} used lately and {self.kept_static} behind built prompts"
        )


def _fingerprint(path: Path) -> tuple[int, str]:
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def prune_dynamic(
    prompts_dir: Path, *, older_than_s: float, now: float, dry_run: bool = False
) -> PruneReport:
    """Delete ``<prompts_dir>/tts/<hash>.wav`` files whose mtime is more than `older_than_s`
    before `now` (epoch seconds). Kept: files used since, files whose bytes are those of a
    built ``<prompts_dir>/<id>.wav`` (the next ``prompts build`` would need them again), and
    any name `cache_path` does not make (temp files of a write in progress). The prompts in
    ``prompts_dir`` itself and the recorded prompts are never touched."""
    if older_than_s < 0:
        raise PromptError(f"prune age must be >= 0 seconds, not {older_than_s}")
    tts_dir = prompts_dir / "tts"
    report = PruneReport(directory=tts_dir, dry_run=dry_run)
    if not tts_dir.is_dir():
        return report
    cutoff = now - older_than_s
    static: set[tuple[int, str]] | None = None
    for path in sorted(tts_dir.iterdir()):
        if not CACHE_NAME.match(path.name) or not path.is_file() or path.is_symlink():
            continue
        stat = path.stat()
        if stat.st_mtime >= cutoff:
            report.kept_recent += 1
            continue
        if static is None:  # read the built prompts once, and only if something is old
            static = {_fingerprint(p) for p in prompts_dir.glob("*.wav") if p.is_file()}
        if static and _fingerprint(path) in static:
            report.kept_static += 1
            continue
        if not dry_run:
            if path.stat().st_mtime >= cutoff:  # used while we were looking
                report.kept_recent += 1
                continue
            path.unlink(missing_ok=True)
        report.removed.append(PrunedFile(path.name, stat.st_size, now - stat.st_mtime))
    return report


def _write_if_changed(target: Path, data: bytes, audio: Audio) -> None:
    if target.exists() and target.read_bytes() == data:
        return
    write_wav(target, audio)


def load_prompts(path: Path) -> dict[str, str]:
    """Read ``prompts: {id: text}`` from a YAML file; texts come back NFC."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PromptError(f"prompt file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise PromptError(f"prompt file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("prompts"), dict):
        raise PromptError(f"prompt file {path} needs a top-level mapping 'prompts: {{id: text}}'")
    prompts: dict[str, str] = {}
    for key, value in raw["prompts"].items():
        if not isinstance(value, str) or not value.strip():
            raise PromptError(f"prompt {key!r} in {path} has no text")
        if not PROMPT_ID.match(str(key)):
            raise PromptError(f"prompt id {key!r} in {path} is not a safe file name")
        prompts[str(key)] = unicodedata.normalize("NFC", value)
    return prompts
