"""Errors of the call-session machine: one root, `SessionError`."""

from __future__ import annotations


class SessionError(Exception):
    """Root of the session machine's errors."""


class IllegalEventError(SessionError):
    """An event arrived that the current state does not accept (a bug in the runner or a race)."""

    def __init__(self, call_id: str, state: str, event: object, node: str) -> None:
        self.call_id = call_id
        self.state = state
        self.event = event
        self.node = node
        super().__init__(
            f"call {call_id}: cannot handle {type(event).__name__} "
            f"while the session is {state.upper()} at node {node!r}"
        )
