"""The local PBX: a real Asterisk (Debian sid) in a cached chroot, on 127.0.0.1 only.

`PbxConfig` says what one Asterisk is (root, ports, secrets, dirs); `LocalPbx(config)` restores,
configures, starts (`up`), probes (`status`, `logs`, `rx`) and stops (`down`) it. The chroot is
built once by asterisk/build-chroot.sh and cached as a zstd tarball (cache.py).
"""

from __future__ import annotations

from ivr.pbx.config import (
    CHROOT_PROMPTS,
    CHROOT_RECORDINGS,
    LOOPBACK,
    AgentPhone,
    PbxConfig,
    parse_agent_phones,
)
from ivr.pbx.errors import (
    DialplanError,
    PbxBuildError,
    PbxConfigError,
    PbxError,
    PbxPortError,
    PbxStartError,
    PbxStopError,
)
from ivr.pbx.runner import LocalPbx, PbxStatus, UpReport

__all__ = [
    "CHROOT_PROMPTS",
    "CHROOT_RECORDINGS",
    "LOOPBACK",
    "AgentPhone",
    "DialplanError",
    "LocalPbx",
    "PbxBuildError",
    "PbxConfig",
    "PbxConfigError",
    "PbxError",
    "PbxPortError",
    "PbxStartError",
    "PbxStatus",
    "PbxStopError",
    "UpReport",
    "parse_agent_phones",
]
