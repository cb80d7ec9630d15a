"""AGI reply parsing (res_agi.c reply grammar) and the URL-encoded AsyncAGI headers."""

from __future__ import annotations

import pytest

from ivr.ami.agi import AgiResult, decode_agi_result, parse_agi_env, parse_agi_result
from ivr.ami.errors import RemoteProtocolError


@pytest.mark.parametrize(
    ("encoded", "code", "result", "data", "extras"),
    [
        # all recorded from Asterisk 22.10.1 (tests/protocol/transcripts/)
        ("200%20result%3D0%20endpos%3D242214%0A", 200, "0", None, {"endpos": "242214"}),
        (
            "200%20result%3D0%20(timeout)%20endpos%3D40160%0A",
            200,
            "0",
            "timeout",
            {"endpos": "40160"},
        ),
        ("200%20result%3D49%0A", 200, "49", None, {}),
        ("200%20result%3D1%20(done)%0A", 200, "1", "done", {}),
        ("200%20result%3D1%0A", 200, "1", None, {}),
        ("200%20result%3D5%0A", 200, "5", None, {}),
    ],
)
def test_recorded_results(
    encoded: str, code: int, result: str, data: str | None, extras: dict[str, str]
) -> None:
    parsed = parse_agi_result(decode_agi_result(encoded))
    assert (parsed.code, parsed.result, parsed.data, parsed.extras) == (code, result, data, extras)
    assert parsed.ok


def test_timeout_flag_and_digit() -> None:
    assert parse_agi_result("200 result=1 (timeout)").timed_out
    assert parse_agi_result("200 result=49").digit == "1"
    assert parse_agi_result("200 result=0").digit is None
    assert parse_agi_result("200 result=0 endpos=242214").endpos == 242214


def test_get_data_digits_are_kept_as_typed() -> None:
    assert parse_agi_result("200 result=0123").result == "0123"
    assert parse_agi_result("200 result=12*").value is None
    empty = parse_agi_result("200 result= (timeout)")
    assert (empty.result, empty.timed_out, empty.value) == ("", True, None)


def test_hangup_during_command_is_minus_one() -> None:
    parsed = parse_agi_result("200 result=-1 endpos=1234\n")
    assert (parsed.value, parsed.digit, parsed.endpos) == (-1, None, 1234)


def test_get_variable_value_with_parentheses_and_spaces() -> None:
    parsed = parse_agi_result("200 result=1 (Nguyễn Văn (Ánh))")
    assert parsed.data == "Nguyễn Văn (Ánh)"


def test_510_invalid_command() -> None:
    parsed = parse_agi_result("510 Invalid or unknown command\n")
    assert (parsed.code, parsed.ok, parsed.message, parsed.result) == (
        510,
        False,
        "Invalid or unknown command",
        None,
    )


def test_511_dead_channel() -> None:
    parsed = parse_agi_result("511 Command Not Permitted on a dead channel or intercept routine\n")
    assert parsed.channel_dead and not parsed.ok


def test_520_multi_line_usage() -> None:
    text = (
        "520-Invalid command syntax.  Proper usage follows:\n"
        " Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]\n"
        "520 End of proper usage.\n"
    )
    parsed = parse_agi_result(decode_agi_result(text.replace(" ", "%20").replace("\n", "%0A")))
    assert parsed.code == 520
    assert parsed.message.splitlines() == [
        "Invalid command syntax.  Proper usage follows:",
        " Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]",
        "520 End of proper usage.",
    ]


@pytest.mark.parametrize("bad", ["", "\n", "hello", "20 result=1"])
def test_unparseable_reply_is_a_remote_protocol_error(bad: str) -> None:
    with pytest.raises(RemoteProtocolError, match="AGI reply"):
        parse_agi_result(bad)


def test_invalid_percent_utf8_is_an_error_not_a_silent_loss() -> None:
    with pytest.raises(RemoteProtocolError, match="not valid UTF-8"):
        decode_agi_result("200%20result%3D1%20(%E1%BB)")


def test_async_agi_start_env_recorded() -> None:
    env = parse_agi_env(
        "agi_request%3A%20async%0Aagi_channel%3A%20PJSIP%2Fsipp-00000000%0Aagi_language%3A%20en"
        "%0Aagi_uniqueid%3A%201795599729.0%0Aagi_version%3A%2022.10.1%2Bdfsg%2B~cs6.17.60671434-1"
        "%0Aagi_callerid%3A%2009001%0Aagi_calleridname%3A%20Caller%201%0Aagi_dnid%3A%2019009120"
        "%0Aagi_accountcode%3A%20%0A%0A"
    )
    assert env == {
        "agi_request": "async",
        "agi_channel": "PJSIP/sipp-00000000",
        "agi_language": "en",
        "agi_uniqueid": "1795599729.0",
        "agi_version": "22.10.1+dfsg+~cs6.17.60671434-1",
        "agi_callerid": "09001",
        "agi_calleridname": "Caller 1",
        "agi_dnid": "19009120",
        "agi_accountcode": "",
    }


def test_env_with_vietnamese_caller_name() -> None:
    encoded = "agi_calleridname%3A%20Tr%E1%BA%A7n%20V%C4%83n%20B%C3%ACnh%0A"
    assert parse_agi_env(encoded) == {"agi_calleridname": "Trần Văn Bình"}


def test_env_line_without_colon_is_an_error() -> None:
    with pytest.raises(RemoteProtocolError, match="without a colon"):
        parse_agi_env("agi_request%20async%0A")


def test_results_compare_by_value() -> None:
    a = parse_agi_result("200 result=0 endpos=5")
    assert a == AgiResult(code=200, raw="200 result=0 endpos=5", result="0", extras={"endpos": "5"})
    assert a != parse_agi_result("200 result=0 endpos=6")
    assert hash(a) == hash(parse_agi_result("200 result=0 endpos=5"))
