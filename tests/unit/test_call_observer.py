"""What `hotline call` prints of the AMI events of its own call (and only of its own call)."""

from __future__ import annotations

from hotline.commands.call import _describe_event
from ivr.ami.events import Event, Headers, make_event


def ev(name: str, **headers: str) -> Event:
    return make_event(name, Headers(tuple(headers.items())))


def test_only_the_callers_own_channel_is_described() -> None:
    channels: set[str] = set()
    other = ev("Newchannel", Channel="PJSIP/x-2", CallerIDNum="0900000000")
    assert _describe_event(other, channels, "0912345678") is None
    mine = ev(
        "Newchannel",
        Channel="PJSIP/x-1",
        CallerIDNum="0912345678",
        Context="hotline-in",
        Exten="19009120",
    )
    assert _describe_event(mine, channels, "0912345678") == (
        "channel PJSIP/x-1 created in hotline-in/19009120"
    )
    assert _describe_event(ev("Hangup", Channel="PJSIP/x-2", Cause="16"), channels, "") is None


def test_prompts_listening_turns_keys_and_the_real_hangup_cause() -> None:
    channels = {"PJSIP/x-1"}
    lines = [
        _describe_event(ev(name, Channel="PJSIP/x-1", **h), channels, "0912345678")
        for name, h in [
            ("AGIExecStart", {"Command": 'STREAM FILE /var/lib/hotline/prompts/welcome ""'}),
            ("AGIExecStart", {"Command": "EXEC AudioSocket 5af2,127.0.0.1:9092"}),
            ("DTMFEnd", {"Digit": "1", "DurationMs": "250", "Direction": "Received"}),
            ("DTMFEnd", {"Digit": "1", "DurationMs": "250", "Direction": "Sent"}),
            ("SoftHangupRequest", {"Cause": "16"}),
            ("Hangup", {"Cause": "0", "Cause-txt": "Unknown"}),
        ]
    ]
    assert lines == [
        "plays prompt welcome",
        "listens: prompt streamed over AudioSocket, speech or keys (barge-in)",
        "Asterisk received key 1 (250 ms)",
        None,
        "hang-up requested: cause 16",
        "hang-up: cause 0 (Unknown)",
    ]
