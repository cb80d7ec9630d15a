"""The sans-I/O AMI codec: framing fed whole, byte by byte and split at every boundary;
Vietnamese UTF-8 split across reads; the bounded buffer; what happens on malformed input."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.ami.codec import NEED_DATA, AmiCodec
from ivr.ami.errors import LocalProtocolError, RemoteProtocolError
from ivr.ami.events import (
    Action,
    AmiMessage,
    AsyncAGIExec,
    Banner,
    ConnectionClosed,
    DTMFEnd,
    Event,
    Hangup,
    Headers,
    Newchannel,
    Response,
)

CALLER = "Nguyễn Thị Ánh Tuyết"  # 3-byte (ễ, ế, Ị...) and 2-byte (Á) characters

STREAM = (
    b"Asterisk Call Manager/11.0.0\r\n"
    b"Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n"
    b"Event: Newchannel\r\nChannel: PJSIP/sipp-00000000\r\n"
    + f"CallerIDName: {CALLER}\r\n".encode()
    + b"ChanVariable: HOTLINE_LANG=vi\r\nChanVariable: HOTLINE_TRY=1\r\n\r\n"
    b"Event: AsyncAGIExec\r\nChannel: PJSIP/sipp-00000000\r\n"
    b"Result: 200%20result%3D1%20(timeout)%0A\r\nCommandId: c2\r\n\r\n"
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: a2\r\n"
    b"Channel              Location\r\n\r\nPJSIP/sipp-00000000  19009120@ivr:3\r\n"
    b"--END COMMAND--\r\n\r\n"
    b"Event: SomethingNew\r\nAccountCode: \r\nX-Weird: a: b\r\n\r\n"
)


def expected_stream() -> list[AmiMessage]:
    return [
        Banner("Asterisk Call Manager/11.0.0"),
        Response(
            "Success",
            Headers(
                [
                    ("Response", "Success"),
                    ("ActionID", "a1"),
                    ("Message", "Authentication accepted"),
                ]
            ),
        ),
        Newchannel(
            "Newchannel",
            Headers(
                [
                    ("Event", "Newchannel"),
                    ("Channel", "PJSIP/sipp-00000000"),
                    ("CallerIDName", CALLER),
                    ("ChanVariable", "HOTLINE_LANG=vi"),
                    ("ChanVariable", "HOTLINE_TRY=1"),
                ]
            ),
        ),
        AsyncAGIExec(
            "AsyncAGIExec",
            Headers(
                [
                    ("Event", "AsyncAGIExec"),
                    ("Channel", "PJSIP/sipp-00000000"),
                    ("Result", "200%20result%3D1%20(timeout)%0A"),
                    ("CommandId", "c2"),
                ]
            ),
        ),
        Response(
            "Follows",
            Headers([("Response", "Follows"), ("Privilege", "Command"), ("ActionID", "a2")]),
            ("Channel              Location", "", "PJSIP/sipp-00000000  19009120@ivr:3"),
        ),
        Event(
            "SomethingNew",
            Headers([("Event", "SomethingNew"), ("AccountCode", ""), ("X-Weird", "a: b")]),
        ),
    ]


def drain(codec: AmiCodec) -> list[AmiMessage]:
    out: list[AmiMessage] = []
    while True:
        message = codec.next_event()
        if message is NEED_DATA:
            return out
        out.append(message)
        if isinstance(message, ConnectionClosed):
            return out


def feed(chunks: Iterable[bytes], *, eof: bool = True) -> list[AmiMessage]:
    codec = AmiCodec()
    out: list[AmiMessage] = []
    for chunk in chunks:
        if not chunk:
            continue  # b"" means end of stream to the codec
        codec.receive_data(chunk)
        out.extend(drain(codec))
    if eof:
        codec.receive_data(b"")
        out.extend(drain(codec))
    return out


def split_at(data: bytes, *cuts: int) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# -- framing -----------------------------------------------------------------------------------


def test_whole_stream() -> None:
    assert feed([STREAM]) == [*expected_stream(), ConnectionClosed()]


def test_one_byte_at_a_time() -> None:
    assert feed([STREAM[i : i + 1] for i in range(len(STREAM))]) == [
        *expected_stream(),
        ConnectionClosed(),
    ]


def test_split_at_every_boundary() -> None:
    expected = [*expected_stream(), ConnectionClosed()]
    for cut in range(len(STREAM) + 1):
        assert feed(split_at(STREAM, cut)) == expected, f"split at byte {cut}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
def test_random_splits(cuts: list[int]) -> None:
    assert feed(split_at(STREAM, *cuts)) == [*expected_stream(), ConnectionClosed()]


def test_typed_events_and_unknown_event_kept_raw() -> None:
    messages = feed([STREAM])
    agi = messages[3]
    assert isinstance(agi, AsyncAGIExec)
    assert agi.command_id == "c2"
    assert agi.result == "200 result=1 (timeout)\n"
    unknown = messages[5]
    assert type(unknown) is Event  # not dropped, every header kept
    assert unknown.get("x-weird") == "a: b"
    assert unknown.get("AccountCode") == ""


def test_header_lookup_is_case_insensitive_and_repeats_are_kept() -> None:
    event = feed([STREAM])[2]
    assert isinstance(event, Event)
    assert event.get("CALLERIDNAME") == CALLER
    assert event.get("chanvariable") == "HOTLINE_LANG=vi"
    assert event.get_all("ChanVariable") == ("HOTLINE_LANG=vi", "HOTLINE_TRY=1")
    assert event.get("Missing") is None
    assert "CHANNEL" in event.headers


def test_bare_lf_line_endings_as_in_the_recorded_transcripts() -> None:
    data = STREAM.replace(b"\r\n", b"\n")
    assert feed([data]) == [*expected_stream(), ConnectionClosed()]
    assert feed([data[i : i + 1] for i in range(len(data))])[:-1] == expected_stream()


def test_stray_empty_lines_between_messages_are_skipped() -> None:
    data = b"Event: A\r\nX: 1\r\n\r\n\r\n\r\nEvent: B\r\nX: 2\r\n\r\n"
    assert [m.name for m in feed([data]) if isinstance(m, Event)] == ["A", "B"]


def test_no_banner_is_fine() -> None:
    messages = feed([b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"])
    assert [type(m).__name__ for m in messages] == ["FullyBooted", "ConnectionClosed"]


def test_follows_output_with_end_marker_on_the_last_output_line() -> None:
    data = b"Response: Follows\r\nPrivilege: Command\r\nline 1\r\nline 2--END COMMAND--\r\n\r\n"
    (response, _) = feed([data])
    assert isinstance(response, Response)
    assert response.output == ("line 1", "line 2")
    assert response.ok


def test_success_with_output_headers_asterisk_14_and_later() -> None:
    data = (
        b"Response: Success\r\nActionID: 9\r\nMessage: Command output follows\r\n"
        b"Output: Name/username\r\nOutput: 0 objects found.\r\n\r\n"
    )
    (response, _) = feed([data])
    assert isinstance(response, Response)
    assert response.output == ("Name/username", "0 objects found.")


# -- Vietnamese UTF-8 --------------------------------------------------------------------------


def test_vietnamese_name_split_inside_every_multibyte_character() -> None:
    message = f"Event: Newchannel\r\nCallerIDName: {CALLER}\r\n\r\n".encode()
    for cut in range(len(message) + 1):
        for step in (1, 2, 3):
            chunks = [message[:cut]] + [
                message[i : i + step] for i in range(cut, len(message), step)
            ]
            (event, _) = feed(chunks)
            assert isinstance(event, Event)
            assert event.get("CallerIDName") == CALLER, (cut, step)


def test_nfd_input_is_kept_byte_exact() -> None:
    # Normalisation is the caller's business (speech/text); the codec never alters text.
    nfd = unicodedata.normalize("NFD", CALLER)
    data = f"Event: Newchannel\r\nCallerIDName: {nfd}\r\n\r\n".encode()
    (event, _) = feed([data[i : i + 1] for i in range(len(data))])
    assert isinstance(event, Event)
    assert event.get("CallerIDName") == nfd != CALLER


def test_invalid_utf8_is_replaced_visibly_and_counted_never_dropped() -> None:
    codec = AmiCodec()
    codec.receive_data(b"Event: Newchannel\r\nCallerIDName: Nguy\xe1\xbb\r\nUniqueid: 1.0\r\n\r\n")
    event = codec.next_event()
    assert isinstance(event, Event)
    assert event.get("CallerIDName") == "Nguy\ufffd"  # truncated sequence -> one U+FFFD
    assert event.get("Uniqueid") == "1.0"
    assert codec.invalid_utf8_messages == 1


# -- bounded buffer and malformed input --------------------------------------------------------


def test_incomplete_message_over_the_bound_breaks_the_codec_for_good() -> None:
    codec = AmiCodec(max_message_size=1024)
    codec.receive_data(b"Event: Flood\r\nX: " + b"y" * 2000)
    with pytest.raises(RemoteProtocolError, match=r"exceeds max_message_size=1024 bytes"):
        codec.next_event()
    assert codec.broken
    assert codec.trailing_data == b""  # the buffer was released
    codec.receive_data(b"\r\n\r\nEvent: Next\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="unusable after an earlier error"):
        codec.next_event()


def test_bound_applies_to_an_incomplete_message_not_to_complete_ones_waiting() -> None:
    codec = AmiCodec(max_message_size=1024)
    codec.receive_data(b"Event: Small\r\nX: 1\r\n\r\n" * 200)  # 4 KiB of complete messages
    assert len(drain(codec)) == 200


def test_byte_by_byte_feed_of_a_large_message_stays_linear() -> None:
    # 200 KiB one byte at a time would take minutes if every next_event rescanned the buffer.
    body = b"Event: Big\r\n" + b"".join(b"V%d: %s\r\n" % (i, b"x" * 60) for i in range(3000))
    codec = AmiCodec()
    for i in range(len(body)):
        codec.receive_data(body[i : i + 1])
        assert codec.next_event() is NEED_DATA
    codec.receive_data(b"\r\n")
    event = codec.next_event()
    assert isinstance(event, Event) and len(event.headers) == 3001


def test_line_without_colon_drops_that_message_and_the_codec_keeps_going() -> None:
    codec = AmiCodec()
    codec.receive_data(b"Event: Bad\r\nthis line has no colon\r\n\r\nEvent: Good\r\nX: 1\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match=r"not 'Name: value': 'this line has no colon'"):
        codec.next_event()
    assert not codec.broken
    good = codec.next_event()
    assert isinstance(good, Event) and good.name == "Good"


def test_message_with_neither_response_nor_event_is_refused_then_recovered() -> None:
    codec = AmiCodec()
    codec.receive_data(
        b"Action: Ping\r\nActionID: 1\r\n\r\nResponse: Success\r\nActionID: 1\r\n\r\n"
    )
    with pytest.raises(RemoteProtocolError, match="neither a Response nor an Event"):
        codec.next_event()
    assert isinstance(codec.next_event(), Response)


def test_eof_in_the_middle_of_a_message_is_an_error_then_closed() -> None:
    codec = AmiCodec()
    codec.receive_data(b"Event: Hangup\r\nChannel: PJSIP/x\r\n")
    assert codec.next_event() is NEED_DATA
    codec.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match=r"closed in the middle of a message \(33 bytes"):
        codec.next_event()
    assert codec.next_event() == ConnectionClosed()


def test_data_after_eof_is_a_local_error() -> None:
    codec = AmiCodec()
    codec.receive_data(b"")
    assert codec.next_event() == ConnectionClosed()
    with pytest.raises(LocalProtocolError, match="after end of stream"):
        codec.receive_data(b"Event: Late\r\n\r\n")


def test_max_message_size_must_be_sane() -> None:
    with pytest.raises(ValueError, match="max_message_size must be >= 64"):
        AmiCodec(max_message_size=10)


# -- typed events ------------------------------------------------------------------------------


def test_hangup_and_dtmf_accessors() -> None:
    data = (
        b"Event: Hangup\r\nChannel: PJSIP/x\r\nUniqueid: 1.0\r\nLinkedid: 1.0\r\nCause: 16\r\n"
        b"Cause-txt: Normal Clearing\r\n\r\n"
        b"Event: DTMFEnd\r\nChannel: PJSIP/x\r\nDigit: 5\r\nDurationMs: 250\r\n"
        b"Direction: Received\r\n\r\n"
    )
    hangup, dtmf, _ = feed([data])
    assert isinstance(hangup, Hangup)
    assert (hangup.cause, hangup.cause_txt, hangup.uniqueid, hangup.linkedid) == (
        16,
        "Normal Clearing",
        "1.0",
        "1.0",
    )
    assert isinstance(dtmf, DTMFEnd)
    assert (dtmf.digit, dtmf.duration_ms, dtmf.direction) == ("5", 250, "Received")


# -- sending -----------------------------------------------------------------------------------


def test_send_encodes_headers_in_order_with_repeats_and_utf8() -> None:
    action = Action.build(
        "Originate", Channel="Local/19009120@ivr", Variable=["A=1", "NAME=Đặng Văn Lâm"], Async=None
    ).with_headers(("ActionID", "a9"))
    assert (
        AmiCodec().send(action)
        == (
            "Action: Originate\r\nActionID: a9\r\nChannel: Local/19009120@ivr\r\n"
            "Variable: A=1\r\nVariable: NAME=Đặng Văn Lâm\r\n\r\n"
        ).encode()
    )


@pytest.mark.parametrize("bad", ["x\r\nAction: Originate", "x\nEvents: on", "x\rY", "x\x00y"])
def test_send_refuses_header_injection_and_does_not_echo_the_value(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="header 'Secret' contains CR, LF or NUL") as info:
        AmiCodec().send(Action.build("Login", Username="u", Secret=bad))
    assert bad not in str(info.value)


@pytest.mark.parametrize("name", ["", "Bad Name", "Bad:Name", "Bad\r\nName"])
def test_send_refuses_bad_header_or_action_names(name: str) -> None:
    with pytest.raises(LocalProtocolError, match="invalid header name"):
        AmiCodec().send(Action("Ping", ((name, "1"),)))
    with pytest.raises(LocalProtocolError, match="invalid action name"):
        AmiCodec().send(Action(name or " ", ()))
