"""Agents' phones in the PBX config (HOTLINE_AGENT_PHONES): parsed, validated, rendered as
loopback endpoints with static contacts, and the dialplan stays safe (no new reachable context)."""

from __future__ import annotations

import pytest

from ivr.pbx.config import AgentPhone, parse_agent_phones
from ivr.pbx.dialplan_check import assert_safe, endpoint_contexts
from ivr.pbx.errors import PbxConfigError
from ivr.pbx.freeports import pick_ports
from ivr.pbx.render import render_all
from tests.unit.test_pbx_render import make_config, sections

PHONES = (AgentPhone("agent-101", 25071), AgentPhone("agent-102", 25072))


def test_agent_phones_are_parsed_from_the_setting() -> None:
    assert parse_agent_phones("") == ()
    assert parse_agent_phones(" agent-101@25071, agent-102@25072 ,") == PHONES
    assert PHONES[0].interface == "PJSIP/agent-101"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agent-101", "NAME@PORT"),
        ("agent-101@x", "NAME@PORT"),
        ("agent;101@25071", r"use \[A-Za-z0-9_-\]"),
        ("hotline-caller@25071", "reserved section"),
        ("agent-101@80", "not in 1024..65535"),
    ],
)
def test_bad_agent_phones_are_refused(text: str, message: str) -> None:
    with pytest.raises(PbxConfigError, match=message):
        parse_agent_phones(text)


@pytest.mark.parametrize(
    "phones",
    [
        (AgentPhone("a", 25071), AgentPhone("a", 25072)),  # same name
        (AgentPhone("a", 25071), AgentPhone("b", 25071)),  # same port
        (AgentPhone("a", 25060),),  # the SIP port
        (AgentPhone("a", 25150),),  # inside the RTP range
    ],
)
def test_agent_phones_clashing_with_each_other_or_the_pbx_are_refused(
    phones: tuple[AgentPhone, ...],
) -> None:
    with pytest.raises(PbxConfigError, match="agent phone"):
        make_config(agent_phones=phones)


def test_agent_phones_render_as_loopback_endpoints_with_static_contacts() -> None:
    rendered = render_all(make_config(agent_phones=PHONES))
    pjsip = rendered["pjsip.conf"]
    assert "contact = sip:agent-101@127.0.0.1:25071" in pjsip
    assert "contact = sip:agent-102@127.0.0.1:25072" in pjsip
    assert "0.0.0.0" not in pjsip
    parsed = sections(pjsip)
    assert parsed["agent-101"]["type"] == ["endpoint", "aor"]
    assert parsed["agent-101"]["transport"] == ["transport-udp"]
    assert "auth" not in parsed["agent-101"] and "outbound_auth" not in parsed["agent-101"]
    # an agent's endpoint reaches only what any caller reaches: the dialplan check still passes
    assert endpoint_contexts(pjsip) == {"hotline-in"}
    assert assert_safe(rendered["extensions.conf"], pjsip) == {"hotline-in", "hotline-queue"}
    # membership is dynamic (AMI QueueAdd): the queue lists no static member
    assert "member" not in sections(rendered["queues.conf"])["hotline-agents"]


def test_without_agent_phones_pjsip_has_no_agent_section() -> None:
    pjsip = render_all(make_config())["pjsip.conf"]
    assert "(none configured: HOTLINE_AGENT_PHONES)" in pjsip
    assert set(sections(pjsip)) == {"", "global", "transport-udp", "hotline-caller"}


def test_pick_ports_adds_free_single_ports_for_agent_phones() -> None:
    plan = pick_ports(extra=2)
    singles = [plan.ami_port, plan.sip_port, plan.audiosocket_port, *plan.extra]
    assert len(plan.extra) == 2 and len(set(singles)) == 5
    assert not any(plan.rtp_start <= p <= plan.rtp_end for p in singles)
