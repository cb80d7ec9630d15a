"""The sipp caller (contract 4): place real SIP calls into the PBX and report what happened.

Public API::

    report = await place_call(CallSpec(sip_port=5060, number="19009120", dtmf="1"))
    report = await place_call(CallSpec(script=[Pause(3), Speech(wav), Pause(4), Keys("1")]))
    report.answered, report.final_status, report.hung_up_by, report.steps, report.exit_code

    load = await run_load(LoadSpec(CallSpec(...), calls=300, rate_per_s=10))

Pure parts (scenario XML, RTP/RFC 4733 packets, pcap files, trace parsing) live in
`scenario`, `rtp`, `media`, `pcap`, `report`; `runner` runs sipp and `capture` records the
audio the PBX sends back.
"""

from ivr.sipp.errors import (
    MediaError,
    PcapFormatError,
    ScenarioError,
    SippError,
    SippNotFoundError,
    SippRunError,
)
from ivr.sipp.report import CallReport, Direction, HangupParty, SipStep
from ivr.sipp.runner import LoadReport, find_sipp, free_udp_port, place_call, run_load
from ivr.sipp.script import Keys, Pause, Speech, Step
from ivr.sipp.spec import CallSpec, DtmfMode, LoadSpec

__all__ = [
    "CallReport",
    "CallSpec",
    "Direction",
    "DtmfMode",
    "HangupParty",
    "Keys",
    "LoadReport",
    "LoadSpec",
    "MediaError",
    "Pause",
    "PcapFormatError",
    "ScenarioError",
    "SipStep",
    "SippError",
    "SippNotFoundError",
    "SippRunError",
    "Speech",
    "Step",
    "find_sipp",
    "free_udp_port",
    "place_call",
    "run_load",
]
