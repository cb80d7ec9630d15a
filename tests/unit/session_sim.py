"""Helpers of the session tests: the real menu, and flow snapshots.

The scripted caller itself lives in `ivr.session.simulate` (also used by `hotline flow`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ivr.flows import Flow, load_flow
from ivr.session.simulate import Caller, run_call

__all__ = ["Caller", "check_snapshot", "menu_flow", "run_call"]

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def menu_flow() -> Flow:
    return load_flow(REPO / "dialplans" / "menu.yaml")


def check_snapshot(name: str, lines: list[str]) -> None:
    """Compare with tests/unit/snapshots/<name>.txt; HOTLINE_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if os.environ.get("HOTLINE_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
        if os.environ.get("HOTLINE_UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"snapshot {path} was missing: written now; review and commit it")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"flow snapshot {path.name} changed; review the diff and rerun with "
        "HOTLINE_UPDATE_SNAPSHOTS=1 if the change is intended"
    )
