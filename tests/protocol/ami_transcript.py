"""Reader of the recorded AMI transcripts in tests/protocol/transcripts/.

Owned by the ivr/ami work. A transcript is blocks headed ``### >>> SENT t=...`` (what the
client wrote) or ``### <<< RECV t=...`` (what Asterisk sent), each block one AMI message; the
``###`` lines are annotations. The files store bare LF; `Block.wire` gives the CRLF bytes that
were on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TRANSCRIPTS = Path(__file__).parent / "transcripts"


@dataclass(frozen=True)
class Block:
    direction: str  # "SENT" or "RECV"
    lines: tuple[str, ...]

    @property
    def wire(self) -> bytes:
        return ("".join(f"{line}\r\n" for line in self.lines) + "\r\n").encode("utf-8")

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        pairs = (line.partition(":") for line in self.lines)
        return tuple((k, v[1:] if v.startswith(" ") else v) for k, _, v in pairs)

    def get(self, key: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == key.lower():
                return v
        return None


def load(name: str) -> list[Block]:
    blocks: list[Block] = []
    direction: str | None = None
    lines: list[str] = []
    for line in (TRANSCRIPTS / name).read_text(encoding="utf-8").split("\n"):
        if line.startswith("### "):
            direction = "SENT" if ">>> SENT" in line else "RECV"
            lines = []
        elif line == "":
            if direction is not None and lines:
                blocks.append(Block(direction, tuple(lines)))
            direction, lines = None, []
        elif direction is not None:
            lines.append(line)
    if direction is not None and lines:
        blocks.append(Block(direction, tuple(lines)))
    return blocks


def received_wire(name: str) -> bytes:
    """Everything Asterisk sent in transcript `name`, as CRLF wire bytes."""
    return b"".join(b.wire for b in load(name) if b.direction == "RECV")
