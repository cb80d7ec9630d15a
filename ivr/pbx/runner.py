"""`LocalPbx`: restore, configure, start, probe and stop one local Asterisk in its chroot.

Strategy: Asterisk is started as
`unshare --mount --propagation private -- sh -c '<mounts>; exec chroot ROOT asterisk -f ...'`
in a new session (`start_new_session=True`), stdout/stderr to a log file. Every mount it needs
(proc, sys read-only, dev/pts, a tmpfs on dev/shm, prompts read-only, recordings read-write)
lives in that private mount namespace, so they disappear with the process even when it is
killed: nothing leaks into the host namespace and a crashed run leaves nothing to clean up.
`unshare`, `sh` and `chroot` exec in turn, so the pid we get IS Asterisk's pid. We only ever
signal that pid, after checking /proc/<pid>/root is our root; never a process group, never
pid 1. The control socket (ROOT/run/asterisk/asterisk.ctl) is reached from the host with
`chroot ROOT asterisk -rx`, which needs no mounts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.pbx.cache import ensure_tarball, restore, restored_key, tarball_path
from ivr.pbx.config import CHROOT_PROMPTS, CHROOT_RECORDINGS, LOOPBACK, PbxConfig
from ivr.pbx.dialplan_check import assert_safe
from ivr.pbx.errors import PbxError, PbxPortError, PbxStartError, PbxStopError
from ivr.pbx.mounts import mounts_under, unmount_under
from ivr.pbx.render import render_all

log = logging.getLogger(__name__)

ASTERISK = "/usr/sbin/asterisk"
_LOG_TAIL_BYTES = 256 * 1024
_LOG_ROTATE_BYTES = 20 * 1024 * 1024  # at start; the previous run's log is kept as .1
_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/var/lib/asterisk"}
_START_SCRIPT = f"""set -eu
R="$1"
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount --bind /dev/pts "$R/dev/pts"
mount -t tmpfs -o mode=1777,size=64m shm "$R/dev/shm"
mount --bind "$2" "$R{CHROOT_PROMPTS}"
mount -o remount,bind,ro "$R{CHROOT_PROMPTS}"
mount --bind "$3" "$R{CHROOT_RECORDINGS}"
exec chroot "$R" {ASTERISK} -f -n -U asterisk -G asterisk -vvv
"""


@dataclass(frozen=True)
class UpReport:
    """What `up()` did and how long each part took (seconds)."""

    pid: int
    already_running: bool
    built_s: float
    restored_s: float
    booted_s: float
    total_s: float
    stale_configs: tuple[str, ...] = ()  # already running with other configs than settings say

    def summary(self) -> str:
        if self.already_running:
            text = f"Asterisk already running (pid {self.pid})"
            if self.stale_configs:
                text += (
                    f"; its {', '.join(self.stale_configs)} differ from the settings now: "
                    "`hotline pbx down && hotline pbx up` to apply them"
                )
            return text
        parts = []
        if self.built_s:
            parts.append(f"built {self.built_s:.1f} s")
        parts.append(f"restored {self.restored_s:.1f} s" if self.restored_s else "root reused")
        parts.append(f"booted {self.booted_s:.1f} s")
        return f"Asterisk running (pid {self.pid}) in {self.total_s:.1f} s ({', '.join(parts)})"


@dataclass(frozen=True)
class PbxStatus:
    running: bool
    pid: int | None
    root: Path
    restored: bool
    mounts: tuple[Path, ...]
    uptime: str = ""


def _port_taken(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        if kind == socket.SOCK_STREAM:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def _proc_state(pid: int) -> str | None:
    """The one-letter state of a pid, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


class LocalPbx:
    """One local Asterisk described by a PbxConfig. Not thread-safe; one per root."""

    def __init__(self, config: PbxConfig, *, boot_timeout_s: float = 30.0) -> None:
        self.config = config
        self.boot_timeout_s = boot_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def attach(cls, root: Path) -> LocalPbx:
        """A LocalPbx for an existing root whose PbxConfig is unknown (a stray test PBX).

        Only pid(), status(), logs(), rx() and down() are meaningful: the ports and secret of
        the placeholder config are not the real ones.
        """
        placeholder = PbxConfig(
            root=root,
            ami_port=1024,
            ami_user="unknown",
            ami_secret="unknown-secret",
            sip_port=1025,
            rtp_start=1030,
            rtp_end=1040,
            audiosocket_port=1026,
            hotline_number="000",
            agent_queue="unknown",
            prompts_dir=root / "unknown",
            recordings_dir=root / "unknown",
        )
        return cls(placeholder)

    # --- queries ---------------------------------------------------------------------------
    def pid(self) -> int | None:
        """Asterisk's pid if it runs in our root (checked through /proc), else None."""
        candidates: list[int] = []
        if self._process is not None and self._process.poll() is None:
            candidates.append(self._process.pid)
        with contextlib.suppress(OSError, ValueError):
            candidates.append(int(self.config.pid_file.read_text().strip()))
        for pid in candidates:
            if self._is_ours(pid):
                return pid
        return None

    def _is_ours(self, pid: int) -> bool:
        if pid <= 1 or pid == os.getpid():
            return False
        state = _proc_state(pid)
        if state is None or state in "ZX":
            return False
        try:
            return os.readlink(f"/proc/{pid}/root") == os.path.realpath(self.config.root)
        except OSError:
            return False

    def status(self) -> PbxStatus:
        pid = self.pid()
        uptime = ""
        if pid is not None:
            with contextlib.suppress(PbxError):
                uptime = self.rx("core show uptime", timeout_s=3).strip()
        return PbxStatus(
            running=pid is not None,
            pid=pid,
            root=self.config.root,
            restored=(self.config.root / ASTERISK.lstrip("/")).is_file(),
            mounts=tuple(mounts_under(self.config.root)),
            uptime=uptime,
        )

    def logs(self, lines: int = 50) -> str:
        """The last `lines` lines of Asterisk's console output (the log file of this run)."""
        try:
            with self.config.log_file.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - _LOG_TAIL_BYTES))
                text = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def rx(self, command: str, *, timeout_s: float = 10.0) -> str:
        """Run an Asterisk CLI command through the control socket; its output."""
        try:
            done = subprocess.run(
                ["chroot", str(self.config.root), ASTERISK, "-rx", command],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=_ENV,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PbxError(f"asterisk -rx {command!r} timed out after {timeout_s} s") from exc
        if done.returncode != 0:
            raise PbxError(
                f"asterisk -rx {command!r} failed (exit {done.returncode}): "
                f"{(done.stdout + done.stderr).strip()[-300:]}"
            )
        return done.stdout

    # --- preparing the root ----------------------------------------------------------------
    def ensure_root(self) -> tuple[float, float]:
        """Restore the root from the cached tarball unless it is current. (built_s, restored_s)"""
        tarball = tarball_path(self.config)
        current = tarball.name.split(".")[0]
        asterisk = self.config.root / ASTERISK.lstrip("/")
        if restored_key(self.config.root) == current and asterisk.is_file():
            return 0.0, 0.0
        tarball, built_s = ensure_tarball(self.config)
        started = time.monotonic()
        restore(self.config, tarball)
        return built_s, time.monotonic() - started

    def stale_configs(self) -> tuple[str, ...]:
        """Config files in the root that differ from what the current PbxConfig renders."""
        etc = self.config.root / "etc/asterisk"
        stale: list[str] = []
        for name, text in render_all(self.config).items():
            try:
                if (etc / name).read_text(encoding="utf-8") != text:
                    stale.append(name)
            except OSError:
                stale.append(name)
        return tuple(stale)

    def _asterisk_ids(self) -> tuple[int, int]:
        for line in (self.config.root / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "asterisk":
                return int(fields[2]), int(fields[3])
        raise PbxStartError(f"no asterisk user in {self.config.root}/etc/passwd")

    def write_configs(self) -> dict[str, str]:
        """Render our configs into ROOT/etc/asterisk (owner asterisk, mode 0640).

        Refuses (DialplanError) a dialplan in which a caller could reach a Dial.
        """
        rendered = render_all(self.config)
        assert_safe(rendered["extensions.conf"], rendered["pjsip.conf"])
        uid, gid = self._asterisk_ids()
        etc = self.config.root / "etc/asterisk"
        for name, text in rendered.items():
            target = etc / name
            tmp = target.with_name(f".{name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.chown(tmp, uid, gid)
            tmp.chmod(0o640)
            tmp.replace(target)
        return rendered

    def _prepare_dirs(self) -> None:
        uid, gid = self._asterisk_ids()
        self.config.prompts_dir.mkdir(parents=True, exist_ok=True)
        self.config.recordings_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.config.recordings_dir, uid, gid)
        for inner in (CHROOT_PROMPTS, CHROOT_RECORDINGS, "/run/asterisk"):
            (self.config.root / inner.lstrip("/")).mkdir(parents=True, exist_ok=True)
        os.chown(self.config.root / "run/asterisk", uid, gid)
        self.config.state_dir.mkdir(parents=True, exist_ok=True)

    # --- up / down -------------------------------------------------------------------------
    def up(self) -> UpReport:
        """Start Asterisk (restoring the root first if needed); returns once fully booted."""
        started = time.monotonic()
        running = self.pid()
        if running is not None:
            return UpReport(running, True, 0.0, 0.0, 0.0, 0.0, self.stale_configs())
        if os.geteuid() != 0:
            raise PbxStartError("the local Asterisk needs root (chroot, mounts); run as root")
        unmount_under(self.config.root)  # leftovers of an older run, if any
        built_s, restored_s = self.ensure_root()
        self.write_configs()
        self._prepare_dirs()
        for port, kind, name in (
            (self.config.ami_port, socket.SOCK_STREAM, "AMI tcp"),
            (self.config.sip_port, socket.SOCK_DGRAM, "SIP udp"),
        ):
            if _port_taken(port, kind):
                raise PbxPortError(
                    f"cannot start Asterisk in {self.config.root}: {name} port "
                    f"{LOOPBACK}:{port} is taken (another Asterisk? `hotline pbx status`)"
                )
        boot_started = time.monotonic()
        pid = self._spawn()
        try:
            self._wait_booted(pid)
            self._check_listening()
        except BaseException:
            self.down()
            raise
        now = time.monotonic()
        return UpReport(pid, False, built_s, restored_s, now - boot_started, now - started)

    def _spawn(self) -> int:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.config.log_file
        if log_file.is_file() and log_file.stat().st_size > _LOG_ROTATE_BYTES:
            log_file.replace(log_file.with_name(log_file.name + ".1"))
        with log_file.open("ab") as out:
            out.write(f"--- hotline pbx up {time.strftime('%F %T')} ---\n".encode())
            out.flush()
            self._process = subprocess.Popen(
                [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "--",
                    "/bin/sh",
                    "-c",
                    _START_SCRIPT,
                    "hotline-pbx",
                    str(self.config.root),
                    str(self.config.prompts_dir),
                    str(self.config.recordings_dir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=_ENV,
            )
        self.config.pid_file.write_text(f"{self._process.pid}\n")
        return self._process.pid

    def _wait_booted(self, pid: int) -> None:
        deadline = time.monotonic() + self.boot_timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise PbxStartError(
                    f"Asterisk in {self.config.root} exited with {self._process.returncode} "
                    f"while booting; last lines of {self.config.log_file}:\n{self.logs(25)}"
                )
            try:
                self.rx("core waitfullybooted", timeout_s=max(1.0, deadline - time.monotonic()))
                return
            except PbxError:
                time.sleep(0.05)
        raise PbxStartError(
            f"Asterisk (pid {pid}) in {self.config.root} not fully booted after "
            f"{self.boot_timeout_s} s; last lines of {self.config.log_file}:\n{self.logs(25)}"
        )

    def _check_listening(self) -> None:
        """waitfullybooted succeeds even when a port could not be bound: check both."""
        try:
            with socket.create_connection(self.config.ami_address, timeout=3) as ami:
                banner = ami.recv(64)
        except OSError as exc:
            raise PbxPortError(
                f"Asterisk booted but AMI {LOOPBACK}:{self.config.ami_port} refuses: {exc}"
            ) from exc
        if not banner.startswith(b"Asterisk Call Manager"):
            raise PbxStartError(f"AMI port {self.config.ami_port} answered {banner!r}")
        if not _port_taken(self.config.sip_port, socket.SOCK_DGRAM):
            raise PbxPortError(
                f"Asterisk booted but nothing listens on SIP {LOOPBACK}:{self.config.sip_port}/udp;"
                f" last lines of {self.config.log_file}:\n{self.logs(25)}"
            )

    def down(self, *, timeout_s: float = 10.0) -> bool:
        """Stop Asterisk and make sure nothing stays mounted. Idempotent. True if it ran."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(PbxError):
                self.rx("core stop now", timeout_s=min(5.0, timeout_s))
            if not self._wait_gone(pid, timeout_s):
                log.warning("Asterisk pid %d ignored 'core stop now'; sending SIGTERM", pid)
                self._signal(pid, signal.SIGTERM)
                if not self._wait_gone(pid, 3.0):
                    self._signal(pid, signal.SIGKILL)
                    if not self._wait_gone(pid, 3.0):
                        raise PbxStopError(f"Asterisk pid {pid} in {self.config.root} won't die")
        self._reap()
        return pid is not None

    def kill(self) -> bool:
        """Crash Asterisk on purpose (SIGKILL, no shutdown), for tests of what survives that.

        Its mounts go with its namespace; `up()` afterwards starts it again. True if it ran.
        """
        pid = self.pid()
        if pid is not None:
            self._signal(pid, signal.SIGKILL)
            if not self._wait_gone(pid, 5.0):
                raise PbxStopError(f"Asterisk pid {pid} in {self.config.root} survived SIGKILL")
        self._reap()
        return pid is not None

    def _reap(self) -> None:
        """After Asterisk is gone: collect our child, sweep leftover mounts, drop the pid file."""
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=1)
            self._process = None
        unmount_under(self.config.root)
        self.config.pid_file.unlink(missing_ok=True)

    def _signal(self, pid: int, signum: signal.Signals) -> None:
        if self._is_ours(pid):  # re-check right before: pids get reused
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _wait_gone(self, pid: int, timeout_s: float) -> bool:
        alive: Callable[[], bool] = lambda: self._is_ours(pid)  # noqa: E731
        if self._process is not None and self._process.pid == pid:
            process = self._process
            alive = lambda: process.poll() is None  # noqa: E731
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not alive():
                return True
            time.sleep(0.05)
        return not alive()
