"""sipp UAC scenario XML for one caller: INVITE with SDP, ACK, input, BYE (pure text generation).

Strategy: a call is a list of moves (`Wait`, `PlayPcap`, `SendInfo`) rendered between a fixed
head (INVITE, provisional responses, refusals, 200 OK, ACK) and a fixed tail (our BYE, or the
far end's BYE answered with 200 OK). Every wait is a `<recv request="BYE" timeout=…>` rather
than a `<pause>`, so a BYE from the far end at any moment ends the call cleanly instead of
being an "unexpected message" that aborts it. A refusal (4xx/5xx/6xx) is acknowledged with a
non-2xx ACK in the INVITE transaction (same Via branch, RFC 3261 17.1.1.3) and ends the call.

The SDP offers PCMU and telephone-event on payload type 101 (`RTP/AVP 0 101`), the shape the
Asterisk endpoint expects for RFC 4733 DTMF (pjsip.conf `dtmf_mode = rfc4733`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ivr.sipp.errors import ScenarioError
from ivr.sipp.rtp import PT_TELEPHONE_EVENT

# Final responses to INVITE that mean "refused"; anything else unexpected aborts the call in
# sipp and shows up in its error log.
REFUSAL_CODES: tuple[int, ...] = (
    380, 400, 401, 403, 404, 405, 407, 408, 410, 413, 414, 415, 416, 420, 421, 423, 480, 481,
    482, 483, 484, 485, 486, 487, 488, 491, 493, 500, 501, 502, 503, 504, 505, 513, 580, 600,
    603, 604, 606,
)  # fmt: skip

RETRANS_MS = 500  # UDP retransmission timer T1 for our requests


@dataclass(frozen=True, slots=True)
class Wait:
    """Wait this long; a BYE from the far end meanwhile ends the call."""

    ms: int


@dataclass(frozen=True, slots=True)
class PlayPcap:
    """Start playing a pcap of RTP (absolute path), then wait for its duration."""

    path: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class SendInfo:
    """One key press as SIP INFO (application/dtmf-relay), waiting for its 200 OK."""

    key: str
    duration_ms: int


Move = Wait | PlayPcap | SendInfo


@dataclass(frozen=True, slots=True)
class ScenarioPlan:
    caller_id: str
    moves: tuple[Move, ...]
    hangup_after_ms: int | None  # None: wait for the far end's BYE ...
    max_wait_ms: int  # ... at most this long, then hang up ourselves
    name: str = "hotline caller"


_CDATA_END = "]]>"


def _cdata(text: str) -> str:
    if _CDATA_END in text:
        raise ScenarioError(f"SIP message text contains {_CDATA_END!r}")
    return f"<![CDATA[\n{text.strip(chr(10))}\n]]>"


def _from(caller: str) -> str:
    return (
        f'From: "{caller}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]'
    )


def _request_head(method: str, cseq: int, caller: str) -> str:
    return "\n".join(
        [
            f"{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
            "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
            _from(caller),
            "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]",
            "Call-ID: [call_id]",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{caller}@[local_ip]:[local_port];transport=[transport]>",
            "Max-Forwards: 70",
            "User-Agent: hotline-caller (sipp)",
        ]
    )


def _invite(caller: str) -> str:
    sdp = "\n".join(
        [
            "v=0",
            "o=hotline 53655765 2353687637 IN IP[local_ip_type] [local_ip]",
            "s=hotline-caller",
            "c=IN IP[media_ip_type] [media_ip]",
            "t=0 0",
            f"m=audio [media_port] RTP/AVP 0 {PT_TELEPHONE_EVENT}",
            "a=rtpmap:0 PCMU/8000",
            f"a=rtpmap:{PT_TELEPHONE_EVENT} telephone-event/8000",
            f"a=fmtp:{PT_TELEPHONE_EVENT} 0-15",
            "a=ptime:20",
            "a=sendrecv",
        ]
    )
    head = _request_head("INVITE", 1, caller).replace(
        "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]",
        "To: <sip:[service]@[remote_ip]:[remote_port]>",
    )
    return f"{head}\nContent-Type: application/sdp\nContent-Length: [len]\n\n{sdp}\n"


def _ack_2xx(caller: str) -> str:
    return _request_head("ACK", 1, caller) + "\nContent-Length: 0\n"


def _ack_refusal(caller: str) -> str:
    # RFC 3261 17.1.1.3: the ACK for a non-2xx final response belongs to the INVITE
    # transaction: same Via (branch), From, Call-ID and request URI; To with the response tag.
    return "\n".join(
        [
            "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
            "[last_Via:]",
            "[last_From:]",
            "[last_To:]",
            "[last_Call-ID:]",
            "CSeq: 1 ACK",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
    )


def _info(caller: str, cseq: int, key: str, duration_ms: int) -> str:
    body = f"Signal={key}\nDuration={duration_ms}\n"
    return (
        _request_head("INFO", cseq, caller)
        + "\nContent-Type: application/dtmf-relay\nContent-Length: [len]\n\n"
        + body
    )


def _bye(caller: str, cseq: int) -> str:
    return _request_head("BYE", cseq, caller) + "\nContent-Length: 0\n"


def _ok_to_bye() -> str:
    return "\n".join(
        [
            "SIP/2.0 200 OK",
            "[last_Via:]",
            "[last_From:]",
            "[last_To:]",
            "[last_Call-ID:]",
            "[last_CSeq:]",
            "Contact: <sip:[local_ip]:[local_port];transport=[transport]>",
            "Content-Length: 0",
        ]
    )


def _check_moves(moves: Sequence[Move]) -> None:
    for move in moves:
        if isinstance(move, Wait | PlayPcap):
            ms = move.ms if isinstance(move, Wait) else move.duration_ms
            if ms < 0:
                raise ScenarioError(f"{move!r} has a negative duration")
        if isinstance(move, PlayPcap) and ('"' in move.path or "<" in move.path):
            raise ScenarioError(f"pcap path {move.path!r} cannot be quoted in XML")


def build_scenario(plan: ScenarioPlan) -> str:
    """The scenario XML (UTF-8 text) for sipp -sf."""
    _check_moves(plan.moves)
    caller = plan.caller_id
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<scenario name="{plan.name}">',
        f'  <send retrans="{RETRANS_MS}">{_cdata(_invite(caller))}</send>',
        '  <recv response="100" optional="true"/>',
        '  <recv response="180" optional="true"/>',
        '  <recv response="183" optional="true"/>',
    ]
    out += [f'  <recv response="{code}" optional="true" next="refused"/>' for code in REFUSAL_CODES]
    out += [
        '  <recv response="200" rtd="true"/>',
        f"  <send>{_cdata(_ack_2xx(caller))}</send>",
    ]
    cseq = 2
    label = 0

    def wait(ms: int) -> None:
        nonlocal label
        if ms <= 0:
            return
        label += 1
        out.append(f'  <recv request="BYE" timeout="{ms}" ontimeout="w{label}" next="remote_bye"/>')
        out.append(f'  <label id="w{label}"/>')

    for move in plan.moves:
        if isinstance(move, Wait):
            wait(move.ms)
        elif isinstance(move, PlayPcap):
            out.append(f'  <nop><action><exec play_pcap_audio="{move.path}"/></action></nop>')
            wait(move.duration_ms)
        else:
            out.append(f"  <send>{_cdata(_info(caller, cseq, move.key, move.duration_ms))}</send>")
            out.append('  <recv response="200"/>')
            cseq += 1

    if plan.hangup_after_ms is not None:
        out.append(
            f'  <recv request="BYE" timeout="{max(plan.hangup_after_ms, 1)}"'
            ' ontimeout="local_bye" next="remote_bye"/>'
        )
    else:
        out.append(
            f'  <recv request="BYE" timeout="{max(plan.max_wait_ms, 1)}"'
            ' ontimeout="local_bye" next="remote_bye"/>'
        )
    out += [
        '  <label id="local_bye"/>',
        f'  <send retrans="{RETRANS_MS}">{_cdata(_bye(caller, cseq))}</send>',
        '  <recv response="200" crlf="true" next="end"/>',
        '  <label id="remote_bye"/>',
        f'  <send next="end">{_cdata(_ok_to_bye())}</send>',
        '  <label id="refused"/>',
        f"  <send>{_cdata(_ack_refusal(caller))}</send>",
        '  <label id="end"/>',
        '  <nop><action><log message="call [call_id] done"/></action></nop>',
        '  <ResponseTimeRepartition value="10, 20, 50, 100, 200, 500, 1000"/>',
        '  <CallLengthRepartition value="1000, 5000, 10000, 30000, 60000"/>',
        "</scenario>",
    ]
    return "\n".join(out) + "\n"
