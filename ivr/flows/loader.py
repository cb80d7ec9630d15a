"""Load `dialplans/menu.yaml` + `dialplans/prompts.yaml` into a validated `Flow`.

Strategy: parse every node leniently, collecting problems instead of stopping at the first one,
then check the graph as a whole (targets exist, every node reachable from `start`, every prompt
and read-back known, action inputs filled somewhere). All problems come back together in one
`FlowError` whose lines name the file and the node, so a menu author fixes them in one pass.
Duplicate keys — which YAML silently overwrites — are refused with their line number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ivr.flows.errors import FlowError
from ivr.flows.model import (
    ACTIONS,
    FORMATS,
    KEYS,
    Action,
    ActionNode,
    ActionOutcome,
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
    TransferNode,
)
from speech.intent.model import INTENTS

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (a duplicated node id would vanish)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate id {key!r} (line {line}, first at line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = line
    return dict(loader.construct_pairs(node))


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError(str(path), [f"cannot read the file: {exc}"]) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise FlowError(str(path), [f"not valid YAML: {exc}"]) from exc


def load_prompts(path: Path) -> dict[str, str]:
    """Read `prompts: {id: text}`; texts are returned NFC; ids must be snake_case."""
    data = _read_yaml(path)
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
        raise FlowError(str(path), ["expected a top-level mapping `prompts: {id: text}`"])
    prompts: dict[str, str] = {}
    for pid, text in data["prompts"].items():
        if not isinstance(pid, str) or not _ID.match(pid):
            problems.append(f"prompt id {pid!r}: use lower_snake_case")
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(f"prompt {pid!r}: text must be a non-empty string")
            continue
        prompts[pid] = unicodedata.normalize("NFC", text.strip())
    if problems:
        raise FlowError(str(path), problems)
    return prompts


def load_flow(menu_path: Path, prompts_path: Path | None = None) -> Flow:
    """Load and validate a menu file; prompts default to `prompts.yaml` next to it."""
    prompts = load_prompts(prompts_path or menu_path.with_name("prompts.yaml"))
    return parse_flow(_read_yaml(menu_path), prompts, source=menu_path)


# --- parsing ---------------------------------------------------------------------------------


_COMMON = {"type", "description"}
_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required, optional)
    "play": ({"prompts", "next"}, {"interruptible"}),
    "menu": (
        {"prompt", "choices", "on_failure"},
        {"no_input", "no_match", "retries", "timeout_ms"},
    ),
    "collect": (
        {"prompt", "slot", "next", "on_failure"},
        {"min_digits", "max_digits", "terminator", "no_input", "retries", "timeout_ms"},
    ),
    "record": (
        {"prompt", "slot", "next", "on_empty"},
        {"max_s", "silence_s", "min_ms", "beep", "escape"},
    ),
    "ask": (
        {"prompt", "fallback", "on_failure"},
        {
            "capture",
            "intents",
            "choices",
            "slot",
            "next",
            "skip_if",
            "readback",
            "confirm",
            "no_input",
            "no_match",
            "retries",
            "speech_retries",
            "min_digits",
            "max_digits",
            "terminator",
            "timeout_ms",
            "max_speech_s",
            "hints",
            "clear",
        },
    ),
    "hours": ({"open", "closed"}, set()),
    "action": ({"action", "outcomes"}, set()),
    "say": ({"readback", "next"}, {"interruptible"}),
    "transfer": ({"on_timeout"}, {"prompt", "queue", "timeout_s"}),
    "hangup": (set(), {"prompt"}),
}


class _NodeReader:
    """Reads one node's fields, recording problems under the node's name."""

    def __init__(self, node_id: str, raw: Mapping[str, Any], problems: list[str]) -> None:
        self.node_id = node_id
        self.raw = raw
        self.problems = problems

    def problem(self, text: str) -> None:
        self.problems.append(f"node {self.node_id!r}: {text}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or not value:
            self.problem(f"{key!r} must be a non-empty string, got {value!r}")
            return ""
        return value

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if key in self.raw else None

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(f"{key!r} must be a whole number in {low}..{high}, got {value!r}")
            return default
        return value

    def opt_integer(self, key: str, low: int, high: int) -> int | None:
        return self.integer(key, low, low, high) if key in self.raw else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{key!r} must be true or false, got {value!r}")
            return default
        return value

    def keys(self, key: str, default: str) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or any(ch not in KEYS for ch in value):
            self.problem(f"{key!r}: bad key(s) {value!r}; keys are one of {KEYS}")
            return default
        return value


def _parse_choices(
    reader: _NodeReader, field_name: str = "choices", *, required: bool = True
) -> dict[str, Choice]:
    raw = reader.raw.get(field_name)
    if raw is None and not required:
        return {}
    intents = field_name == "intents"
    if not isinstance(raw, dict) or not raw:
        what = "intent names" if intents else "keys"
        reader.problem(f"{field_name!r} must map {what} to node ids")
        return {}
    choices: dict[str, Choice] = {}
    for key, spec in raw.items():
        # YAML reads an unquoted 1 as an int: accept it, it is what the author meant.
        key_s = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
        if intents:
            if key_s not in INTENTS:
                reader.problem(f"unknown intent {key!r} in intents; one of {list(INTENTS)}")
                continue
        elif not isinstance(key_s, str) or len(key_s) != 1 or key_s not in KEYS:
            reader.problem(f"bad digit {key!r} in choices: a choice is one key of {KEYS}")
            continue
        assert isinstance(key_s, str)
        if isinstance(spec, str):
            choices[key_s] = Choice(key=key_s, target=spec)
        elif isinstance(spec, dict) and isinstance(spec.get("to"), str):
            extra = set(spec) - {"to", "set", "label"}
            if extra:
                reader.problem(f"choice {key_s!r}: unknown field(s) {sorted(extra)}")
            sets = spec.get("set", {})
            if not isinstance(sets, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in sets.items()
            ):
                reader.problem(f"choice {key_s!r}: 'set' must map slot names to strings")
                sets = {}
            label = spec.get("label", "")
            if not isinstance(label, str):
                reader.problem(f"choice {key_s!r}: 'label' must be text")
                label = ""
            choices[key_s] = Choice(
                key=key_s,
                target=spec["to"],
                sets=dict(sets),
                label=unicodedata.normalize("NFC", label),
            )
        else:
            reader.problem(f"choice {key_s!r}: expected a node id or {{to: node, set: {{...}}}}")
    return choices


def _parse_node(node_id: str, raw: Any, problems: list[str]) -> Node | None:
    if not isinstance(raw, dict):
        problems.append(f"node {node_id!r}: expected a mapping with a 'type'")
        return None
    kind = raw.get("type")
    if kind not in _FIELDS:
        problems.append(f"node {node_id!r}: unknown type {kind!r}; one of {sorted(_FIELDS)}")
        return None
    required, optional = _FIELDS[kind]
    r = _NodeReader(node_id, raw, problems)
    missing = required - set(raw)
    if missing:
        r.problem(f"missing field(s) {sorted(missing)} for a {kind} node")
        return None
    unknown = set(raw) - required - optional - _COMMON
    if unknown:
        r.problem(f"unknown field(s) {sorted(unknown)} for a {kind} node")
    if kind == "play":
        prompts = raw["prompts"]
        if isinstance(prompts, str):
            prompts = [prompts]
        if (
            not isinstance(prompts, list)
            or not prompts
            or not all(isinstance(p, str) for p in prompts)
        ):
            r.problem("'prompts' must be a prompt id or a list of prompt ids")
            prompts = []
        return PlayNode(
            id=node_id,
            prompts=tuple(prompts),
            next=r.text("next"),
            interruptible=r.flag("interruptible", False),
        )
    if kind == "menu":
        return MenuNode(
            id=node_id,
            prompt=r.text("prompt"),
            choices=_parse_choices(r),
            on_failure=r.text("on_failure"),
            no_input=r.opt_text("no_input"),
            no_match=r.opt_text("no_match"),
            retries=r.integer("retries", 3, 1, 10),
            timeout_ms=r.opt_integer("timeout_ms", 500, 60_000),
        )
    if kind == "ask":
        return _parse_ask(node_id, raw, r)
    if kind == "hours":
        return HoursNode(id=node_id, open=r.text("open"), closed=r.text("closed"))
    if kind == "collect":
        terminator = r.keys("terminator", "#")
        if len(terminator) != 1:
            r.problem("'terminator' must be exactly one key")
        node = CollectNode(
            id=node_id,
            prompt=r.text("prompt"),
            slot=r.text("slot"),
            next=r.text("next"),
            on_failure=r.text("on_failure"),
            min_digits=r.integer("min_digits", 1, 1, 40),
            max_digits=r.integer("max_digits", 20, 1, 40),
            terminator=terminator[:1] or "#",
            no_input=r.opt_text("no_input"),
            retries=r.integer("retries", 3, 1, 10),
            timeout_ms=r.opt_integer("timeout_ms", 500, 60_000),
        )
        if node.min_digits > node.max_digits:
            r.problem(f"min_digits {node.min_digits} > max_digits {node.max_digits}")
        return node
    if kind == "record":
        return RecordNode(
            id=node_id,
            prompt=r.text("prompt"),
            slot=r.text("slot"),
            next=r.text("next"),
            on_empty=r.text("on_empty"),
            max_s=r.opt_integer("max_s", 5, 600),
            silence_s=r.integer("silence_s", 5, 1, 60),
            min_ms=r.integer("min_ms", 1000, 0, 60_000),
            beep=r.flag("beep", True),
            escape=r.keys("escape", "#"),
        )
    if kind == "action":
        try:
            action = Action(raw["action"])
        except ValueError:
            r.problem(f"unknown action {raw['action']!r}; one of {[a.value for a in Action]}")
            return None
        spec = ACTIONS[action]
        outcomes_raw = raw["outcomes"]
        outcomes: dict[ActionOutcome, str] = {}
        if not isinstance(outcomes_raw, dict):
            r.problem("'outcomes' must map outcomes to node ids")
            outcomes_raw = {}
        for name, target in outcomes_raw.items():
            if name not in spec.outcomes:
                allowed = [o.value for o in spec.outcomes]
                r.problem(f"action {action.value} has no outcome {name!r}; outcomes: {allowed}")
            elif not isinstance(target, str):
                r.problem(f"outcome {name!r} must name a node, got {target!r}")
            else:
                outcomes[ActionOutcome(name)] = target
        missing_outcomes = [o.value for o in spec.outcomes if o not in outcomes]
        if missing_outcomes:
            r.problem(f"action {action.value}: missing target for outcome(s) {missing_outcomes}")
        return ActionNode(id=node_id, action=action, outcomes=outcomes)
    if kind == "say":
        return SayNode(
            id=node_id,
            readback=r.text("readback"),
            next=r.text("next"),
            interruptible=r.flag("interruptible", False),
        )
    if kind == "transfer":
        return TransferNode(
            id=node_id,
            on_timeout=r.text("on_timeout"),
            prompt=r.opt_text("prompt"),
            queue=r.opt_text("queue"),
            timeout_s=r.integer("timeout_s", 30, 1, 600),
        )
    return HangupNode(id=node_id, prompt=r.opt_text("prompt"))


def _parse_ask(node_id: str, raw: Mapping[str, Any], r: _NodeReader) -> AskNode:
    try:
        capture = Capture(raw.get("capture", "choice"))
    except ValueError:
        r.problem(f"unknown capture {raw.get('capture')!r}; one of {[c.value for c in Capture]}")
        capture = Capture.CHOICE
    hints_raw = raw.get("hints", [])
    if not isinstance(hints_raw, list) or not all(isinstance(h, str) for h in hints_raw):
        r.problem("'hints' must be a list of words or phrases")
        hints_raw = []
    terminator = r.keys("terminator", "#")
    clear_raw = raw.get("clear", [])
    if not isinstance(clear_raw, list) or not all(isinstance(c, str) for c in clear_raw):
        r.problem("'clear' must be a list of slot names")
        clear_raw = []
    node = AskNode(
        id=node_id,
        prompt=r.text("prompt"),
        fallback=r.text("fallback"),
        on_failure=r.text("on_failure"),
        capture=capture,
        intents=_parse_choices(r, "intents", required=capture is Capture.CHOICE),
        choices=_parse_choices(r, "choices", required=False),
        slot=r.opt_text("slot"),
        next=r.opt_text("next"),
        skip_if=r.opt_text("skip_if"),
        readback=r.opt_text("readback"),
        confirm=r.text("confirm", "confirm"),
        no_input=r.opt_text("no_input"),
        no_match=r.opt_text("no_match"),
        retries=r.integer("retries", 3, 1, 10),
        speech_retries=r.integer("speech_retries", 2, 1, 10),
        min_digits=r.integer("min_digits", 1, 1, 40),
        max_digits=r.integer("max_digits", 20, 1, 40),
        terminator=terminator[:1] or "#",
        timeout_ms=r.opt_integer("timeout_ms", 500, 60_000),
        max_speech_s=r.opt_integer("max_speech_s", 1, 600),
        hints=tuple(unicodedata.normalize("NFC", h) for h in hints_raw),
        clear=tuple(clear_raw),
    )
    if capture is not Capture.CHOICE:
        if node.slot is None or node.next is None:
            r.problem(f"a {capture.value} capture needs 'slot' and 'next'")
    elif node.slot is not None or node.next is not None:
        r.problem("a choice ask goes where its intents/choices say: no 'slot'/'next'")
    if capture in (Capture.DIGITS, Capture.PLACE, Capture.TEXT) and node.intents:
        r.problem(f"a {capture.value} capture takes no 'intents'")
    return node


def _parse_line(rb_id: str, index: int, raw: Any, problems: list[str]) -> ReadbackLine | None:
    where = f"readback {rb_id!r} line {index}"
    when: str | None = None
    if isinstance(raw, dict):
        extra = set(raw) - {"text", "when"}
        if extra:
            problems.append(f"{where}: unknown field(s) {sorted(extra)}")
        when_raw = raw.get("when")
        if when_raw is not None and not isinstance(when_raw, str):
            problems.append(f"{where}: 'when' must name a slot")
        when = when_raw if isinstance(when_raw, str) else None
        raw = raw.get("text")
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f"{where}: expected text or {{when: slot, text: ...}}")
        return None
    text = unicodedata.normalize("NFC", raw.strip())
    parts: list[str | SlotRef] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        slot, _, fmt = match.group(1).partition(":")
        fmt = fmt or "text"
        if not _ID.match(slot) or fmt not in FORMATS:
            problems.append(
                f"{where}: bad placeholder {match.group(0)!r}; use {{slot}} or {{slot:FORMAT}}"
                f" with FORMAT one of {list(FORMATS)}"
            )
        parts.append(SlotRef(slot=slot, fmt=fmt))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    if any(isinstance(p, str) and ("{" in p or "}" in p) for p in parts):
        problems.append(f"{where}: unbalanced brace in {text!r}")
    return ReadbackLine(parts=tuple(parts), when=when)


def _targets(node: Node) -> list[tuple[str, str]]:
    """(what, target node id) for every edge leaving a node."""
    match node:
        case PlayNode() | SayNode():
            return [("next", node.next)]
        case MenuNode():
            edges = [(f"choice {c.key!r}", c.target) for c in node.choices.values()]
            return [*edges, ("on_failure", node.on_failure)]
        case CollectNode():
            return [("next", node.next), ("on_failure", node.on_failure)]
        case RecordNode():
            return [("next", node.next), ("on_empty", node.on_empty)]
        case ActionNode():
            return [(f"outcome {o.value!r}", t) for o, t in node.outcomes.items()]
        case AskNode():
            edges = [(f"intent {c.key!r}", c.target) for c in node.intents.values()]
            edges += [(f"choice {c.key!r}", c.target) for c in node.choices.values()]
            edges += [("fallback", node.fallback), ("on_failure", node.on_failure)]
            return edges + ([("next", node.next)] if node.next else [])
        case HoursNode():
            return [("open", node.open), ("closed", node.closed)]
        case TransferNode():
            return [("on_timeout", node.on_timeout)]
        case HangupNode():
            return []


def _prompts_of(node: Node) -> list[tuple[str, str | None]]:
    match node:
        case PlayNode():
            return [("prompts", p) for p in node.prompts]
        case MenuNode():
            return [
                ("prompt", node.prompt),
                ("no_input", node.no_input),
                ("no_match", node.no_match),
            ]
        case CollectNode():
            return [("prompt", node.prompt), ("no_input", node.no_input)]
        case AskNode():
            return [
                ("prompt", node.prompt),
                ("no_input", node.no_input),
                ("no_match", node.no_match),
            ]
        case RecordNode():
            return [("prompt", node.prompt)]
        case TransferNode() | HangupNode():
            return [("prompt", node.prompt)]
        case ActionNode() | SayNode() | HoursNode():
            return []


#: Prompts the session machine plays by itself (not named by any node).
BUILTIN_PROMPTS = ("reconnect_apology", "shutdown_goodbye")
#: Slots the session machine fills by itself: the confirmation's candidate, the recording of a
#: spoken description, the office hours read to callers.
BUILTIN_SLOTS = ("candidate", "recording", "office_hours")


def parse_flow(data: Any, prompts: Mapping[str, str], *, source: Path) -> Flow:
    """Validate already-read YAML data against the prompts; raise FlowError listing problems."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise FlowError(str(source), ["expected a mapping with 'start' and 'nodes'"])
    unknown = set(data) - {"start", "main", "failure_transfer", "nodes", "readbacks", "labels"}
    if unknown:
        problems.append(f"unknown top-level key(s) {sorted(unknown)}")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise FlowError(str(source), [*problems, "'nodes' must map node ids to nodes"])

    nodes: dict[str, Node] = {}
    for node_id, raw in raw_nodes.items():
        if not isinstance(node_id, str) or not _ID.match(node_id):
            problems.append(f"node id {node_id!r}: use lower_snake_case")
            continue
        node = _parse_node(node_id, raw, problems)
        if node is not None:
            nodes[node_id] = node

    readbacks: dict[str, Readback] = {}
    raw_rbs = data.get("readbacks", {}) or {}
    if not isinstance(raw_rbs, dict):
        problems.append("'readbacks' must map ids to lists of lines")
        raw_rbs = {}
    for rb_id, lines_raw in raw_rbs.items():
        if not isinstance(lines_raw, list) or not lines_raw:
            problems.append(f"readback {rb_id!r}: expected a non-empty list of lines")
            continue
        lines = [_parse_line(rb_id, i, raw, problems) for i, raw in enumerate(lines_raw, 1)]
        readbacks[rb_id] = Readback(id=rb_id, lines=tuple(ln for ln in lines if ln is not None))

    labels: dict[str, dict[str, str]] = {}
    raw_labels = data.get("labels", {}) or {}
    if not isinstance(raw_labels, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
        for v in raw_labels.values()
    ):
        problems.append("'labels' must map slot names to {value: Vietnamese text}")
    else:
        labels = {
            str(k): {str(a): unicodedata.normalize("NFC", b) for a, b in v.items()}
            for k, v in raw_labels.items()
        }

    start = data.get("start")
    main = data.get("main", start)
    failure_transfer = data.get("failure_transfer")
    for key, value in (("start", start), ("main", main), ("failure_transfer", failure_transfer)):
        if value is None and key == "failure_transfer":
            continue
        if not isinstance(value, str) or value not in raw_nodes:
            problems.append(f"{key!r} names unknown node {value!r}")

    # Graph: targets exist, prompts exist, slots are filled before they are read.
    filled: set[str] = set(BUILTIN_SLOTS)
    for node in nodes.values():
        match node:
            case CollectNode() | RecordNode():
                filled.add(node.slot)
            case MenuNode():
                for choice in node.choices.values():
                    filled.update(choice.sets)
            case AskNode():
                if node.slot:
                    filled.add(node.slot)
                for choice in (*node.choices.values(), *node.intents.values()):
                    filled.update(choice.sets)
                if "complaint" in node.intents:
                    filled.add("category")  # taken from the first utterance when said
            case ActionNode():
                filled.update(ACTIONS[node.action].outputs)
            case _:
                pass
    for node in nodes.values():
        for what, target in _targets(node):
            if target and target not in raw_nodes:
                problems.append(f"node {node.id!r}: {what} goes to missing target {target!r}")
        for what, prompt in _prompts_of(node):
            if prompt is not None and prompt and prompt not in prompts:
                problems.append(f"node {node.id!r}: {what} names unknown prompt {prompt!r}")
        if isinstance(node, SayNode) and node.readback and node.readback not in readbacks:
            problems.append(f"node {node.id!r}: unknown readback {node.readback!r}")
        if isinstance(node, AskNode):
            for what, rb_name in (("readback", node.readback), ("confirm", node.confirm)):
                if rb_name is not None and rb_name not in readbacks:
                    problems.append(f"node {node.id!r}: {what} names unknown readback {rb_name!r}")
            # Without voice an ask node is its fallback: the chain must end at a keypad node.
            seen_chain = [node.id]
            hop: Node | None = node
            while isinstance(hop, AskNode) and hop.fallback in nodes:
                if hop.fallback in seen_chain:
                    chain = " -> ".join([*seen_chain, hop.fallback])
                    problems.append(
                        f"node {node.id!r}: fallbacks loop without a keypad node: {chain}"
                    )
                    break
                seen_chain.append(hop.fallback)
                hop = nodes.get(hop.fallback)
        if isinstance(node, ActionNode):
            for slot in ACTIONS[node.action].inputs:
                if slot not in filled:
                    problems.append(
                        f"node {node.id!r}: action {node.action.value} reads slot {slot!r}, "
                        "which no node fills"
                    )
    for rb in readbacks.values():
        for index, line in enumerate(rb.lines, 1):
            slots = [p.slot for p in line.parts if isinstance(p, SlotRef)]
            if line.when:
                slots.append(line.when)
            for slot in slots:
                if slot not in filled:
                    problems.append(
                        f"readback {rb.id!r} line {index}: slot {slot!r} is filled by no node"
                    )
            for part in line.parts:
                if isinstance(part, SlotRef) and part.fmt == "label" and part.slot not in labels:
                    problems.append(
                        f"readback {rb.id!r} line {index}: {{{part.slot}:label}} has no "
                        f"'labels.{part.slot}' table"
                    )
    for pid in BUILTIN_PROMPTS:
        if pid not in prompts:
            problems.append(f"prompt {pid!r} is required by the call machine but missing")

    if isinstance(start, str) and start in nodes:
        roots = [r for r in (start, main, failure_transfer) if isinstance(r, str) and r in nodes]
        seen = set(roots)
        todo = list(roots)
        while todo:
            for _, target in _targets(nodes[todo.pop()]):
                if target in nodes and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for node_id in nodes:
            if node_id not in seen:
                problems.append(f"node {node_id!r} is unreachable from start {start!r}")

    if problems:
        raise FlowError(str(source), problems)
    assert isinstance(start, str) and isinstance(main, str)
    return Flow(
        source=source,
        start=start,
        nodes=nodes,
        readbacks=readbacks,
        prompts=dict(prompts),
        main=main,
        failure_transfer=failure_transfer if isinstance(failure_transfer, str) else None,
        labels=labels,
    )
