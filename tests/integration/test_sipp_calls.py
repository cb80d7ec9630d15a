"""The sipp caller against the real (private) Asterisk: answer, refusal, DTMF both ways,
a hang-up from the PBX side, and the audio the PBX sends back.

No call controller runs here: this test drives the AsyncAGI channel itself over AMI, so it
shows the caller works, whatever the menus do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from ivr.ami.client import AmiClient
from ivr.ami.events import Event
from ivr.pbx import CHROOT_RECORDINGS
from ivr.sipp import CallReport, CallSpec, HangupParty, SipStep, place_call
from ivr.sipp.media import pcm_from_wav, wav_from_pcm
from tests.fixtures.pbx import RunningPbx

pytestmark = [pytest.mark.asterisk]


class AmiWatch:
    """Collects the AMI events of the calls placed by one test."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.agi_started: asyncio.Queue[Event] = asyncio.Queue()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if event.name == "AsyncAGIStart":
            self.agi_started.put_nowait(event)

    def named(self, name: str, caller: str | None = None) -> list[Event]:
        return [
            e
            for e in self.events
            if e.name == name and (caller is None or e.get("CallerIDNum") == caller)
        ]

    def digits_received(self, caller: str) -> str:
        return "".join(
            e.get("Digit") or ""
            for e in self.named("DTMFEnd", caller)
            if (e.get("Direction") or "").lower() == "received"
        )


@pytest.fixture
async def ami(pbx: RunningPbx) -> AsyncIterator[tuple[AmiClient, AmiWatch]]:
    host, port = pbx.ami_address
    client = AmiClient(host, port, pbx.config.ami_user, pbx.config.ami_secret, reconnect=False)
    watch = AmiWatch()
    client.subscribe(watch)
    await client.connect()
    try:
        yield client, watch
    finally:
        await client.close()


def _spec(pbx: RunningPbx, tmp_path: Path, **kwargs: object) -> CallSpec:
    host, port = pbx.sip_address
    fields: dict[str, object] = {
        "sip_host": host,
        "sip_port": port,
        "number": pbx.config.hotline_number,
        "wait_before_s": 0.5,
        "hangup_after_s": 1.0,
        "log_dir": tmp_path / "sipp",
        "max_call_s": 20.0,
    }
    fields.update(kwargs)
    return CallSpec(**fields)  # type: ignore[arg-type]


def _explain(report: CallReport, pbx: RunningPbx) -> str:
    steps = "\n".join(f"  {s.at.time()} {s.describe()}" for s in report.steps)
    return f"{report.summary()}\n{steps}\nerrors: {report.errors}\n{pbx.logs(30)}"


async def _until(predicate: Callable[[], bool], timeout_s: float = 3.0) -> None:
    """Give late AMI events a moment: poll `predicate` until true or `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    for _ in range(int(timeout_s / 0.05) + 1):
        if predicate() or loop.time() > deadline:
            return
        await asyncio.sleep(0.05)


async def test_hotline_number_answers_and_rfc4733_keys_reach_asterisk(
    pbx: RunningPbx, ami: tuple[AmiClient, AmiWatch], tmp_path: Path
) -> None:
    _, watch = ami
    live: list[SipStep] = []
    spec = _spec(pbx, tmp_path, dtmf="1#", caller_id="0912000001")
    report = await place_call(spec, on_step=live.append)
    assert report.ok, _explain(report, pbx)
    assert report.final_status == 200
    assert report.hung_up_by is HangupParty.CALLER
    provisional = ("100", "180", "183")
    methods = [s.method for s in report.steps if s.method not in provisional]
    assert methods == ["INVITE", "200", "ACK", "BYE", "200"]
    assert [s.describe() for s in live] == [s.describe() for s in report.steps]
    await _until(lambda: len(watch.digits_received("0912000001")) >= 2)
    assert watch.digits_received("0912000001") == "1#"
    (start,) = watch.named("AsyncAGIStart", "0912000001")
    assert start.get("Exten") in (pbx.config.hotline_number, None)


async def test_sip_info_keys_reach_asterisk(
    pbx: RunningPbx, ami: tuple[AmiClient, AmiWatch], tmp_path: Path
) -> None:
    _, watch = ami
    spec = _spec(pbx, tmp_path, dtmf="5", dtmf_mode="info", caller_id="0912000002")
    report = await place_call(spec)
    assert report.ok, _explain(report, pbx)
    info = [s for s in report.steps if s.cseq_method == "INFO"]
    assert [s.describe() for s in info] == ["→ INFO", "← 200 OK (INFO)"]
    await _until(lambda: watch.digits_received("0912000002") == "5")
    assert watch.digits_received("0912000002") == "5"


async def test_unknown_number_is_refused(pbx: RunningPbx, tmp_path: Path) -> None:
    report = await place_call(_spec(pbx, tmp_path, number="19001234"))
    assert report.refused, _explain(report, pbx)
    assert not report.answered
    assert report.final_status == 404
    assert report.hung_up_by is HangupParty.NOBODY
    assert report.steps[-1].describe() == "→ ACK"


async def test_pbx_hangs_up_and_the_audio_it_sent_is_captured(
    pbx: RunningPbx, ami: tuple[AmiClient, AmiWatch], tmp_path: Path
) -> None:
    client, watch = ami
    wav = tmp_path / "heard.wav"
    spec = _spec(
        pbx, tmp_path, caller_id="0912000003", hangup_after_s=None, max_call_s=15, record_to=wav
    )

    async def drive() -> None:
        start = await asyncio.wait_for(watch.agi_started.get(), 10)
        channel = start.get("Channel") or ""
        await client.agi(channel, 'STREAM FILE beep ""', timeout=10)
        await client.agi(channel, "HANGUP", timeout=10)

    driver = asyncio.create_task(drive())
    try:
        report = await place_call(spec)
    finally:
        if not driver.done():
            driver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await driver
    assert report.ok, _explain(report, pbx)
    assert report.hung_up_by is HangupParty.REMOTE
    assert not report.timed_out
    assert report.rtp_capture == wav
    heard = pcm_from_wav(wav.read_bytes())
    # Asterisk's beep: a fraction of a second of loud tone
    loud = np.abs(heard.astype(np.int32)) > 2000
    assert loud.sum() > 800, f"captured {len(heard)} samples, {loud.sum()} loud"


def test_hotline_call_command_prints_steps_and_observes_keys(
    pbx: RunningPbx,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hotline.cli import main

    host, port = pbx.sip_address
    ami_host, ami_port = pbx.ami_address
    for name, value in {
        "HOTLINE_SIP_HOST": host,
        "HOTLINE_SIP_PORT": str(port),
        "HOTLINE_AMI_HOST": ami_host,
        "HOTLINE_AMI_PORT": str(ami_port),
        "HOTLINE_AMI_USER": pbx.config.ami_user,
        "HOTLINE_AMI_SECRET": pbx.config.ami_secret,
        "HOTLINE_HOTLINE_NUMBER": pbx.config.hotline_number,
    }.items():
        monkeypatch.setenv(name, value)
    code = main(
        ["call", "--dtmf", "7", "--wait", "0.4", "--hangup-after", "1", "--caller", "0912000004",
         "--say", "Một hai ba", "--then", ",9", "--log-dir", str(tmp_path / "cli")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "SIP → INVITE" in out and "SIP ← 200 OK (INVITE)" in out and "SIP → BYE" in out
    assert "AMI the call is parked in AsyncAGI" in out
    assert "AMI Asterisk received key 7" in out
    assert "speech say.wav" in out  # synthesised with espeak-ng, sent after the key
    # --then: a key after the speech, in the same RTP stream
    assert "then keys ',9'" in out and "AMI Asterisk received key 9" in out
    assert out.index("received key 7") < out.index("received key 9")
    # wait, key and 1 s tail are ~100 packets of 230 bytes; the speech adds more than 0.5 s
    assert (tmp_path / "cli" / "input.pcap").stat().st_size > 230 * (100 + 25)
    assert "hung up by caller" in out

    refused = main(["call", "--number", "1900555", "--no-observe", "--expect-refusal",
                    "--log-dir", str(tmp_path / "cli2")])  # fmt: skip
    out = capsys.readouterr().out
    assert refused == 0, out
    assert "404 Not Found" in out


async def test_load_run_of_a_few_calls(pbx: RunningPbx, tmp_path: Path) -> None:
    from ivr.sipp import LoadSpec, run_load

    progress: list[tuple[int, int]] = []
    call = _spec(pbx, tmp_path, dtmf="1", wait_before_s=0.2, hangup_after_s=0.5,
                 caller_id="0913[call_number]")  # fmt: skip
    load = await run_load(
        LoadSpec(call, calls=6, rate_per_s=6), on_progress=lambda e, a: progress.append((e, a))
    )
    assert load.exit_code == 0, (load.errors, pbx.logs(30))
    assert (load.created, load.successful, load.failed) == (6, 6, 0)
    assert load.answered == 6 and load.refused == 0
    assert len(load.per_call()) == 6
    assert progress[-1] == (6, 6)
    assert "-r" in load.command and "-m" in load.command


async def test_caller_speech_reaches_asterisk(
    pbx: RunningPbx, ami: tuple[AmiClient, AmiWatch], tmp_path: Path
) -> None:
    """A 440 Hz tone played by the caller is what Asterisk records (RECORD FILE over AGI)."""
    client, watch = ami
    rate = 8000
    t = np.arange(int(1.6 * rate)) / rate
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    wav = tmp_path / "tone.wav"
    wav.write_bytes(wav_from_pcm(tone))
    name = f"sipp-speech-{tmp_path.name}"
    spec = _spec(pbx, tmp_path, caller_id="0912000005", wav=wav, wait_before_s=0.6,
                 hangup_after_s=1.0)  # fmt: skip

    async def drive() -> None:
        start = await asyncio.wait_for(watch.agi_started.get(), 10)
        channel = start.get("Channel") or ""
        # record from the answer: 0.6 s of silence, the 1.6 s tone, then silence
        await client.agi(channel, f"RECORD FILE {CHROOT_RECORDINGS}/{name} wav # 3000", timeout=10)

    driver = asyncio.create_task(drive())
    try:
        report = await place_call(spec)
        await asyncio.wait_for(driver, 10)
    finally:
        driver.cancel()
    assert report.ok, _explain(report, pbx)
    recorded = pcm_from_wav((pbx.config.recordings_dir / f"{name}.wav").read_bytes())
    loud = recorded[np.abs(recorded.astype(np.int32)) > 2000]
    assert len(loud) > 0.8 * rate, f"{len(recorded)} samples recorded, {len(loud)} loud"
    spectrum = np.abs(np.fft.rfft(recorded.astype(np.float64)))
    peak_hz = np.argmax(spectrum) * rate / len(recorded)
    assert abs(peak_hz - 440) < 10, f"recorded peak at {peak_hz:.0f} Hz"
