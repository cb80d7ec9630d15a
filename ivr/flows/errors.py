"""Errors of the flow loader: one root, `FlowError`, carrying every problem found."""

from __future__ import annotations


class FlowError(Exception):
    """A menu or prompt file is malformed; `problems` lists each one, naming file and node."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{source}: {count} problem(s) in the call flow:\n{lines}")
