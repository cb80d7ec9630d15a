"""Reading sipp's traces back: SIP steps, who hung up, refusals, errors, statistics."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.sipp.report import (
    Direction,
    HangupParty,
    parse_errors,
    parse_shortmessage_line,
    parse_shortmessages,
    parse_stats,
    summarize,
)


def _trace(*rows: tuple[str, str, str, str, str]) -> str:
    """Short-message lines as sipp writes them: date, time, epoch, S/R, Call-ID, CSeq, line."""
    lines = []
    for epoch, direction, call_id, cseq, first in rows:
        lines.append(
            "\t".join(["2026-11-25", "13:25:00.000000", epoch, direction, call_id, cseq, first])
        )
    return "\n".join(lines) + "\n"


# Recorded from sipp 3.6.1 (-trace_shortmsg) calling a sipp UAS on loopback.
ANSWERED_CALLER_BYE = _trace(
    (
        "1795613140.657084",
        "S",
        "1-99@127.0.0.1",
        "CSeq:1 INVITE",
        "INVITE sip:19009120@127.0.0.1:25060 SIP/2.0",
    ),
    ("1795613140.657268", "R", "1-99@127.0.0.1", "CSeq:1 INVITE", "SIP/2.0 180 Ringing"),
    ("1795613140.658461", "R", "1-99@127.0.0.1", "CSeq:1 INVITE", "SIP/2.0 200 OK"),
    (
        "1795613140.658555",
        "S",
        "1-99@127.0.0.1",
        "CSeq:1 ACK",
        "ACK sip:19009120@127.0.0.1:25060 SIP/2.0",
    ),
    (
        "1795613144.089922",
        "S",
        "1-99@127.0.0.1",
        "CSeq:2 BYE",
        "BYE sip:19009120@127.0.0.1:25060 SIP/2.0",
    ),
    ("1795613144.091328", "R", "1-99@127.0.0.1", "CSeq:2 BYE", "SIP/2.0 200 OK"),
)

REMOTE_BYE = _trace(
    (
        "1795613138.981437",
        "S",
        "1-7@127.0.0.1",
        "CSeq:1 INVITE",
        "INVITE sip:19009120@127.0.0.1:25060 SIP/2.0",
    ),
    ("1795613138.981517", "R", "1-7@127.0.0.1", "CSeq:1 INVITE", "SIP/2.0 200 OK"),
    (
        "1795613138.981564",
        "S",
        "1-7@127.0.0.1",
        "CSeq:1 ACK",
        "ACK sip:19009120@127.0.0.1:25060 SIP/2.0",
    ),
    (
        "1795613139.285188",
        "S",
        "1-7@127.0.0.1",
        "CSeq:2 INFO",
        "INFO sip:19009120@127.0.0.1:25060 SIP/2.0",
    ),
    ("1795613139.285402", "R", "1-7@127.0.0.1", "CSeq:2 INFO", "SIP/2.0 200 OK"),
    ("1795613139.784866", "R", "1-7@127.0.0.1", "CSeq:1 BYE", "BYE sip:x@127.0.0.1:5070 SIP/2.0"),
    ("1795613139.784971", "S", "1-7@127.0.0.1", "CSeq:1 BYE", "SIP/2.0 200 OK"),
)

REFUSED = _trace(
    (
        "1795613061.421534",
        "S",
        "1-5@127.0.0.1",
        "CSeq:1 INVITE",
        "INVITE sip:1234@127.0.0.1:25060 SIP/2.0",
    ),
    ("1795613061.421838", "R", "1-5@127.0.0.1", "CSeq:1 INVITE", "SIP/2.0 404 Not Found"),
    (
        "1795613061.421898",
        "S",
        "1-5@127.0.0.1",
        "CSeq:1 ACK",
        "ACK sip:1234@127.0.0.1:25060 SIP/2.0",
    ),
)


def test_parse_one_line() -> None:
    step = parse_shortmessage_line(ANSWERED_CALLER_BYE.splitlines()[2])
    assert step is not None
    assert step.direction is Direction.RECEIVED
    assert (step.status, step.reason, step.method) == (200, "OK", "200")
    assert (step.cseq, step.cseq_method, step.call_id) == (1, "INVITE", "1-99@127.0.0.1")
    assert step.at == datetime(2026, 11, 25, 13, 25, 40, 658461, tzinfo=UTC)
    assert step.describe() == "← 200 OK (INVITE)"


def test_partial_and_foreign_lines_are_ignored() -> None:
    assert parse_shortmessage_line("2026-11-25\t13:25") is None
    assert parse_shortmessage_line("") is None
    assert parse_shortmessage_line("a\tb\tc\tX\te\tCSeq:1 INVITE\tINVITE") is None


def test_answered_call_hung_up_by_caller() -> None:
    report = summarize("19009120", parse_shortmessages(ANSWERED_CALLER_BYE), 0, keys_sent="1")
    assert report.answered and report.ok and not report.refused
    assert report.hung_up_by is HangupParty.CALLER
    assert report.final_status == 200
    assert report.setup_s is not None and 0.001 < report.setup_s < 0.002
    assert report.duration_s is not None and round(report.duration_s, 2) == 3.43
    assert [s.describe() for s in report.steps] == [
        "→ INVITE",
        "← 180 Ringing (INVITE)",
        "← 200 OK (INVITE)",
        "→ ACK",
        "→ BYE",
        "← 200 OK (BYE)",
    ]
    assert "hung up by caller" in report.summary()


def test_remote_bye_and_timeout_flag() -> None:
    steps = parse_shortmessages(REMOTE_BYE)
    report = summarize("19009120", steps, 0, hangup_planned=False)
    assert report.hung_up_by is HangupParty.REMOTE
    assert not report.timed_out
    assert report.ended_at == steps[-1].at
    caller_bye = summarize("19009120", parse_shortmessages(ANSWERED_CALLER_BYE), 0,
                           hangup_planned=False)  # fmt: skip
    assert caller_bye.timed_out
    assert "never hung up" in caller_bye.summary()


def test_refused_call() -> None:
    report = summarize("1234", parse_shortmessages(REFUSED), 0)
    assert report.refused and not report.answered and not report.ok
    assert (report.final_status, report.final_reason) == (404, "Not Found")
    assert report.hung_up_by is HangupParty.NOBODY
    assert report.ended_at is not None and report.duration_s is None
    assert report.summary().startswith("call to 1234: 404 Not Found")


def test_no_response_at_all() -> None:
    report = summarize("19009120", parse_shortmessages(REFUSED.splitlines()[0]), 1)
    assert report.final_status is None and not report.ok
    assert "no final response" in report.summary()
    assert "at least one call failed" in report.summary()


def test_errors_drop_label_jumps_and_keep_real_errors() -> None:
    text = (
        "The following events occurred:\n"
        "2026-11-25\t13:24:11.724193\t1795613051.724193: Call-Id: 1-1@127.0.0.1, receive "
        "timeout on message hotline caller:46, jumping to label 47"
        "2026-11-25\t13:24:12.000000\t1795613052.000000: Aborting call on unexpected message "
        "for Call-Id '1-1@127.0.0.1': while expecting '200' (index 44), received 'SIP/2.0 "
        "488 Not Acceptable Here'\n"
    )
    text += (
        "2026-11-25\t14:27:30.000000\t1795616850.000000: Overload warning: the minor watchdog "
        "timer 500ms has been tripped (508), 119 trips remaining.\n"
    )
    errors = parse_errors(text)
    assert len(errors) == 1
    assert errors[0].startswith("Aborting call on unexpected message")
    assert "488" in errors[0]


def test_stats_last_row() -> None:
    text = "StartTime;SuccessfulCall(C);FailedCall(C);\n1;0;0;\n2;299;1;\n"
    assert parse_stats(text) == {"StartTime": "2", "SuccessfulCall(C)": "299", "FailedCall(C)": "1"}
    assert parse_stats("") == {}
