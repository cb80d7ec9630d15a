"""`PbxConfig`: everything that makes one local Asterisk distinct (root, ports, secrets, dirs).

Built once by a composition root (`hotline.commands.pbx.config_from_settings`) or by the
test fixture with free ports; validated at construction so a bad port or an unsafe secret
fails before anything runs.
Everything listens on 127.0.0.1 only: the host is not a setting on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ivr.pbx.errors import PbxConfigError

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
ASTERISK_DIR = REPO_ROOT / "asterisk"
DIALPLANS_DIR = REPO_ROOT / "dialplans"

# Paths inside the chroot (the contract with the controller).
CHROOT_PROMPTS = "/var/lib/hotline/prompts"
CHROOT_RECORDINGS = "/var/lib/hotline/recordings"

# Asterisk config values end at ';' (comment) and at a newline; ',' and '[' have meanings too.
_SAFE_SECRET = re.compile(r"[A-Za-z0-9._~+/=@%^:-]{8,128}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DIGITS = re.compile(r"[0-9]{3,20}")
# Sections of pjsip.conf.tmpl an agent's endpoint name must not take over.
_RESERVED_SECTIONS = frozenset({"global", "transport-udp", "hotline-caller"})


@dataclass(frozen=True)
class AgentPhone:
    """An agent's SIP phone on this machine: endpoint `name`, reached at a static contact
    sip:name@127.0.0.1:port (no registration). Only app_queue ever calls it: the agent is a
    queue member (AMI QueueAdd), and no dialplan can dial it (app_dial is not loaded)."""

    name: str
    port: int

    def __post_init__(self) -> None:
        if not _SAFE_NAME.fullmatch(self.name) or self.name in _RESERVED_SECTIONS:
            raise PbxConfigError(
                f"agent phone name {self.name!r}: use [A-Za-z0-9_-], not a "
                f"reserved section ({', '.join(sorted(_RESERVED_SECTIONS))})"
            )
        if not 1024 <= self.port <= 65535:
            raise PbxConfigError(f"agent phone {self.name}: port {self.port} not in 1024..65535")

    @property
    def interface(self) -> str:
        """The queue member interface (AMI QueueAdd Interface=...)."""
        return f"PJSIP/{self.name}"


def parse_agent_phones(text: str) -> tuple[AgentPhone, ...]:
    """``"agent-101@5071,agent-102@5072"`` (HOTLINE_AGENT_PHONES) -> agent phones; "" -> none."""
    phones: list[AgentPhone] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, at, port = item.partition("@")
        if not at or not port.isdigit():
            raise PbxConfigError(f"agent phone {item!r}: expected NAME@PORT, e.g. agent-101@5071")
        phones.append(AgentPhone(name, int(port)))
    return tuple(phones)


@dataclass(frozen=True)
class PbxConfig:
    """One local Asterisk: its chroot `root`, its loopback ports and credentials, its dirs."""

    root: Path
    ami_port: int
    ami_user: str
    ami_secret: str
    sip_port: int
    rtp_start: int
    rtp_end: int
    audiosocket_port: int
    hotline_number: str
    agent_queue: str
    prompts_dir: Path
    recordings_dir: Path
    cache_dir: Path = field(default=Path.home() / ".cache" / "hotline")
    debian_mirror: str = ""
    dialplans_dir: Path = DIALPLANS_DIR
    asterisk_dir: Path = ASTERISK_DIR
    agent_phones: tuple[AgentPhone, ...] = ()

    def __post_init__(self) -> None:
        ports = {
            "ami_port": self.ami_port,
            "sip_port": self.sip_port,
            "rtp_start": self.rtp_start,
            "rtp_end": self.rtp_end,
            "audiosocket_port": self.audiosocket_port,
        }
        for name, port in ports.items():
            if not 1024 <= port <= 65535:
                raise PbxConfigError(f"PbxConfig.{name}={port}: must be within 1024..65535")
        if self.rtp_end - self.rtp_start < 10:
            raise PbxConfigError(
                f"PbxConfig RTP range {self.rtp_start}-{self.rtp_end}: needs at least 10 ports"
            )
        singles = [self.ami_port, self.audiosocket_port]
        if len(set(singles)) != len(singles) or any(
            self.rtp_start <= p <= self.rtp_end for p in (*singles, self.sip_port)
        ):
            raise PbxConfigError(
                f"PbxConfig ports overlap: ami {self.ami_port}, sip {self.sip_port}, audiosocket "
                f"{self.audiosocket_port}, rtp {self.rtp_start}-{self.rtp_end}"
            )
        agent_ports = [a.port for a in self.agent_phones]
        taken = {self.ami_port, self.audiosocket_port, self.sip_port}
        if len(set(agent_ports)) != len(agent_ports) or any(
            p in taken or self.rtp_start <= p <= self.rtp_end for p in agent_ports
        ):
            raise PbxConfigError(
                f"PbxConfig agent phone ports {agent_ports} overlap each other or the PBX's own"
            )
        names = [a.name for a in self.agent_phones]
        if len(set(names)) != len(names):
            raise PbxConfigError(f"PbxConfig agent phones: duplicate names in {names}")
        if not _SAFE_NAME.fullmatch(self.ami_user):
            raise PbxConfigError(f"PbxConfig.ami_user={self.ami_user!r}: use [A-Za-z0-9_-]")
        if not _SAFE_NAME.fullmatch(self.agent_queue):
            raise PbxConfigError(f"PbxConfig.agent_queue={self.agent_queue!r}: use [A-Za-z0-9_-]")
        if not _SAFE_SECRET.fullmatch(self.ami_secret):
            # Never echo the secret itself.
            raise PbxConfigError(
                "PbxConfig.ami_secret: 8-128 characters of [A-Za-z0-9._~+/=@%^:-] "
                "(';' starts a comment in Asterisk configs, whitespace ends the value)"
            )
        if not _DIGITS.fullmatch(self.hotline_number):
            raise PbxConfigError(f"PbxConfig.hotline_number={self.hotline_number!r}: digits only")
        if not self.root.is_absolute() or self.root == Path("/"):
            raise PbxConfigError(f"PbxConfig.root={self.root}: must be an absolute path, not /")

    # --- derived -------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def ami_address(self) -> tuple[str, int]:
        return (LOOPBACK, self.ami_port)

    @property
    def sip_address(self) -> tuple[str, int]:
        return (LOOPBACK, self.sip_port)

    @property
    def audiosocket_address(self) -> tuple[str, int]:
        return (LOOPBACK, self.audiosocket_port)

    @property
    def state_dir(self) -> Path:
        """Host-only files of the runner (pid, log, stamp), inside the root but unused by it."""
        return self.root / ".hotline"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "asterisk.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "asterisk.pid"

    @property
    def build_script(self) -> Path:
        return self.asterisk_dir / "build-chroot.sh"

    @property
    def packages_file(self) -> Path:
        return self.asterisk_dir / "packages.txt"

    @property
    def templates_dir(self) -> Path:
        return self.asterisk_dir / "config"

    @property
    def dialplan_template(self) -> Path:
        return self.dialplans_dir / "extensions.conf.tmpl"
