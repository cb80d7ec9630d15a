"""Mounts under a chroot: find them (/proc/self/mountinfo) and take them down, deepest first.

Asterisk runs in its own mount namespace (see runner.py), so its proc/sys/dev/pts/shm and the
prompts/recordings bind mounts vanish with it and the host namespace normally holds none. This
module is the safety net: `down()` and the deletion of a root call `unmount_under()` and refuse
to go on while anything is still mounted — `rm -rf` through a live bind mount would delete the
host's prompts or recordings.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ivr.pbx.errors import PbxStopError

_OCTAL = re.compile(r"\\([0-7]{3})")


def parse_mountinfo(text: str) -> list[Path]:
    """Mount points listed in a /proc/<pid>/mountinfo text, in file order."""
    points: list[Path] = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) < 5:
            continue
        points.append(Path(_OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[4])))
    return points


def mounts_under(root: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points at or below `root`, deepest first (the order to unmount them in)."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
    root = Path(root)
    found = {p for p in parse_mountinfo(mountinfo) if p == root or root in p.parents}
    return sorted(found, key=lambda p: (len(p.parts), str(p)), reverse=True)


def unmount_under(root: Path) -> list[Path]:
    """Unmount everything at or below `root` (lazily if busy); idempotent. Returns what went."""
    removed: list[Path] = []
    for _ in range(5):  # stacked mounts on one point need one pass each
        points = mounts_under(root)
        if not points:
            return removed
        for point in points:
            done = subprocess.run(["umount", str(point)], capture_output=True, check=False)
            if done.returncode != 0:
                subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)
            removed.append(point)
    left = mounts_under(root)
    if left:
        raise PbxStopError(
            f"still mounted under {root} after unmounting: {', '.join(map(str, left))}"
        )
    return removed
