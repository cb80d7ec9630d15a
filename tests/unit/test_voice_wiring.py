"""hotline.wiring.build_listener: the settings switch between AudioSocket and RECORD FILE."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import Settings
from hotline.wiring import build_listener
from ivr.ami.agi import AgiResult, parse_agi_result
from ivr.voice.listener import AudioSocketListener, RecordListener


class NoAgi:
    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult:  # noqa: ASYNC109
        return parse_agi_result("200 result=0")


class NoAsr:
    async def transcribe(self, audio: bytes, *, rate: int = 8000, hotwords: object = None) -> str:
        raise AssertionError("not called")


async def test_audiosocket_is_the_default_and_its_server_is_started(tmp_path: Path) -> None:
    settings = Settings(audiosocket_port=0, state_dir=tmp_path)
    listener, server = await build_listener(settings, NoAgi(), NoAsr())  # type: ignore[arg-type]
    try:
        assert isinstance(listener, AudioSocketListener) and server is not None
        assert server.port > 0 and listener.server is server
        assert listener.config.pbx_prompts == settings.asterisk_prompts_dir
    finally:
        assert server is not None
        await server.close()


async def test_record_backend_and_a_wrong_name(tmp_path: Path) -> None:
    listener, server = await build_listener(
        Settings(listen_backend="record", state_dir=tmp_path),
        NoAgi(),
        NoAsr(),  # type: ignore[arg-type]
    )
    assert isinstance(listener, RecordListener) and server is None
    assert listener.config.recordings_dir == tmp_path / "recordings"
    with pytest.raises(ValueError, match="HOTLINE_LISTEN_BACKEND='rtp'"):
        await build_listener(Settings(listen_backend="rtp"), NoAgi(), NoAsr())  # type: ignore[arg-type]
