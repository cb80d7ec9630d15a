"""Free loopback ports for a private Asterisk (tests, side-by-side sessions).

Ports are drawn at random below the kernel's ephemeral range (so outgoing connections never
take them in between) and checked by binding. Two sessions that draw at the same moment could
still collide; `LocalPbx.up()` then fails with a port error and the caller draws again.
"""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from pathlib import Path

from ivr.pbx.config import LOOPBACK

_LOW = 20000
_RTP_SPAN = 200


@dataclass(frozen=True)
class PortPlan:
    ami_port: int
    sip_port: int
    audiosocket_port: int
    rtp_start: int
    rtp_end: int
    extra: tuple[int, ...] = ()  # `extra` more single ports (agents' phones in tests)


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def pick_ports(
    rtp_span: int = _RTP_SPAN, *, rng: random.Random | None = None, extra: int = 0
) -> PortPlan:
    """Three (+ `extra`) single ports (free for tcp and udp) and a free even-aligned RTP block."""
    rng = rng or random.SystemRandom()
    high = max(_ephemeral_start(), _LOW + 4 * rtp_span)
    for _ in range(200):
        start = rng.randrange(_LOW, high - rtp_span - 3) & ~1
        rtp = range(start, start + rtp_span)
        if not all(_free(p, socket.SOCK_DGRAM) for p in rtp):
            continue
        singles: list[int] = []
        while len(singles) < 3 + extra:
            port = rng.randrange(_LOW, high)
            if port in rtp or port in singles:
                continue
            if _free(port, socket.SOCK_STREAM) and _free(port, socket.SOCK_DGRAM):
                singles.append(port)
        return PortPlan(
            singles[0], singles[1], singles[2], rtp.start, rtp.stop - 1, tuple(singles[3:])
        )
    raise OSError(f"no free block of {rtp_span} UDP ports on {LOOPBACK} in {_LOW}-{high}")
