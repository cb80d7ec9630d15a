"""The toll-fraud checker: our dialplan passes; every way of reaching a Dial is caught."""

from __future__ import annotations

import pytest

from ivr.pbx.dialplan_check import (
    assert_safe,
    check_dialplan,
    endpoint_contexts,
    parse_dialplan,
    split_top,
)
from ivr.pbx.errors import DialplanError
from ivr.pbx.render import render_all
from tests.unit.test_pbx_render import make_config

SAFE_IN = """
[hotline-in]
exten => 19009120,1,Answer()
 same => n,AGI(agi:async)
 same => n,Hangup()
"""


def findings_of(text: str, roots: tuple[str, ...] = ("hotline-in",)) -> list[str]:
    found, _ = check_dialplan(text, roots)
    return [str(f) for f in found]


def test_our_rendered_dialplan_is_safe_and_reaches_exactly_in_and_queue() -> None:
    rendered = render_all(make_config())
    reachable = assert_safe(rendered["extensions.conf"], rendered["pjsip.conf"])
    assert reachable == {"hotline-in", "hotline-queue"}


def test_endpoint_contexts_come_from_pjsip_endpoints_only() -> None:
    pjsip = """
[transport-udp]
type = transport
[caller]
type = endpoint
context = hotline-in ; comment
[caller]
type = identify
context = not-an-endpoint
[trunk]
type=endpoint
context=from-trunk
"""
    assert endpoint_contexts(pjsip) == {"hotline-in", "from-trunk"}


BROKEN = {
    "dial in the entry context": (
        SAFE_IN + "exten => 1,1,Dial(PJSIP/provider/0912345678)\n",
        "Dial() is reachable",
    ),
    "dial behind an include": (
        SAFE_IN + "include => outbound\n[outbound]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@trunk)\n",
        "[outbound]: Dial() is reachable",
    ),
    "originate behind a Goto": (
        SAFE_IN
        + " same => n,Goto(other,s,1)\n[other]\nexten => s,1,Originate(PJSIP/x,exten,a,s,1)\n",
        "[other]: Originate() is reachable",
    ),
    "system behind the false branch of a GotoIf": (
        SAFE_IN
        + ' same => n,GotoIf($["${X}" = "1"]?ok,s,1:evil,s,1)\n'
        + "[ok]\nexten => s,1,Hangup()\n[evil]\nexten => s,1,System(curl x)\n",
        "[evil]: System() is reachable",
    ),
    "trysystem in a Gosub routine with arguments": (
        SAFE_IN + " same => n,Gosub(sub-x,s,1(a,b))\n[sub-x]\nexten => s,1,TrySystem(rm -rf /)\n"
        " same => n,Return()\n",
        "[sub-x]: TrySystem() is reachable",
    ),
    "dial hidden in ExecIf": (
        SAFE_IN + " same => n,ExecIf($[1]?Dial(PJSIP/x):NoOp())\n",
        "ExecIf() runs Dial()",
    ),
    "exec of a run-time application": (
        SAFE_IN + " same => n,Exec(${APP}(${ARGS}))\n",
        "only known at run time",
    ),
    "goto a run-time context": (
        SAFE_IN + " same => n,Goto(${CALLERID(num)},s,1)\n",
        "context known at run time",
    ),
    "dial inherited from a template": (
        "[dialer](!)\nexten => _X.,1,Dial(PJSIP/${EXTEN})\n[hotline-in](dialer)\n"
        "exten => 19009120,1,Answer()\n",
        "[dialer]: Dial() is reachable",
    ),
    "switch": (SAFE_IN + "switch => Loopback/outbound\n", "switch can reach anything"),
    "#exec": ("#exec /usr/local/bin/make-dialplan\n" + SAFE_IN, "#exec cannot be verified"),
    "#include": (SAFE_IN + '#include "more.conf"\n', "#include cannot be verified"),
    "shell function": (SAFE_IN + " same => n,Set(X=${SHELL(id)})\n", "SHELL() function"),
    "fastagi script": (SAFE_IN + " same => n,AGI(agi://evil.example/x)\n", "only AGI(agi:async)"),
    "goto an undefined context": (SAFE_IN + " same => n,Goto(nowhere,s,1)\n", "undefined context"),
    "channelredirect to a dialing context": (
        SAFE_IN + " same => n,ChannelRedirect(${CHANNEL},out,s,1)\n[out]\nexten => s,1,Page(x)\n",
        "[out]: Page() is reachable",
    ),
    "old comma syntax": (SAFE_IN + "exten => 2,1,Dial,PJSIP/x\n", "Dial() is reachable"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_every_broken_dialplan_is_refused(case: str) -> None:
    text, expected = BROKEN[case]
    found = findings_of(text)
    assert any(expected in f for f in found), found


def test_assert_safe_lists_every_finding() -> None:
    text = SAFE_IN + "exten => 1,1,Dial(PJSIP/a)\nexten => 2,1,System(x)\n"
    pjsip = "[c]\ntype = endpoint\ncontext = hotline-in\n"
    with pytest.raises(DialplanError) as caught:
        assert_safe(text + "[hotline-queue]\nexten => s,1,Queue(q)\n", pjsip)
    assert "Dial()" in str(caught.value) and "System()" in str(caught.value)


def test_an_unreachable_dialing_context_is_not_judged() -> None:
    text = SAFE_IN + "[lab-only]\nexten => 1,1,Dial(PJSIP/lab)\n"
    found, reachable = check_dialplan(text, ["hotline-in"])
    assert found == []
    assert reachable == {"hotline-in"}


def test_comments_and_escaped_semicolons() -> None:
    text = SAFE_IN + "; exten => 1,1,Dial(PJSIP/x)\n same => n,NoOp(a\\;Dial(b)) ; Dial(c)\n"
    assert findings_of(text) == []
    steps = parse_dialplan(text)["hotline-in"].steps
    assert [s.app for s in steps] == ["Answer", "AGI", "Hangup", "NoOp"]


def test_split_top_respects_nesting() -> None:
    assert split_top('$["${A}" = "1"]?x,s,1:y,s,1', "?", limit=1) == [
        '$["${A}" = "1"]',
        "x,s,1:y,s,1",
    ]
    assert split_top("sub,s,1(a,b)", ",") == ["sub", "s", "1(a,b)"]
