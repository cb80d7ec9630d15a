"""What happened on a call, read back from sipp's own traces (pure parsing of text).

sipp writes, with `-trace_shortmsg`, one tab-separated line per SIP message::

    2026-11-25 <TAB> 13:21:10.837375 <TAB> 1795612870.837375 <TAB> S|R <TAB> Call-ID
        <TAB> CSeq:1 INVITE <TAB> first line of the message

which is all we need for the SIP steps (the epoch field gives the UTC time). `-trace_err`
lists unexpected messages and aborted calls; `-trace_stat` a `;`-separated CSV of counters.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

# sipp exit codes (sipp(1), "EXIT STATUS")
EXIT_CODES: dict[int, str] = {
    0: "all calls were successful",
    1: "at least one call failed",
    97: "exit on internal command (calls may have been processed)",
    99: "normal exit without calls processed",
    255: "fatal error",
    254: "fatal error binding a socket",
}


class Direction(StrEnum):
    SENT = "sent"
    RECEIVED = "received"


class HangupParty(StrEnum):
    """Who ended the call."""

    CALLER = "caller"  # we sent BYE
    REMOTE = "remote"  # the PBX sent BYE
    NOBODY = "nobody"  # never answered, or sipp stopped mid-call


@dataclass(frozen=True, slots=True)
class SipStep:
    """One SIP message sent or received by the caller."""

    at: datetime
    direction: Direction
    call_id: str
    cseq: int
    cseq_method: str
    first_line: str

    @property
    def is_response(self) -> bool:
        return self.first_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int | None:
        if not self.is_response:
            return None
        parts = self.first_line.split(" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None

    @property
    def reason(self) -> str:
        if not self.is_response:
            return ""
        parts = self.first_line.split(" ", 2)
        return parts[2] if len(parts) > 2 else ""

    @property
    def method(self) -> str:
        """The request method, or the status code for a response (``INVITE``, ``200``)."""
        if self.is_response:
            return str(self.status)
        return self.first_line.split(" ", 1)[0]

    def describe(self) -> str:
        arrow = "→" if self.direction is Direction.SENT else "←"
        if self.is_response:
            return f"{arrow} {self.status} {self.reason} ({self.cseq_method})"
        return f"{arrow} {self.method}"


@dataclass(frozen=True, slots=True)
class CallReport:
    """The outcome of one call placed with `place_call` (contract 4)."""

    number: str
    steps: tuple[SipStep, ...]
    exit_code: int
    final_status: int | None  # final response to our INVITE
    final_reason: str
    hung_up_by: HangupParty
    started_at: datetime | None  # our INVITE
    answered_at: datetime | None  # the 200 OK to the INVITE
    ended_at: datetime | None  # the last BYE or its 200 OK, or the refusal
    errors: tuple[str, ...] = ()
    log_dir: Path | None = None
    keys_sent: str = ""
    timed_out: bool = False  # the far end did not hang up within max_call_s
    rtp_capture: Path | None = None  # WAV of what the PBX sent back (record_to)
    command: tuple[str, ...] = field(default=())

    @property
    def answered(self) -> bool:
        return self.final_status == 200

    @property
    def refused(self) -> bool:
        return self.final_status is not None and self.final_status >= 300

    @property
    def ok(self) -> bool:
        """Answered, ended by a BYE from either side, and sipp saw no error."""
        return self.answered and self.hung_up_by is not HangupParty.NOBODY and not self.errors

    @property
    def setup_s(self) -> float | None:
        if self.started_at is None or self.answered_at is None:
            return None
        return (self.answered_at - self.started_at).total_seconds()

    @property
    def duration_s(self) -> float | None:
        """Answer to end (the billed length of the call)."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.answered_at).total_seconds()

    @property
    def exit_meaning(self) -> str:
        return EXIT_CODES.get(self.exit_code, f"unknown sipp exit code {self.exit_code}")

    def summary(self) -> str:
        if self.final_status is None:
            status = "no final response"
        else:
            status = f"{self.final_status} {self.final_reason}".strip()
        parts = [f"call to {self.number}: {status}"]
        if self.answered:
            parts.append(f"hung up by {self.hung_up_by}")
            if self.duration_s is not None:
                parts.append(f"{self.duration_s:.1f} s after answer")
        if self.keys_sent:
            parts.append(f"keys sent {self.keys_sent!r}")
        if self.timed_out:
            parts.append("the far end never hung up")
        parts.append(f"sipp exit {self.exit_code} ({self.exit_meaning})")
        if self.errors:
            parts.append(f"{len(self.errors)} error(s)")
        return "; ".join(parts)


_CSEQ = re.compile(r"^CSeq:\s*(\d+)\s+(\S+)$")


def parse_shortmessage_line(line: str) -> SipStep | None:
    """One line of a `-trace_shortmsg` file; None for a partial or foreign line."""
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 7 or fields[3] not in ("S", "R"):
        return None
    try:
        epoch = float(fields[2])
    except ValueError:
        return None
    match = _CSEQ.match(fields[5].strip())
    if match is None:
        return None
    return SipStep(
        at=datetime.fromtimestamp(epoch, tz=UTC),
        direction=Direction.SENT if fields[3] == "S" else Direction.RECEIVED,
        call_id=fields[4],
        cseq=int(match.group(1)),
        cseq_method=match.group(2),
        first_line="\t".join(fields[6:]).strip(),
    )


def parse_shortmessages(text: str) -> list[SipStep]:
    return [step for line in text.splitlines() if (step := parse_shortmessage_line(line))]


# Lines of the error log that are our own scenario working as designed, not errors.
_BENIGN = (
    re.compile(r"receive timeout on message .* jumping to label"),
    re.compile(r"^\s*$"),
    re.compile(r"^The following events occurred:?$"),
    # sipp's scheduler was late (a loaded machine): a warning about sipp, not about the call
    re.compile(r"Overload warning: the (minor|major) watchdog timer"),
)
_ERROR_START = re.compile(r"^\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2}\.\d+\s+\d+\.\d+:\s*(.*)$")


def parse_errors(text: str) -> list[str]:
    """Entries of a `-trace_err` file, without the scenario's own label jumps.

    sipp writes each entry as a timestamped line but does not always end it with a newline,
    so entries are split on the timestamp pattern.
    """
    entries = re.split(
        r"(?=\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2}\.\d+\s+\d+\.\d+:)", text.replace("\r", "")
    )
    out: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if not entry or any(p.search(entry) for p in _BENIGN):
            continue
        match = _ERROR_START.match(entry.splitlines()[0])
        message = match.group(1) if match else entry.splitlines()[0]
        out.append(message.strip())
    return out


def parse_stats(text: str) -> dict[str, str]:
    """The last row of a `-trace_stat` CSV (``;``-separated, header first) as a dict."""
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    rows = [r for r in rows if r]
    if len(rows) < 2:
        return {}
    header, last = rows[0], rows[-1]
    return {name: value for name, value in zip(header, last, strict=False) if name}


def summarize(
    number: str,
    steps: Iterable[SipStep],
    exit_code: int,
    *,
    errors: Iterable[str] = (),
    log_dir: Path | None = None,
    keys_sent: str = "",
    hangup_planned: bool = True,
    rtp_capture: Path | None = None,
    command: tuple[str, ...] = (),
) -> CallReport:
    """Build the report of ONE call from its SIP steps (the first Call-ID seen)."""
    ordered = sorted(steps, key=lambda s: s.at)
    call_ids = [s.call_id for s in ordered]
    if call_ids:
        ordered = [s for s in ordered if s.call_id == call_ids[0]]
    invite_final = next(
        (
            s
            for s in ordered
            if s.direction is Direction.RECEIVED
            and s.cseq_method == "INVITE"
            and (s.status or 0) >= 200
        ),
        None,
    )
    started = next(
        (s.at for s in ordered if s.direction is Direction.SENT and s.method == "INVITE"), None
    )
    byes = [s for s in ordered if not s.is_response and s.method == "BYE"]
    if byes:
        bye = byes[0]
        hung_up_by = HangupParty.CALLER if bye.direction is Direction.SENT else HangupParty.REMOTE
        bye_steps = [s for s in ordered if s.cseq_method == "BYE"]
        ended_at: datetime | None = bye_steps[-1].at
    else:
        hung_up_by = HangupParty.NOBODY
        ended_at = invite_final.at if invite_final and invite_final.status != 200 else None
    answered_at = invite_final.at if invite_final and invite_final.status == 200 else None
    return CallReport(
        number=number,
        steps=tuple(ordered),
        exit_code=exit_code,
        final_status=invite_final.status if invite_final else None,
        final_reason=invite_final.reason if invite_final else "",
        hung_up_by=hung_up_by,
        started_at=started,
        answered_at=answered_at,
        ended_at=ended_at,
        errors=tuple(errors),
        log_dir=log_dir,
        keys_sent=keys_sent,
        timed_out=not hangup_planned and hung_up_by is HangupParty.CALLER,
        rtp_capture=rtp_capture,
        command=command,
    )
