"""The agent phone's sipp scenario (ivr/sipp/agent.py): well-formed, answers with μ-law, and
either waits for the far end's BYE or sends its own with the dialog's ends swapped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr.sipp.agent import AgentSpec, AnsweringAgent, agent_scenario


def moves(xml: str) -> list[str]:
    root = ET.fromstring(xml.split("?>", 1)[1])
    out = []
    for element in root:
        what = element.get("request") or element.get("response") or ""
        if element.tag == "send":
            what = (element.text or "").strip().splitlines()[0].split(" [", 1)[0]
        out.append(f"{element.tag} {what}".strip())
    return out


def test_the_phone_rings_answers_and_waits_for_the_bye() -> None:
    xml = agent_scenario()
    assert moves(xml) == [
        "recv INVITE",
        "send SIP/2.0 180 Ringing",
        "pause",
        "send SIP/2.0 200 OK",
        "recv ACK",
        "recv BYE",
        "send SIP/2.0 200 OK",
    ]
    assert "m=audio [media_port] RTP/AVP 0 101" in xml
    assert "[$" not in xml  # no captured variable: sipp refuses unused ones


def test_the_phone_hanging_up_first_swaps_the_dialog_ends() -> None:
    xml = agent_scenario(hangup_after_s=2.5)
    assert moves(xml)[-3:] == ["pause", "send BYE", "recv 200"]
    assert '<pause milliseconds="2500"/>' in xml
    assert "From: [$near];tag=[pid]SIPpAgent[call_number]" in xml
    assert "To: [$far]" in xml
    assert 'assign_to="far"' in xml and 'assign_to="near"' in xml


def test_the_command_listens_on_loopback_at_the_phone_port(tmp_path: Path) -> None:
    agent = AnsweringAgent(AgentSpec(port=25071, ring_s=0.5, log_dir=tmp_path), sipp="sipp")
    command = agent.command(media_port=26000)

    def value(flag: str) -> str:
        return command[command.index(flag) + 1]

    assert value("-i") == "127.0.0.1" and value("-mi") == "127.0.0.1"
    assert value("-p") == "25071" and value("-mp") == "26000"
    assert value("-m") == "1" and value("-d") == "500"
    assert "-rtp_echo" in command


@pytest.mark.parametrize("fields", [{"port": 80}, {"port": 25071, "ring_s": -1.0}])
def test_bad_agent_specs_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="AgentSpec"):
        AgentSpec(**fields)  # type: ignore[arg-type]
