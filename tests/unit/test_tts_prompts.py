"""speech.tts: the prompt cache and build (fake synthesizer below it), espeak-ng for real,
gTTS caching/throttling/retries over a fake transport, and `hotline prompts build` / `tts`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from hotline import cli
from speech.audio import Audio, frame_dbfs, read_wav, wav_bytes, write_wav
from speech.errors import PromptError, TtsBackendUnavailableError, TtsThrottledError
from speech.tts import (
    EspeakSynthesizer,
    GttsSynthesizer,
    PromptBuilder,
    PromptStatus,
    Throttle,
    load_prompts,
)
from tests.fixtures.tts import Config, FakeSynth


def test_ensure_synthesises_once_and_keys_on_nfc_text(prompt_config: Config) -> None:
    synth = FakeSynth()
    builder = PromptBuilder(prompt_config, synthesizer=synth)
    text = "Mã số hồ sơ của Quý vị"
    first = builder.ensure(text)
    again = builder.ensure(unicodedata.normalize("NFD", text))  # same words, other normal form
    assert first == again
    assert first.parent == prompt_config.prompts_path / "tts"
    assert synth.calls == [text]
    assert read_wav(first).rate == 8000


def test_playback_name_is_relative_without_extension(prompt_config: Config) -> None:
    builder = PromptBuilder(prompt_config, synthesizer=FakeSynth())
    path = builder.ensure("Xin chào")
    assert builder.playback_name(path) == f"tts/{path.stem}"
    assert builder.playback_name(builder.prompt_path("welcome")) == "welcome"
    with pytest.raises(PromptError, match="is not under the prompts dir"):
        builder.playback_name(Path("/etc/passwd"))


def test_cache_key_depends_on_backend_and_voice(prompt_config: Config) -> None:
    a = PromptBuilder(prompt_config, synthesizer=FakeSynth(voice="v1")).cache_path("Xin chào")
    b = PromptBuilder(prompt_config, synthesizer=FakeSynth(voice="v2")).cache_path("Xin chào")
    c = PromptBuilder(prompt_config, synthesizer=FakeSynth(name="other")).cache_path("Xin chào")
    assert len({a, b, c}) == 3


def test_build_all_counts_built_cached_and_recorded(prompt_config: Config) -> None:
    recorded = Audio(np.full(1600, 500, dtype=np.int16), 16000)  # a 16 kHz studio recording
    write_wav(prompt_config.recorded_prompts_path / "welcome.wav", recorded)
    prompts = {"welcome": "Xin chào", "menu": "Bấm phím 1", "bye": "Tạm biệt"}
    synth = FakeSynth()
    builder = PromptBuilder(prompt_config, synthesizer=synth)
    seen: list[tuple[str, PromptStatus]] = []
    report = builder.build_all(prompts, progress=lambda i, s: seen.append((i, s)))
    assert report.statuses == {
        "welcome": PromptStatus.RECORDED,
        "menu": PromptStatus.BUILT,
        "bye": PromptStatus.BUILT,
    }
    assert seen == list(report.statuses.items())
    # the recorded prompt is never synthesised; numbers reach the synthesizer as words
    assert synth.calls == ["Bấm phím một", "Tạm biệt"]
    welcome = read_wav(prompt_config.prompts_path / "welcome.wav")
    assert (welcome.rate, len(welcome.samples)) == (8000, 800)

    second = builder.build_all({**prompts, "menu": "Bấm phím 2"})
    assert second.summary() == (
        f"3 prompts with fake → {prompt_config.prompts_path}: 1 built, 1 cached, 1 pre-recorded"
    )
    assert synth.calls[-1] == "Bấm phím hai"
    menu = prompt_config.prompts_path / "menu.wav"
    assert menu.read_bytes() == builder.cache_path("Bấm phím 2").read_bytes()


def test_unsafe_prompt_id_is_refused(prompt_config: Config) -> None:
    builder = PromptBuilder(prompt_config, synthesizer=FakeSynth())
    with pytest.raises(PromptError, match=r"'\.\./etc' is not a safe file name") as info:
        builder.build_one("../etc", "x")
    assert info.value.code == "prompt-invalid"


def test_load_prompts_reads_nfc_and_rejects_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "p.yaml"
    good.write_text(
        "prompts:\n  hello: " + unicodedata.normalize("NFD", "Xin chào Quý vị") + "\n",
        encoding="utf-8",
    )
    assert load_prompts(good) == {"hello": unicodedata.normalize("NFC", "Xin chào Quý vị")}
    bad = tmp_path / "bad.yaml"
    bad.write_text("greeting: hi\n", encoding="utf-8")
    with pytest.raises(PromptError, match="top-level mapping"):
        load_prompts(bad)
    with pytest.raises(PromptError, match="does not exist"):
        load_prompts(tmp_path / "missing.yaml")


# --- espeak-ng, for real ---------------------------------------------------------------------
def test_espeak_speaks_vietnamese_at_8k() -> None:
    audio = EspeakSynthesizer().synthesize("Xin chào, đây là đường dây nóng một chín không không")
    assert audio.rate == 8000
    assert 1.5 < audio.duration_s < 8
    assert frame_dbfs(audio.samples) > -30  # speech, not silence
    assert int(np.max(np.abs(audio.samples.astype(np.int32)))) == pytest.approx(23197, abs=2)


def test_espeak_missing_binary_says_how_to_install() -> None:
    with pytest.raises(TtsBackendUnavailableError, match="apt-get install espeak-ng"):
        EspeakSynthesizer(binary="espeak-ng-not-here").synthesize("xin chào")


# --- gTTS over a fake transport ---------------------------------------------------------------
@dataclass
class FakeTransport:
    """Implements speech.tts.TtsTransport: answers WAV bytes or the errors it is given."""

    failures: list[Exception] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def fetch(self, text: str, lang: str) -> bytes:
        self.requests.append((text, lang))
        if self.failures:
            raise self.failures.pop(0)
        return wav_bytes(Audio(np.full(2400, 3000, dtype=np.int16), 24000))


@dataclass
class FakeClock:
    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_gtts_caches_answers_and_spaces_requests(tmp_path: Path) -> None:
    transport, clock = FakeTransport(), FakeClock()
    synth = GttsSynthesizer(
        tmp_path, transport=transport, min_interval_s=1.5, clock=clock, sleep=clock.sleep
    )
    audio = synth.synthesize("Xin chào")
    assert (audio.rate, len(audio.samples)) == (8000, 800)
    synth.synthesize(unicodedata.normalize("NFD", "Xin chào"))  # cached: no request
    synth.synthesize("Tạm biệt")
    assert transport.requests == [("Xin chào", "vi"), ("Tạm biệt", "vi")]
    assert clock.sleeps == [1.5]  # the second request waited for the throttle


def test_gtts_retries_with_backoff_then_reports_throttling(tmp_path: Path) -> None:
    failures: list[Exception] = [TtsThrottledError("HTTP 429")] * 3
    transport, clock = FakeTransport(failures=list(failures)), FakeClock()
    synth = GttsSynthesizer(
        tmp_path, transport=transport, retries=2, backoff_s=2.0, clock=clock, sleep=clock.sleep
    )
    with pytest.raises(TtsThrottledError, match="after 3 attempts") as info:
        synth.synthesize("Xin chào")
    assert info.value.code == "tts-throttled"
    assert clock.sleeps == [2.0, 4.0]
    assert not list(tmp_path.iterdir())  # nothing cached from a failure

    transport.failures = [TtsBackendUnavailableError("timeout")]
    assert synth.synthesize("Xin chào").rate == 8000  # one retry succeeds


def test_throttle_is_a_pure_counter() -> None:
    throttle = Throttle(min_interval_s=2.0)
    assert throttle.delay(10.0) == 0.0
    throttle.record(10.0)
    assert throttle.delay(10.5) == 1.5
    assert throttle.delay(13.0) == 0.0


# --- the commands ------------------------------------------------------------------------------
def test_prompts_build_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "prompts.yaml"
    source.write_text(
        "prompts:\n  welcome: Xin chào Quý vị\n  goodbye: Xin cảm ơn và chào tạm biệt\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOTLINE_DIALPLANS_DIR", str(tmp_path))
    assert cli.main(["prompts", "build"]) == 0
    out_dir = tmp_path / "state" / "prompts"
    assert capsys.readouterr().out.strip() == (
        f"2 prompts with espeak → {out_dir}: 2 built, 0 cached, 0 pre-recorded"
    )
    assert read_wav(out_dir / "welcome.wav").rate == 8000
    assert cli.main(["prompts", "build", "--file", str(source)]) == 0
    assert "0 built, 2 cached" in capsys.readouterr().out


def test_prompts_build_missing_file_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_DIALPLANS_DIR", str(tmp_path))
    assert cli.main(["prompts", "build"]) == 1
    assert "prompts.yaml does not exist" in capsys.readouterr().err


def test_tts_command_writes_phone_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.wav"
    assert cli.main(["tts", "Mã hồ sơ của Quý vị", "-o", str(out), "--phone"]) == 0
    assert read_wav(out).rate == 8000
    assert "at 8000 Hz (espeak voice vi@150" in capsys.readouterr().out
