"""Capture of the RTP the PBX sends to the caller, on the loopback interface (adapter, Linux).

sipp 3.6 cannot record the media it receives (it can only echo it, `-rtp_echo`), so we listen
beside it: an AF_PACKET socket on `lo` (root only) sees every datagram to sipp's media port
without binding that port. Loopback shows each packet twice (outgoing and incoming); only the
incoming copy is kept. The capture is saved as a pcap (for Wireshark) and the μ-law payloads as
an 8 kHz WAV (to listen to the prompts, or measure them).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ivr.sipp.errors import SippError
from ivr.sipp.media import wav_from_pcm
from ivr.sipp.pcap import UdpRecord, encode_pcap
from ivr.sipp.rtp import PT_PCMU, RtpPacket
from speech.audio import ulaw_decode

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


@dataclass(slots=True)
class RtpCapture:
    """Collects UDP datagrams sent to `port` on loopback while running."""

    port: int
    interface: str = "lo"
    records: list[UdpRecord] = field(default_factory=list)
    _sock: socket.socket | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind((self.interface, 0))
        except (PermissionError, OSError) as exc:
            raise SippError(
                f"cannot capture RTP on {self.interface} for port {self.port}: {exc} "
                "(needs root and Linux AF_PACKET)"
            ) from exc
        sock.setblocking(False)
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        assert self._sock is not None
        loop_time = asyncio.get_running_loop().time()
        for _ in range(64):
            try:
                frame, address = self._sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            if address[2] == PACKET_OUTGOING:
                continue
            record = _udp_to_port(frame, self.port, loop_time)
            if record is not None:
                self.records.append(record)

    def stop(self) -> None:
        if self._sock is None:
            return
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None

    def audio_pcm(self) -> npt.NDArray[np.int16]:
        """The PCMU payloads in arrival order, decoded (no jitter handling: loopback)."""
        chunks = []
        for record in self.records:
            try:
                packet = RtpPacket.parse(record.payload)
            except SippError:
                continue
            if packet.payload_type == PT_PCMU:
                chunks.append(ulaw_decode(packet.payload))
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks)

    def save(self, wav_path: Path, pcap_path: Path | None = None) -> None:
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        wav_path.write_bytes(wav_from_pcm(self.audio_pcm()))
        if pcap_path is not None:
            first = self.records[0].time_s if self.records else 0.0
            shifted = [
                UdpRecord(r.time_s - first + 1.0, r.src, r.sport, r.dst, r.dport, r.payload)
                for r in self.records
            ]
            pcap_path.write_bytes(encode_pcap(shifted))


def _udp_to_port(frame: bytes, port: int, time_s: float) -> UdpRecord | None:
    # loopback frames carry a 14-byte Ethernet header of zeros
    if len(frame) < 14 + 28 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    if ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 0x0F) * 4
    sport, dport, length, _ = struct.unpack_from("!HHHH", ip, ihl)
    if dport != port or sport == port:
        return None
    return UdpRecord(
        time_s=time_s,
        src=socket.inet_ntoa(ip[12:16]),
        sport=sport,
        dst=socket.inet_ntoa(ip[16:20]),
        dport=dport,
        payload=bytes(ip[ihl + 8 : ihl + length]),
    )
