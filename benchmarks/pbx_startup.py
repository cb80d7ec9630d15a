"""Local Asterisk start-up figures: build, restore, boot, stop, memory — measured, not guessed.

What it does:
  1. (with --build) builds the chroot from nothing into a temporary cache dir with
     asterisk/build-chroot.sh and times it (debootstrap + apt-get + zstd; ~1 min idle);
  2. times unpacking the cached tarball into a fresh dir (the fallback restore path);
  3. --cycles times: restore a private root from the golden tree (hard links + copies of the
     writable dirs), start Asterisk until `core waitfullybooted`, read its RSS, `down()`, and
     delete the root; every cycle on free random loopback ports (never 5038/5060).

Examples:
  .venv/bin/python benchmarks/pbx_startup.py                 5 cycles on the cached chroot
  .venv/bin/python benchmarks/pbx_startup.py --cycles 10 --build

Needs: root, the host packages debootstrap and zstd (`make system`); the cached chroot is
built first when missing. Prints a table; the figures go into docs/benchmarks.md
`## Local Asterisk` by hand, with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hotline.commands.pbx import private_config
from hotline.settings import load_settings
from ivr.pbx import LocalPbx, PbxConfig
from ivr.pbx.cache import ensure_tarball, remove_tree, unpack


def make_config(base: Path, cache_dir: Path) -> PbxConfig:
    return private_config(load_settings(), base, ami_user="bench", cache_dir=cache_dir)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=5, help="restore+boot+stop cycles (5)")
    parser.add_argument("--build", action="store_true", help="also time a build from nothing")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (chroot, mounts)")
    console = Console()
    settings = load_settings()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="pbx-bench-") as tmp:
        base = Path(tmp)
        cache_dir = settings.asterisk_cache_dir
        if args.build:
            fresh = base / "fresh-cache"
            console.print("building the chroot from nothing (about a minute idle)...")
            _, built_s = ensure_tarball(make_config(base / "build", fresh))
            size = next(fresh.glob("*.tar.zst")).stat().st_size / 1e6
            rows.append(("build from nothing (s)", f"{built_s:.1f}"))
            rows.append(("tarball size (MB)", f"{size:.0f}"))
            cache_dir = fresh
        tarball, built_s = ensure_tarball(make_config(base / "probe", cache_dir))
        if built_s:
            rows.append(("build (cache was missing) (s)", f"{built_s:.1f}"))
        unpack_dir = base / "unpack"
        unpack_dir.mkdir()
        started = time.monotonic()
        unpack(tarball, unpack_dir)
        rows.append(("unpack tarball, fallback restore (s)", f"{time.monotonic() - started:.2f}"))
        remove_tree(unpack_dir)

        restored, booted, stopped, totals, rss = [], [], [], [], []
        with Progress(console=console) as progress:
            task = progress.add_task("restore + boot + stop", total=args.cycles)
            for cycle in range(args.cycles):
                config = make_config(base / f"c{cycle}", cache_dir)
                local = LocalPbx(config)
                report = local.up()
                time.sleep(1.0)  # idle
                rss.append(rss_mb(report.pid))
                started = time.monotonic()
                local.down()
                stopped.append(time.monotonic() - started)
                restored.append(report.restored_s)
                booted.append(report.booted_s)
                totals.append(report.total_s)
                remove_tree(config.root)
                progress.advance(task)
        rows += [
            ("restore from golden tree (s)", summary(restored)),
            ("boot to fully booted (s)", summary(booted)),
            ("up() total (s)", summary(totals)),
            ("down() (s)", summary(stopped)),
            ("Asterisk RSS idle (MB)", summary(rss)),
        ]
    table = Table(title=f"Local Asterisk, {args.cycles} cycles, load {os.getloadavg()[0]:.1f}")
    table.add_column("figure")
    table.add_column("median (min, max)")
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
