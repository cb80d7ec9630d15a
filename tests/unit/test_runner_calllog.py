"""CallLog: call-record writes leave the event loop, run in order on one thread, and a failing
write is logged, never raised into the call."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from ivr.calllog import CallLog, mask_number
from ivr.ports import CallEnded, CallStarted, CallStep, Outcome, StepKind

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


class SlowRecorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.threads: set[int] = set()
        self.loop_thread = threading.get_ident()

    def _note(self, what: str, uniqueid: str) -> None:
        self.threads.add(threading.get_ident())
        self.log.append((what, uniqueid))

    def call_started(self, call: CallStarted) -> None:
        self._note("start", call.uniqueid)

    def step(self, uniqueid: str, step: CallStep) -> None:
        if step.node == "boom":
            raise RuntimeError("disk full")
        self._note(f"step {step.node}", uniqueid)

    def call_ended(self, uniqueid: str, ended: CallEnded) -> None:
        self._note("end", uniqueid)

    def close_orphans(self, now: datetime, keep: frozenset[str] = frozenset()) -> int:
        self._note("orphans", ",".join(sorted(keep)))
        return 2


async def test_writes_run_in_order_on_one_thread(caplog: pytest.LogCaptureFixture) -> None:
    recorder = SlowRecorder()
    calllog = CallLog(recorder)
    calllog.started(CallStarted("1.1", "1.1", "PJSIP/a-1", "0912345678", "19009120", NOW))
    for node in ("main", "boom", "dossier_code"):
        calllog.step("1.1", CallStep(StepKind.NODE, NOW, node=node))
    calllog.ended("1.1", CallEnded(Outcome.ABANDONED, NOW, "16"))
    assert await calllog.close_orphans(NOW, frozenset({"1.1"})) == 2
    await calllog.flush()
    calllog.close()
    assert recorder.log == [
        ("start", "1.1"),
        ("step main", "1.1"),
        ("step dossier_code", "1.1"),
        ("end", "1.1"),
        ("orphans", "1.1"),
    ]
    assert len(recorder.threads) == 1 and recorder.loop_thread not in recorder.threads
    assert "call record write failed (step 1.1 node): disk full" in caplog.text
    calllog.step("1.1", CallStep(StepKind.NODE, NOW, node="late"))  # after close: dropped
    assert "after the call log was closed" in caplog.text


def test_caller_numbers_are_masked() -> None:
    assert mask_number("0912345678") == "0912***678"
    assert mask_number("113") == "***"
