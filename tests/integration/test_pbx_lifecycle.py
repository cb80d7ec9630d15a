"""The private Asterisk of the `pbx` fixture really runs: AMI login, modules, dialplan, mounts.

Plus the full up -> down cycle of a second LocalPbx: no process and no mount left behind.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.pbx import LocalPbx
from ivr.pbx.cache import remove_tree
from ivr.pbx.mounts import mounts_under
from tests.fixtures.pbx import OWNER_FILE, RunningPbx, make_private_config, reap_strays

pytestmark = pytest.mark.asterisk


def _ami_login(address: tuple[str, int], user: str, secret: str) -> str:
    with socket.create_connection(address, timeout=5) as conn:
        login = f"Action: Login\r\nActionID: t1\r\nUsername: {user}\r\nSecret: {secret}\r\n"
        conn.sendall(login.encode() + b"\r\n")
        data = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in data.split(b"\r\n", 1)[-1] and time.monotonic() < deadline:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode()


def test_ami_login_with_the_rendered_secret(pbx: RunningPbx) -> None:
    reply = _ami_login(pbx.ami_address, pbx.config.ami_user, pbx.config.ami_secret)
    assert reply.startswith("Asterisk Call Manager/")
    assert "Response: Success" in reply


def test_the_ami_user_may_not_originate_or_run_cli_commands(pbx: RunningPbx) -> None:
    with socket.create_connection(pbx.ami_address, timeout=5) as conn:
        reader = conn.makefile("rb")
        reader.readline()  # banner
        counter = iter(range(1, 100))

        def action(*lines: str) -> str:
            """Send an action; the response block with our ActionID (events are skipped)."""
            action_id = f"priv{next(counter)}"
            wire = "".join(f"{line}\r\n" for line in (*lines, f"ActionID: {action_id}"))
            conn.sendall(wire.encode() + b"\r\n")
            while True:
                block: list[str] = []
                while line := reader.readline().decode().rstrip("\r\n"):
                    block.append(line)
                if f"ActionID: {action_id}" in block:
                    return "\n".join(block)

        user, secret = pbx.config.ami_user, pbx.config.ami_secret
        assert "Success" in action("Action: Login", f"Username: {user}", f"Secret: {secret}")
        originate = action("Action: Originate", "Channel: Local/1@hotline-in", "Application: NoOp")
        assert "Response: Error" in originate and "Permission denied" in originate
        command = action("Action: Command", "Command: core show version")
        assert "Response: Error" in command and "Permission denied" in command


def test_ami_login_with_a_wrong_secret_is_refused(pbx: RunningPbx) -> None:
    reply = _ami_login(pbx.ami_address, pbx.config.ami_user, "not-the-secret")
    assert "Response: Error" in reply


def test_the_modules_the_hotline_needs_are_loaded_and_dial_is_not(pbx: RunningPbx) -> None:
    shown = pbx.rx("module show")
    for module in (
        "res_agi.so",
        "app_queue.so",
        "res_musiconhold.so",
        "app_audiosocket.so",
        "res_audiosocket.so",
        "app_mixmonitor.so",
        "chan_pjsip.so",
        "format_wav.so",
    ):
        assert module in shown, f"{module} not loaded:\n{pbx.logs()}"
    for module in ("app_dial.so", "app_originate.so", "app_system.so", "func_shell.so"):
        assert module not in shown


def test_listens_on_loopback_only(pbx: RunningPbx) -> None:
    transports = pbx.rx("pjsip show transports")
    assert f"127.0.0.1:{pbx.config.sip_port}" in transports
    settings = pbx.rx("manager show settings")
    assert "127.0.0.1" in settings


def test_prompts_and_recordings_are_mounted_inside(pbx: RunningPbx) -> None:
    pid = pbx.local.pid()
    assert pid is not None
    inner = Path(f"/proc/{pid}/mountinfo").read_text()
    assert "/var/lib/hotline/prompts ro," in inner
    assert "/var/lib/hotline/recordings rw," in inner
    # ...and only inside Asterisk's own mount namespace, never in ours.
    assert mounts_under(pbx.root) == []


def test_up_down_kill_and_reaping_leave_no_process_and_no_mount(
    pbx: RunningPbx, tmp_path: Path
) -> None:
    config = make_private_config(tmp_path)
    local = LocalPbx(config)
    try:
        report = local.up()
        pid = report.pid
        assert local.status().running
        again = local.up()
        assert again.already_running and again.pid == pid and again.stale_configs == ()
        changed = LocalPbx(replace(config, ami_secret="another-secret-123"))
        assert changed.up().stale_configs == ("manager.conf",)
        assert Path(f"/proc/{pid}").exists()
        assert local.down() is True
        assert local.pid() is None
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
        assert mounts_under(config.root) == []
        assert local.down() is False  # idempotent

        # A crash (SIGKILL) leaves nothing mounted either, and the next up() works.
        pid = local.up().pid
        assert local.kill() is True
        assert local.pid() is None and mounts_under(config.root) == []

        # A stray of a dead test session is reaped; the live session's own PBX is left alone.
        pid = local.up().pid
        (tmp_path / OWNER_FILE).write_text("1 0\n")  # pid 1 never started at tick 0: dead owner
        assert pid in reap_strays(tmp_path.parent)
        assert local.pid() is None
        assert mounts_under(config.root) == []
        assert pbx.local.pid() is not None
    finally:
        local.down()
        remove_tree(config.root)
