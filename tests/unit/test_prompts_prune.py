"""`prune_dynamic`, `hotline prompts prune` and `hotline run`'s start-up prune, in temp dirs:
old unused read-backs go, recently used ones stay (reuse by `ensure()` counts as use), built
and recorded prompts and files being written are never touched, --dry-run deletes nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from hotline import cli
from speech.audio import Audio, write_wav
from speech.tts import PromptBuilder, PromptStatus, prune_dynamic
from tests.fixtures.tts import Config, FakeSynth

DAY = 86_400.0
WEEK = 7 * DAY


def _age(path: Path, days: float) -> None:
    """Set the file's last use `days` ago."""
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def test_old_unused_read_backs_go_recently_used_stay(prompt_config: Config) -> None:
    synth = FakeSynth()
    builder = PromptBuilder(prompt_config, synthesizer=synth)
    old = builder.ensure("Mã số phản ánh của Quý vị là một hai ba")
    reused = builder.ensure("Hồ sơ đang được xử lý")
    fresh = builder.ensure("Ngày hẹn trả kết quả là ngày hai mươi")
    for path in (old, reused):
        _age(path, 10)
    assert builder.ensure("Hồ sơ đang được xử lý") == reused  # played again today
    assert len(synth.calls) == 3  # from the cache, not synthesised again
    size = old.stat().st_size

    report = prune_dynamic(prompt_config.prompts_path, older_than_s=WEEK, now=time.time())

    assert not old.exists()
    assert reused.exists() and fresh.exists()
    assert [f.name for f in report.removed] == [old.name]
    assert report.removed_bytes == size and report.kept_recent == 2
    assert report.removed[0].idle_s == pytest.approx(10 * DAY, abs=60)


def test_ensure_marks_a_cached_file_as_used(prompt_config: Config) -> None:
    builder = PromptBuilder(prompt_config, synthesizer=FakeSynth())
    path = builder.ensure("Xin cảm ơn Quý vị")
    _age(path, 30)
    builder.ensure("Xin cảm ơn Quý vị")
    assert time.time() - path.stat().st_mtime < 60


def test_built_and_recorded_prompts_are_never_touched(prompt_config: Config) -> None:
    recorded = prompt_config.recorded_prompts_path / "goodbye.wav"
    write_wav(recorded, Audio(np.full(1600, 500, dtype=np.int16), 16000))
    builder = PromptBuilder(prompt_config, synthesizer=FakeSynth())
    report = builder.build_all({"welcome": "Xin chào Quý vị", "goodbye": "Tạm biệt"})
    assert report.statuses == {"welcome": PromptStatus.BUILT, "goodbye": PromptStatus.RECORDED}
    source = builder.cache_path("Xin chào Quý vị")  # what welcome.wav was copied from
    dynamic = builder.ensure("Mã hồ sơ của Quý vị")
    everything = [p for p in prompt_config.prompts_path.rglob("*") if p.is_file()] + [recorded]
    for path in everything:
        _age(path, 100)

    result = prune_dynamic(prompt_config.prompts_path, older_than_s=WEEK, now=time.time())

    assert [f.name for f in result.removed] == [dynamic.name]
    assert result.kept_static == 1 and source.exists()
    for kept in (builder.prompt_path("welcome"), builder.prompt_path("goodbye"), recorded):
        assert kept.exists(), kept


def test_dry_run_removes_nothing(prompt_config: Config) -> None:
    builder = PromptBuilder(prompt_config, synthesizer=FakeSynth())
    paths = [builder.ensure(t) for t in ("Một", "Hai")]
    for path in paths:
        _age(path, 8)
    report = prune_dynamic(
        prompt_config.prompts_path, older_than_s=WEEK, now=time.time(), dry_run=True
    )
    assert sorted(f.name for f in report.removed) == sorted(p.name for p in paths)
    assert all(p.exists() for p in paths)
    assert report.summary().startswith(
        f"{prompt_config.prompts_path / 'tts'}: would remove 2 file(s)"
    )


def test_a_file_being_written_and_foreign_names_are_left_alone(prompt_config: Config) -> None:
    builder = PromptBuilder(prompt_config, synthesizer=FakeSynth())
    done = builder.ensure("Ba")
    tts = done.parent
    writing = tts / f".{done.name}.k3j2h1.tmp"  # write_wav's temporary name
    writing.write_bytes(b"RIFF half a file")
    foreign = [tts / "notes.wav", tts / ("A" * 32 + ".wav"), tts / (done.stem + ".wav.bak")]
    for path in foreign:
        path.write_bytes(b"x")
    for path in [done, writing, *foreign]:
        _age(path, 30)
    report = prune_dynamic(prompt_config.prompts_path, older_than_s=WEEK, now=time.time())
    assert [f.name for f in report.removed] == [done.name]
    assert writing.exists() and all(p.exists() for p in foreign)


def test_no_tts_dir_yet_and_negative_age(prompt_config: Config) -> None:
    report = prune_dynamic(prompt_config.prompts_path, older_than_s=WEEK, now=time.time())
    assert report.removed == [] and report.removed_bytes == 0
    from speech.errors import PromptError

    with pytest.raises(PromptError, match="prune age must be >= 0"):
        prune_dynamic(prompt_config.prompts_path, older_than_s=-1, now=time.time())


def test_prompts_prune_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "state"))
    prompts = tmp_path / "state" / "prompts"
    builder = PromptBuilder(Config(prompts, tmp_path / "recorded"), synthesizer=FakeSynth())
    old, recent = builder.ensure("Cũ"), builder.ensure("Mới")
    _age(old, 8.5)
    _age(recent, 2)
    size = old.stat().st_size

    assert cli.main(["prompts", "prune", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"would remove tts/{old.name}  {size:,} bytes, unused 8.5 days"
    assert f"would remove 1 file(s), {size:,} bytes; kept 1 used lately" in out[1]
    assert old.exists()

    assert cli.main(["prompts", "prune", "--older-than", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert {line.split()[1] for line in out[:2]} == {f"tts/{old.name}", f"tts/{recent.name}"}
    assert f"removed 2 file(s), {2 * size:,} bytes" in out[2]
    assert not old.exists() and not recent.exists()

    assert cli.main(["prompts", "prune", "--older-than", "-1"]) == 1
    assert "prune age must be >= 0" in capsys.readouterr().err


def test_hotline_run_prunes_at_start_up(
    prompt_config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    from hotline.commands.run import prune_read_backs

    builder = PromptBuilder(prompt_config, synthesizer=FakeSynth())
    old, recent = builder.ensure("Bốn"), builder.ensure("Năm")
    _age(old, 7.1)
    _age(recent, 6.9)
    with caplog.at_level("INFO", logger="hotline.run"):
        prune_read_backs(prompt_config.prompts_path)
    assert not old.exists() and recent.exists()
    assert "removed 1 file(s)" in caplog.text
