"""Toll-fraud check of a dialplan: no context a caller can reach may dial out.

Strategy: parse extensions.conf into contexts and their lines (pure, no I/O), then walk every
context reachable from the roots — the `context =` of each pjsip endpoint plus the contexts our
controller sends calls to (`hotline-queue`) — through `include =>`, template parents, and every
jump application (Goto, GotoIf, GotoIfTime, Gosub, GosubIf, ChannelRedirect). In each reachable
context it refuses Dial and its relatives (Originate, System, TrySystem, Page, FollowMe,
RetryDial), the same hidden behind Exec/TryExec/ExecIf, the SHELL() function, AGI scripts other
than our `agi:async`, switches, `#include`/`#exec`, and any jump or Exec whose target is only
known at run time (`${...}`): what cannot be proven safe is refused. An unreachable context is
not judged (the controller never sends a caller there, and app_dial is not loaded anyway).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.pbx.errors import DialplanError

CONTROLLER_CONTEXTS = ("hotline-queue",)
DIAL_APPS = frozenset(
    {"dial", "originate", "system", "trysystem", "page", "followme", "retrydial", "dialplanadd"}
)
EXEC_APPS = frozenset({"exec", "tryexec"})
AGI_APPS = frozenset({"agi", "eagi", "deadagi"})
JUMP_APPS = frozenset({"goto", "gotoif", "gotoiftime", "gosub", "gosubif", "channelredirect"})
_NON_CONTEXT_SECTIONS = frozenset({"general", "globals"})
_SECTION = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?\s*$")
_KEY = re.compile(r"^(exten|same|include|switch|lswitch|eswitch|ignorepat)\s*=>?\s*(.*)$", re.I)


@dataclass(frozen=True)
class Finding:
    """One reason the dialplan is unsafe, located in the file."""

    context: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"extensions.conf:{self.line} [{self.context}]: {self.message}"


@dataclass(frozen=True)
class Step:
    """One `exten =>`/`same =>` priority: the application and its raw argument text."""

    line: int
    app: str
    args: str


@dataclass
class Context:
    name: str
    line: int
    parents: list[str] = field(default_factory=list)
    includes: list[tuple[int, str]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # found while parsing (#exec, switch)


def _strip_comment(line: str) -> str:
    out: list[str] = []
    escaped = False
    for char in line:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == ";":
            break
        else:
            out.append(char)
    return "".join(out).strip()


def split_top(text: str, separator: str, limit: int = -1) -> list[str]:
    """Split at `separator` outside (), [] and {} (Asterisk nests $[...] and ${...})."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        if char == separator and depth == 0 and (limit < 0 or len(parts) < limit):
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _app_and_args(text: str) -> tuple[str, str]:
    """`Goto(a,b,1)` -> ("Goto", "a,b,1"); `Answer` -> ("Answer", "")."""
    text = text.strip()
    paren = text.find("(")
    comma = text.find(",")
    if paren >= 0 and (comma < 0 or paren < comma):
        inner = text[paren + 1 :]
        if inner.endswith(")"):
            inner = inner[:-1]
        return text[:paren].strip(), inner
    if comma >= 0:
        return text[:comma].strip(), text[comma + 1 :]
    return text, ""


def parse_dialplan(text: str) -> dict[str, Context]:
    """Contexts of an extensions.conf text by name (templates included, [general]/[globals] not)."""
    contexts: dict[str, Context] = {}
    current: Context | None = None
    orphans = Context(name="(before any context)", line=0)
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("#"):
            target = current or orphans
            target.findings.append(
                Finding(target.name, number, f"{line.split()[0]} cannot be verified; inline it")
            )
            continue
        section = _SECTION.match(line)
        if section:
            name = section.group(1).strip()
            if name.lower() in _NON_CONTEXT_SECTIONS:
                current = None
                continue
            options = [o.strip() for o in (section.group(2) or "").split(",") if o.strip()]
            current = contexts.setdefault(name, Context(name=name, line=number))
            current.parents.extend(o for o in options if o not in ("!", "+"))
            continue
        if current is None:
            continue
        key = _KEY.match(line)
        if not key:
            continue
        kind, value = key.group(1).lower(), key.group(2).strip()
        if kind == "include":
            current.includes.append((number, split_top(value, ",")[0].strip()))
        elif kind.endswith("switch"):
            current.findings.append(
                Finding(current.name, number, f"{kind} => {value}: a switch can reach anything")
            )
        elif kind == "exten":
            fields = split_top(value, ",", limit=2)
            if len(fields) == 3:
                current.steps.append(Step(number, *_app_and_args(fields[2])))
        elif kind == "same":
            fields = split_top(value, ",", limit=1)
            if len(fields) == 2:
                current.steps.append(Step(number, *_app_and_args(fields[1])))
    if orphans.findings:
        contexts[orphans.name] = orphans
    return contexts


def endpoint_contexts(pjsip_text: str) -> set[str]:
    """The `context =` of every `type = endpoint` section of a pjsip.conf text."""
    found: set[str] = set()
    section: dict[str, str] = {}

    def flush() -> None:
        if section.get("type") == "endpoint":
            found.add(section.get("context", "default"))

    for raw in pjsip_text.splitlines():
        line = _strip_comment(raw)
        if _SECTION.match(line):
            flush()
            section = {}
        elif "=" in line:
            key, _, value = line.partition("=")
            section[key.strip().lower()] = value.lstrip(">").strip()
    flush()
    return found


def _jump_targets(step: Step, here: str) -> list[str]:
    """Contexts a jump application may send the call to ('$' = only known at run time)."""
    app = step.app.lower()
    if app == "channelredirect":
        parts = split_top(step.args, ",")
        return [parts[1].strip()] if len(parts) >= 4 else []
    labels = [step.args]
    if app in ("gotoif", "gosubif", "gotoiftime"):
        branches = split_top(step.args, "?", limit=1)
        labels = split_top(branches[1], ":", limit=1) if len(branches) == 2 else []
    targets: list[str] = []
    for label in labels:
        parts = [p.strip() for p in split_top(label, ",")]
        if len(parts) >= 3:
            targets.append(parts[0])
        elif label.strip():
            targets.append(here)
    return targets


def _exec_inner(step: Step) -> list[str]:
    """The applications run by Exec(App(args)) / TryExec(...) / ExecIf(cond?A(x):B(y))."""
    app = step.app.lower()
    if app in EXEC_APPS:
        return [_app_and_args(step.args)[0]]
    if app == "execif":
        branches = split_top(step.args, "?", limit=1)
        if len(branches) != 2:
            return []
        return [_app_and_args(b)[0] for b in split_top(branches[1], ":", limit=1) if b.strip()]
    return []


def _judge(step: Step, context: str) -> list[Finding]:
    app = step.app.lower()
    found: list[Finding] = []

    def bad(message: str) -> None:
        found.append(Finding(context, step.line, message))

    if app in DIAL_APPS:
        bad(f"{step.app}() is reachable by a caller (toll fraud)")
    for inner in _exec_inner(step):
        if "$" in inner:
            bad(f"{step.app}() runs an application only known at run time ({inner})")
        elif inner.lower() in DIAL_APPS | EXEC_APPS:
            bad(f"{step.app}() runs {inner}() (toll fraud)")
    if re.search(r"\bSHELL\s*\(", step.args, re.I):
        bad(f"{step.app}() calls the SHELL() function")
    if app in AGI_APPS and split_top(step.args, ",")[0].strip() != "agi:async":
        bad(f"{step.app}({step.args}): only AGI(agi:async), our controller, is allowed")
    return found


def check_dialplan(text: str, roots: Iterable[str]) -> tuple[list[Finding], set[str]]:
    """Findings in every context reachable from `roots`, and the set of reachable contexts."""
    contexts = parse_dialplan(text)
    findings: list[Finding] = []
    if "(before any context)" in contexts:
        findings.extend(contexts["(before any context)"].findings)
    seen: set[str] = set()
    queue: deque[tuple[str, str, int]] = deque((root, "(root)", 0) for root in roots)
    while queue:
        name, source, line = queue.popleft()
        if name in seen:
            continue
        if "$" in name:
            findings.append(Finding(source, line, f"jump to a context known at run time: {name}"))
            continue
        context = contexts.get(name)
        if context is None:
            findings.append(Finding(source, line, f"reaches undefined context {name!r}"))
            continue
        seen.add(name)
        findings.extend(context.findings)
        queue.extend((parent, name, context.line) for parent in context.parents)
        queue.extend((target, name, number) for number, target in context.includes)
        for step in context.steps:
            findings.extend(_judge(step, name))
            if step.app.lower() in JUMP_APPS:
                queue.extend((t, name, step.line) for t in _jump_targets(step, name))
    return findings, seen


def assert_safe(extensions_conf: str, pjsip_conf: str) -> set[str]:
    """Raise DialplanError listing every finding; return the reachable contexts when safe."""
    roots = sorted(endpoint_contexts(pjsip_conf)) + list(CONTROLLER_CONTEXTS)
    findings, reachable = check_dialplan(extensions_conf, roots)
    if findings:
        raise DialplanError(
            "dialplan refused, a caller could reach:\n" + "\n".join(f"  {f}" for f in findings)
        )
    return reachable
