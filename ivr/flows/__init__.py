"""Call flows as data: menus in `dialplans/menu.yaml`, prompt texts in `dialplans/prompts.yaml`.

`load_flow(menu_path, prompts_path)` reads both and returns a validated, typed `Flow`; every
problem (unknown prompt, unreachable node, bad key, missing target, duplicate id...) is reported
at once in a `FlowError` naming the file and the node.
"""

from __future__ import annotations

from ivr.flows.errors import FlowError
from ivr.flows.loader import load_flow, load_prompts, parse_flow
from ivr.flows.model import (
    ACTIONS,
    CASE_OPTIONAL_INPUTS,
    KEYS,
    Action,
    ActionNode,
    ActionOutcome,
    ActionSpec,
    AskNode,
    Capture,
    Choice,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    MenuNode,
    Node,
    PlayNode,
    Readback,
    ReadbackLine,
    RecordNode,
    SayNode,
    SlotRef,
    SlotValue,
    TransferNode,
)

__all__ = [
    "ACTIONS",
    "CASE_OPTIONAL_INPUTS",
    "KEYS",
    "Action",
    "ActionNode",
    "ActionOutcome",
    "ActionSpec",
    "AskNode",
    "Capture",
    "Choice",
    "CollectNode",
    "Flow",
    "FlowError",
    "HangupNode",
    "HoursNode",
    "MenuNode",
    "Node",
    "PlayNode",
    "Readback",
    "ReadbackLine",
    "RecordNode",
    "SayNode",
    "SlotRef",
    "SlotValue",
    "TransferNode",
    "load_flow",
    "load_prompts",
    "parse_flow",
]
