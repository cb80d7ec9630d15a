"""The hang-up cause on a call record: Asterisk 22 reports a caller's BYE as Hangup Cause 0
(Unknown) and puts the real cause on the SoftHangupRequest before it; records keep the real one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.unit.test_runner_controller import FakeAmi, event, make, settle


async def _one_call(tmp_path: Path, *hangup_events: tuple[str, dict[str, str]]) -> list[str]:
    ami = FakeAmi()
    controller, recorder, calllog = make(tmp_path, ami)
    await ami.login()
    ami.emit(
        event(
            "AsyncAGIStart",
            Channel="PJSIP/sipp-1",
            Uniqueid="17.1",
            Linkedid="17.1",
            CallerIDNum="0912345671",
            Env="agi_extension%3A%2019009120%0A",
        )
    )
    await settle(lambda: len(controller.calls) == 1)
    await asyncio.sleep(0.05)
    ami.gone.add("PJSIP/sipp-1")
    for name, headers in hangup_events:
        ami.emit(event(name, Channel="PJSIP/sipp-1", **headers))
    await settle(lambda: "17.1" in controller.finished)
    await controller.stop(timeout_s=5)
    await calllog.flush()
    calllog.close()
    return [e.cause for e in recorder.ended]


async def test_cause_of_a_caller_bye_comes_from_the_soft_hangup_request(tmp_path: Path) -> None:
    causes = await _one_call(
        tmp_path,
        ("SoftHangupRequest", {"Cause": "16"}),
        ("Hangup", {"Cause": "0", "Cause-txt": "Unknown"}),
    )
    assert causes == ["16 Normal Clearing"]


async def test_a_precise_hangup_cause_is_kept(tmp_path: Path) -> None:
    causes = await _one_call(
        tmp_path,
        ("SoftHangupRequest", {"Cause": "16"}),
        ("Hangup", {"Cause": "17", "Cause-txt": "User busy"}),
    )
    assert causes == ["17 User busy"]


async def test_without_a_soft_hangup_request_the_unknown_cause_stays(tmp_path: Path) -> None:
    causes = await _one_call(tmp_path, ("Hangup", {"Cause": "0", "Cause-txt": "Unknown"}))
    assert causes == ["0 Unknown"]
