"""The built chroot as a cached zstd tarball: its key, the build (once, under a lock), restore.

The key is a hash of asterisk/build-chroot.sh and asterisk/packages.txt, so editing either one
builds a new tarball. Two test sessions that miss the cache at once build it once: the second
waits on a file lock and then finds the tarball. `tar --numeric-owner` both ways: uid 101 is
`asterisk` inside the chroot and someone else (or no one) outside.

Strategy for restoring: the tarball is unpacked once into a pristine tree next to it (the
"golden" tree); a root is then made by hard-linking the whole golden tree (320 MB, files
owned by root that Asterisk, running as uid asterisk, cannot write) and copying only the dirs
that are written to (WRITABLE_DIRS, ~100 kB). That takes about a second and no disk, where
unpacking the tarball takes 2.5 s idle and 15 s on a busy machine. Our configs are replaced
(new inode), never edited in place, so the golden tree stays pristine. When hard links are
impossible (another filesystem), the tarball is unpacked instead.
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
        _check_build_host()
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
        if done.returncode == 0 and tarball.is_file():
            # The built root is exactly what the tarball holds: keep it as the golden tree
            # rather than deleting 470 MB and unpacking them again.
            tree = _golden_path(tarball)
            remove_tree(tree)
            (build_root / ".complete").write_text(tarball.name + "\n")
            build_root.rename(tree)
            _drop_other_keys(config.cache_dir, keep=tarball)
        remove_tree(build_root)
        if done.returncode != 0 or not tarball.is_file():
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
            raise PbxBuildError(
                f"building the Asterisk chroot failed (exit {done.returncode}); "
                f"full log {log_path}:\n{tail}"
            )
        return tarball, time.monotonic() - started


DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


def _check_build_host() -> None:
    """Fail early, saying what to install, rather than half way through debootstrap."""
    missing = [
        tool
        for tool in ("debootstrap", "zstd", "unshare", "chroot", "tar")
        if not shutil.which(tool)
    ]
    if not DEBIAN_KEYRING.is_file():
        # Debian hosts have it; a fresh Ubuntu does not, and debootstrap of sid needs it.
        missing.append("debian-archive-keyring")
    if missing:
        packages = " ".join(
            sorted({"util-linux" if m in ("unshare", "chroot") else m for m in missing})
        )
        raise PbxBuildError(
            f"cannot build the Asterisk chroot, missing on this host: {', '.join(missing)} "
            f"(apt-get install {packages}; `make system` installs them)"
        )


def _drop_other_keys(cache_dir: Path, keep: Path) -> None:
    """Delete tarballs and golden trees of older keys (roots made from them keep their links)."""
    stem = keep.name.split(".")[0]
    for old in cache_dir.glob("asterisk-sid-*"):
        if old.name.split(".")[0] == stem:
            continue
        log.info("dropping the outdated cached chroot %s", old)
        if old.is_dir():
            remove_tree(old)
        else:
            old.unlink(missing_ok=True)


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


def unpack(tarball: Path, target: Path) -> None:
    done = subprocess.run(
        ["tar", "--numeric-owner", "-I", "zstd -T0", "-xpf", str(tarball), "-C", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PbxBuildError(f"unpacking {tarball} into {target} failed: {done.stderr.strip()}")


def _golden_path(tarball: Path) -> Path:
    return tarball.with_name(tarball.name.split(".")[0] + ".tree")


def golden_tree(config: PbxConfig, tarball: Path) -> Path:
    """The pristine unpacked tree of `tarball`, unpacked once (under the build lock)."""
    tree = _golden_path(tarball)
    if (tree / ".complete").is_file():
        return tree
    with _locked(config.cache_dir / "build.lock"):
        if (tree / ".complete").is_file():
            return tree
        partial = tree.with_name(tree.name + ".partial")
        remove_tree(partial)
        remove_tree(tree)
        partial.mkdir(parents=True)
        unpack(tarball, partial)
        (partial / ".complete").write_text(tarball.name + "\n")
        partial.rename(tree)
    return tree


# Directories Asterisk (uid asterisk) or our runner writes into: real copies, never links.
WRITABLE_DIRS = (
    "etc/asterisk",
    "run",
    "tmp",
    "var/cache/asterisk",
    "var/lib/asterisk",
    "var/log",
    "var/spool/asterisk",
)


def _link_copy(tree: Path, staging: Path) -> bool:
    """Hard-link the whole tree, then copy the writable dirs; False when links are impossible."""
    done = subprocess.run(
        ["cp", "-al", f"{tree}/.", str(staging)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        log.warning("cp -al %s failed: %s", tree, done.stderr.strip()[-300:])
        return False
    (staging / ".complete").unlink(missing_ok=True)
    for relative in WRITABLE_DIRS:
        source, target = tree / relative, staging / relative
        if not source.is_dir() or source.is_symlink():
            continue
        shutil.rmtree(target)
        done = subprocess.run(
            ["cp", "-a", str(source), str(target)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise PbxBuildError(f"copying {source} to {target} failed: {done.stderr.strip()}")
    return True


def restore(config: PbxConfig, tarball: Path) -> None:
    """Replace `config.root` with the tarball's tree (the caller made sure it is not running)."""
    root = config.root
    remove_tree(root)
    staging = root.with_name(root.name + ".restoring")
    remove_tree(staging)
    staging.mkdir(parents=True)
    try:
        linked = _link_copy(golden_tree(config, tarball), staging)
    except PbxBuildError as exc:
        log.warning("no golden tree (%s); unpacking the tarball instead", exc)
        linked = False
    if not linked:
        remove_tree(staging)
        staging.mkdir(parents=True)
        try:
            unpack(tarball, staging)
        except PbxBuildError:
            remove_tree(staging)
            raise
    (staging / ".hotline").mkdir(exist_ok=True)
    (staging / ".hotline" / STAMP_NAME).write_text(tarball.name.split(".")[0] + "\n")
    staging.rename(root)
