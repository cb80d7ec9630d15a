"""Call records off the event loop: every write goes through ONE writer thread, in order.

`CallLog` wraps an `ivr.ports.CallRecorder` (synchronous, e.g. cases.calls.SqlCallRecorder).
Writes are queued and never awaited by the call path (a slow disk must not delay a prompt);
their order is kept because a single thread runs them. A failed write is logged with the call
id, never raised into a call. `flush()` waits for everything queued so far.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from ivr.ports import CallEnded, CallRecorder, CallStarted, CallStep

log = logging.getLogger(__name__)


def mask_number(number: str) -> str:
    """``0912345678`` -> ``0912***678``: caller numbers are personal data, never logged whole."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "***" + number[-3:]


def utcnow() -> datetime:
    return datetime.now(UTC)


class CallLog:
    def __init__(self, recorder: CallRecorder) -> None:
        self.recorder = recorder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="call-records")
        self._closed = False

    def _submit(self, what: str, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._closed:
            # A write after close() would raise into a call being torn down: say it, drop it.
            log.error("call record write after the call log was closed, dropped: %s", what)
            future: Future[Any] = Future()
            future.set_result(None)
            return future
        future = self._executor.submit(fn, *args)

        def report(done: Future[Any]) -> None:
            exc = done.exception()
            if exc is not None:
                log.error("call record write failed (%s): %s", what, exc, exc_info=exc)

        future.add_done_callback(report)
        return future

    def started(self, call: CallStarted) -> None:
        self._submit(f"start {call.uniqueid}", self.recorder.call_started, call)

    def step(self, uniqueid: str, step: CallStep) -> None:
        self._submit(f"step {uniqueid} {step.kind}", self.recorder.step, uniqueid, step)

    def ended(self, uniqueid: str, ended: CallEnded) -> None:
        self._submit(f"end {uniqueid} {ended.outcome}", self.recorder.call_ended, uniqueid, ended)

    async def close_orphans(self, now: datetime, keep: frozenset[str] = frozenset()) -> int:
        future = self._submit("close orphans", self.recorder.close_orphans, now, keep)
        count: int = await asyncio.wrap_future(future)
        return count

    async def flush(self) -> None:
        await asyncio.wrap_future(self._executor.submit(lambda: None))

    def close(self) -> None:
        """Finish every queued write, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=True)
