"""Run the local Asterisk: Debian sid's asterisk in a chroot, listening on 127.0.0.1 only.

  hotline pbx up              restore the cached chroot (the first time: build it with
                              asterisk/build-chroot.sh, about a minute), render our configs,
                              start Asterisk and wait until it is fully booted (~2 s)
  hotline pbx status          running or not: pid, ports, root, uptime
  hotline pbx logs -n 100     the last lines of Asterisk's console output (-f: keep following)
  hotline pbx cli 'pjsip show endpoints'
                              run an Asterisk CLI command in the running PBX
  hotline pbx render          print the configs as they would be written (secret masked) and
                              check the dialplan for toll fraud; --out DIR writes them
  hotline pbx down            'core stop now', wait, unmount; the root stays for a fast restart
                              (--purge deletes it too)

Example: HOTLINE_AMI_SECRET=$(openssl rand -hex 16) hotline pbx up && hotline call --dtmf 1

Needs root (chroot, mounts) and the host packages debootstrap, zstd and sip-tester
(`make system`). Settings: HOTLINE_AMI_PORT/_USER/_SECRET, HOTLINE_SIP_PORT,
HOTLINE_RTP_PORT_START/_END, HOTLINE_AUDIOSOCKET_PORT, HOTLINE_HOTLINE_NUMBER,
HOTLINE_AGENT_PHONES (agents' phones on 127.0.0.1: "agent-101@5071,..."),
HOTLINE_ASTERISK_CHROOT (default var/asterisk-root), HOTLINE_ASTERISK_CACHE_DIR (the tarball),
HOTLINE_DEBIAN_MIRROR (default: the host's apt mirror).
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hotline.settings import Settings
from ivr.pbx import AgentPhone, LocalPbx, PbxConfig, PbxError, parse_agent_phones
from ivr.pbx.cache import remove_tree, tarball_path
from ivr.pbx.dialplan_check import assert_safe
from ivr.pbx.freeports import pick_ports
from ivr.pbx.render import render_all

HELP = "the local Asterisk (chroot on 127.0.0.1): up | down | status | logs | cli | render"


def config_from_settings(settings: Settings) -> PbxConfig:
    """The shared default PBX of `hotline pbx up`, `make run` and `make test`."""
    return PbxConfig(
        root=settings.chroot_dir.resolve(),
        ami_port=settings.ami_port,
        ami_user=settings.ami_user,
        ami_secret=settings.ami_secret,
        sip_port=settings.sip_port,
        rtp_start=settings.rtp_port_start,
        rtp_end=settings.rtp_port_end,
        audiosocket_port=settings.audiosocket_port,
        hotline_number=settings.hotline_number,
        agent_queue=settings.agent_queue,
        prompts_dir=settings.prompts_path.resolve(),
        recordings_dir=(settings.recordings_dir or settings.state_dir / "recordings").resolve(),
        cache_dir=settings.asterisk_cache_dir,
        debian_mirror=settings.debian_mirror,
        dialplans_dir=settings.dialplans_dir,
        agent_phones=parse_agent_phones(settings.agent_phones),
    )


def private_config(
    settings: Settings,
    base: Path,
    *,
    ami_user: str = "hotline-test",
    rtp_span: int | None = None,
    cache_dir: Path | None = None,
    agents: Sequence[str] = (),
) -> PbxConfig:
    """A private PBX under `base` (tests, benchmarks): free random ports, a random AMI secret,
    its own prompts and recordings dirs, a phone for each of `agents` on a free port; the rest
    from `settings`."""
    extra = len(agents)
    ports = pick_ports(extra=extra) if rtp_span is None else pick_ports(rtp_span, extra=extra)
    return PbxConfig(
        root=base / "root",
        ami_port=ports.ami_port,
        ami_user=ami_user,
        ami_secret=secrets.token_hex(16),
        sip_port=ports.sip_port,
        rtp_start=ports.rtp_start,
        rtp_end=ports.rtp_end,
        audiosocket_port=ports.audiosocket_port,
        hotline_number=settings.hotline_number,
        agent_queue=settings.agent_queue,
        prompts_dir=base / "prompts",
        recordings_dir=base / "recordings",
        cache_dir=cache_dir or settings.asterisk_cache_dir,
        debian_mirror=settings.debian_mirror,
        dialplans_dir=settings.dialplans_dir,
        agent_phones=tuple(AgentPhone(n, p) for n, p in zip(agents, ports.extra, strict=True)),
    )


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="restore (or build), configure and start Asterisk")
    up.add_argument(
        "--rebuild", action="store_true", help="build a fresh chroot tarball first (~1 min)"
    )
    down = sub.add_parser("down", help="stop Asterisk and unmount everything")
    down.add_argument("--purge", action="store_true", help="also delete the chroot root")
    sub.add_parser("status", help="is it running? pid, ports, root")
    logs = sub.add_parser("logs", help="the last lines of Asterisk's console output")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    cli = sub.add_parser("cli", help="run an Asterisk CLI command, e.g. 'core show channels'")
    cli.add_argument("cli_command", metavar="COMMAND", help="the CLI command, quoted")
    render = sub.add_parser("render", help="render the configs and check the dialplan")
    render.add_argument("--out", type=Path, help="write the files into this directory")
    render.add_argument(
        "--show-secrets", action="store_true", help="print the AMI secret instead of ***"
    )


def _ports(config: PbxConfig) -> str:
    return (
        f"AMI 127.0.0.1:{config.ami_port}/tcp (user {config.ami_user}), "
        f"SIP 127.0.0.1:{config.sip_port}/udp, RTP {config.rtp_start}-{config.rtp_end}/udp, "
        f"AudioSocket -> 127.0.0.1:{config.audiosocket_port}, number {config.hotline_number}"
    ) + "".join(f", agent phone {a.interface} -> 127.0.0.1:{a.port}" for a in config.agent_phones)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        config = config_from_settings(settings)
        return _ACTIONS[args.action](args, config, LocalPbx(config))
    except PbxError as exc:
        print(f"hotline pbx {args.action}: {exc}", file=sys.stderr)
        return 1


def _up(args: argparse.Namespace, config: PbxConfig, local: LocalPbx) -> int:
    if args.rebuild:
        local.down()
        tarball_path(config).unlink(missing_ok=True)
        remove_tree(config.root)
    if not tarball_path(config).is_file():
        logging.getLogger("ivr.pbx").info(
            "no cached chroot %s: building it (about a minute, once)", tarball_path(config)
        )
    report = local.up()
    print(report.summary())
    print(_ports(config))
    print(f"root {config.root}; log {config.log_file}")
    return 0


def _down(args: argparse.Namespace, config: PbxConfig, local: LocalPbx) -> int:
    was_running = local.down()
    print("Asterisk stopped" if was_running else "Asterisk was not running", end="")
    if args.purge:
        remove_tree(config.root)
        print(f"; deleted {config.root}", end="")
    print()
    return 0


def _status(args: argparse.Namespace, config: PbxConfig, local: LocalPbx) -> int:
    status = local.status()
    if status.running:
        print(f"Asterisk running (pid {status.pid}) in {config.root}")
        print(_ports(config))
        if status.uptime:
            print(status.uptime)
    else:
        restored = "restored" if status.restored else "not restored yet"
        print(f"Asterisk not running (root {config.root}: {restored})")
    if status.mounts:
        print("mounted under the root: " + ", ".join(map(str, status.mounts)))
    return 0 if status.running else 3


def _logs(args: argparse.Namespace, config: PbxConfig, local: LocalPbx) -> int:
    text = local.logs(args.lines)
    print(text if text else f"(no log yet at {config.log_file})", flush=True)
    if args.follow:
        position = config.log_file.stat().st_size if config.log_file.is_file() else 0
        while True:  # until Ctrl-C (the CLI turns it into exit code 130)
            time.sleep(0.5)
            if not config.log_file.is_file():
                continue
            size = config.log_file.stat().st_size
            if size < position:  # rotated at a restart
                position = 0
            if size > position:
                with config.log_file.open("rb") as handle:
                    handle.seek(position)
                    chunk = handle.read()
                position += len(chunk)
                sys.stdout.write(chunk.decode("utf-8", errors="replace"))
                sys.stdout.flush()
    return 0


def _cli(args: argparse.Namespace, config: PbxConfig, local: LocalPbx) -> int:
    if local.pid() is None:
        print(f"Asterisk is not running in {config.root} (`hotline pbx up`)", file=sys.stderr)
        return 3
    print(local.rx(args.cli_command), end="")
    return 0


def _render(args: argparse.Namespace, config: PbxConfig, local: LocalPbx) -> int:
    rendered = render_all(config)
    reachable = assert_safe(rendered["extensions.conf"], rendered["pjsip.conf"])
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in rendered.items():
            target = args.out / name
            target.write_text(text, encoding="utf-8")
            target.chmod(0o600)
        print(f"wrote {len(rendered)} files to {args.out}")
    else:
        for name, text in sorted(rendered.items()):
            if not args.show_secrets:
                text = text.replace(config.ami_secret, "***")
            print(f";;;; ===== {name} =====\n{text}")
    print(f"dialplan OK: callers reach only {', '.join(sorted(reachable))}; none of them dials")
    return 0


_ACTIONS = {
    "up": _up,
    "down": _down,
    "status": _status,
    "logs": _logs,
    "cli": _cli,
    "render": _render,
}
