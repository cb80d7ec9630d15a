"""An agent's phone played by sipp (UAS): it answers one call from the agents' queue.

    async with AnsweringAgent(AgentSpec(port=phone.port, log_dir=tmp)) as agent:
        ...                          # the phone listens on 127.0.0.1:port: QueueAdd, place a call
    report = agent.report            # after the block: the SIP steps, sipp's exit code

The phone rings for `ring_s` (180 Ringing), answers (200 OK, μ-law), echoes the RTP it gets
(`-rtp_echo`: the caller hears "the agent"), and waits for the caller's BYE (through
Asterisk), or hangs up itself `hangup_after_s` after answering. sipp exits after that one call.
The port is the static contact of an agent phone in pjsip.conf (`PbxConfig.agent_phones`);
nothing registers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ivr.sipp.errors import SippRunError
from ivr.sipp.report import Direction, SipStep, parse_errors, parse_shortmessages
from ivr.sipp.runner import find_sipp, free_udp_port

SCENARIO = "agent.xml"
SHORTMSG = "shortmessages.log"
ERRORS = "errors.log"
STDOUT = "sipp.out"
READY_S = 5.0

_HEAD = """
      [last_Via:]
      [last_From:]
      [last_To:]{tag}
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>"""
_TAG = ";tag=[pid]SIPpAgent[call_number]"

_ANSWER = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline agent phone: answer one call from the queue">
  <recv request="INVITE" crlf="true" rrs="true">{{capture}}</recv>
  <send><![CDATA[

      SIP/2.0 180 Ringing{_HEAD.format(tag=_TAG)}
      Content-Length: 0

    ]]></send>
  <pause/>
  <send retrans="500"><![CDATA[

      SIP/2.0 200 OK{_HEAD.format(tag=_TAG)}
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15

    ]]></send>
  <recv request="ACK" crlf="true"/>
  {{ending}}
</scenario>
"""

_WAIT_BYE = f"""<recv request="BYE"/>
  <send><![CDATA[

      SIP/2.0 200 OK{_HEAD.format(tag="")}
      Content-Length: 0

    ]]></send>"""


# To hang up itself the phone needs the dialog's ends from the INVITE (From and To swap).
_CAPTURE = """
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="far"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="near"/>
    </action>
  """

_SEND_BYE = f"""<pause milliseconds="{{ms}}"/>
  <send retrans="500"><![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$near]{_TAG}
      To: [$far]
      [last_Call-ID:]
      CSeq: 1 BYE
      Max-Forwards: 70
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]></send>
  <recv response="200" crlf="true"/>"""


def agent_scenario(hangup_after_s: float | None = None) -> str:
    """The UAS scenario: ring, answer, then wait for the far end's BYE, or (`hangup_after_s`
    after the ACK) hang up first."""
    if hangup_after_s is None:
        return _ANSWER.replace("{capture}", "").replace("{ending}", _WAIT_BYE)
    ending = _SEND_BYE.replace("{ms}", str(int(hangup_after_s * 1000)))
    return _ANSWER.replace("{capture}", _CAPTURE).replace("{ending}", ending)


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent phone on 127.0.0.1:`port`, answering the first call after `ring_s`."""

    port: int
    ring_s: float = 1.0
    hangup_after_s: float | None = None  # None: the caller hangs up; else the agent, this long
    # after answering
    max_call_s: float = 60.0
    log_dir: Path | None = None

    def __post_init__(self) -> None:
        if not 1024 <= self.port <= 65535:
            raise ValueError(f"AgentSpec.port={self.port}: must be within 1024..65535")
        if self.ring_s < 0 or self.max_call_s <= 0:
            raise ValueError("AgentSpec: ring_s >= 0 and max_call_s > 0")


@dataclass(frozen=True, slots=True)
class AgentReport:
    exit_code: int  # sipp's: 0 = the call went through the scenario
    steps: tuple[SipStep, ...]
    errors: tuple[str, ...]
    log_dir: Path

    @property
    def answered(self) -> bool:
        return any(
            s.direction is Direction.SENT and s.status == 200 and s.cseq_method == "INVITE"
            for s in self.steps
        )

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.answered

    def summary(self) -> str:
        lines = [f"agent phone: sipp exit {self.exit_code}, traces in {self.log_dir}"]
        lines += [f"  {s.describe()}" for s in self.steps]
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)


def _bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class AnsweringAgent:
    """Runs the agent phone for the duration of an ``async with`` block (then waits for it)."""

    def __init__(self, spec: AgentSpec, *, sipp: str | None = None) -> None:
        self.spec = spec
        self.sipp = sipp
        self.log_dir = spec.log_dir or Path(tempfile.mkdtemp(prefix="hotline-agent-"))
        self._proc: asyncio.subprocess.Process | None = None
        self._report: AgentReport | None = None

    @property
    def report(self) -> AgentReport:
        if self._report is None:
            raise SippRunError("the agent phone is still running (read the report after it)")
        return self._report

    def command(self, media_port: int) -> list[str]:
        return [
            self.sipp or find_sipp(),
            "-sf", str(self.log_dir / SCENARIO),
            "-i", "127.0.0.1",
            "-p", str(self.spec.port),
            "-mi", "127.0.0.1",
            "-mp", str(media_port),
            "-rtp_echo",
            "-m", "1",
            "-d", str(int(self.spec.ring_s * 1000)),
            "-nostdin",
            "-trace_shortmsg", "-shortmessage_file", str(self.log_dir / SHORTMSG),
            "-trace_err", "-error_file", str(self.log_dir / ERRORS),
            "-timeout", f"{int(self.spec.max_call_s)}s", "-timeout_error",
        ]  # fmt: skip

    async def __aenter__(self) -> AnsweringAgent:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        scenario = agent_scenario(self.spec.hangup_after_s)
        (self.log_dir / SCENARIO).write_text(scenario, encoding="utf-8")
        command = self.command(free_udp_port(span=4))
        with (self.log_dir / STDOUT).open("wb") as out:
            self._proc = await asyncio.create_subprocess_exec(
                *command,
                cwd=self.log_dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_S
        while not _bound(self.spec.port):
            if self._proc.returncode is not None or loop.time() > deadline:
                await self._finish(kill=True)
                raise SippRunError(
                    f"the agent phone did not listen on 127.0.0.1:{self.spec.port}: "
                    f"{self.report.summary()}\n{(self.log_dir / STDOUT).read_text()[-500:]}"
                )
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._finish(kill=exc is not None)

    async def _finish(self, *, kill: bool) -> None:
        proc = self._proc
        code = -1
        if proc is not None:
            if kill and proc.returncode is None:
                proc.kill()
            try:
                code = await asyncio.wait_for(proc.wait(), self.spec.max_call_s)
            except TimeoutError:
                proc.kill()
                with contextlib.suppress(ProcessLookupError):
                    code = await proc.wait()
        self._report = AgentReport(
            exit_code=code,
            steps=tuple(parse_shortmessages(_read(self.log_dir / SHORTMSG))),
            errors=tuple(parse_errors(_read(self.log_dir / ERRORS))),
            log_dir=self.log_dir,
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


__all__ = ["AgentReport", "AgentSpec", "AnsweringAgent", "agent_scenario"]
