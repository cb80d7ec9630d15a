"""The built chroot as a cached zstd tarball: its key, the build (once, under a lock), restore.

The key is a hash of asterisk/build-chroot.sh and asterisk/packages.txt, so editing either one
builds a new tarball. Two test sessions that miss the cache at once build it once: the second
waits on a file lock and then finds the tarball. `tar --numeric-owner` both ways: uid 101 is
`asterisk` inside the chroot and someone else (or no one) outside.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ivr.pbx.config import PbxConfig
from ivr.pbx.errors import PbxBuildError
from ivr.pbx.mounts import mounts_under, unmount_under

log = logging.getLogger(__name__)

STAMP_NAME = "stamp"


def cache_key(build_script: Path, packages_file: Path) -> str:
    digest = hashlib.sha256()
    for path in (build_script, packages_file):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def tarball_path(config: PbxConfig) -> Path:
    key = cache_key(config.build_script, config.packages_file)
    return config.cache_dir / f"asterisk-sid-{key}.tar.zst"


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_tarball(config: PbxConfig, *, log_path: Path | None = None) -> tuple[Path, float]:
    """The cached tarball, built first if missing. Returns (path, seconds spent building)."""
    tarball = tarball_path(config)
    if tarball.is_file():
        return tarball, 0.0
    with _locked(config.cache_dir / "build.lock"):
        if tarball.is_file():  # another session built it while we waited
            return tarball, 0.0
        started = time.monotonic()
        build_root = config.cache_dir / f"build-{tarball.stem.split('.')[0]}"
        remove_tree(build_root)
        log.warning(
            "Asterisk chroot not cached (%s): building it with %s (about a minute)",
            tarball.name,
            config.build_script,
        )
        log_path = log_path or config.cache_dir / "build.log"
        command = [str(config.build_script), str(build_root), str(tarball)]
        if config.debian_mirror:
            command.append(config.debian_mirror)
        with log_path.open("w") as out:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        remove_tree(build_root)
        if done.returncode != 0 or not tarball.is_file():
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
            raise PbxBuildError(
                f"building the Asterisk chroot failed (exit {done.returncode}); "
                f"full log {log_path}:\n{tail}"
            )
        return tarball, time.monotonic() - started


def remove_tree(root: Path) -> None:
    """Delete a chroot, after making sure nothing is mounted under it (never rm a bind mount)."""
    if not root.exists():
        return
    unmount_under(root)
    if mounts_under(root):
        raise PbxBuildError(f"refusing to delete {root}: something is still mounted under it")
    shutil.rmtree(root)


def restored_key(root: Path) -> str | None:
    stamp = root / ".hotline" / STAMP_NAME
    return stamp.read_text().strip() if stamp.is_file() else None


def restore(config: PbxConfig, tarball: Path) -> None:
    """Replace `config.root` with the tarball's tree (the caller made sure it is not running)."""
    root = config.root
    remove_tree(root)
    staging = root.with_name(root.name + ".restoring")
    remove_tree(staging)
    staging.mkdir(parents=True)
    done = subprocess.run(
        ["tar", "--numeric-owner", "-I", "zstd -T0", "-xpf", str(tarball), "-C", str(staging)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        remove_tree(staging)
        raise PbxBuildError(f"restoring {tarball} into {root} failed: {done.stderr.strip()}")
    (staging / ".hotline").mkdir(exist_ok=True)
    (staging / ".hotline" / STAMP_NAME).write_text(tarball.name.split(".")[0] + "\n")
    staging.rename(root)
