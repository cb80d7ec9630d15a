"""sipp failures surface as typed errors that say what happened (real sipp, no Asterisk)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ivr.sipp import CallSpec, SippRunError, place_call


async def test_a_taken_sip_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        spec = CallSpec(sip_port=9, local_port=port, media_port=0, log_dir=tmp_path)
        with pytest.raises(SippRunError) as caught:
            await place_call(spec)
    message = str(caught.value)
    assert "exited 254 (fatal error binding a socket)" in message
    assert "Address already in use" in message
    assert str(tmp_path) in message
