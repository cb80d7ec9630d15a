"""Build the audio of every Vietnamese prompt that the menus play, and clean up old read-backs.

`hotline prompts build` reads `prompts: {id: text}` from `$HOTLINE_DIALPLANS_DIR/prompts.yaml`
and writes `<prompts_dir>/<id>.wav` (8 kHz mono 16-bit, what Asterisk plays) for each id:

  1. a recorded `<recorded_prompts_dir>/<id>.wav` (a voice talent) always wins — converted;
  2. otherwise the text is synthesised with HOTLINE_TTS_BACKEND (espeak, offline, default; or
     gtts, online) into the content-addressed cache `<prompts_dir>/tts/<hash>.wav`, and copied.

A second run synthesises nothing that has not changed.

`hotline prompts prune` deletes the dynamic read-backs (a dossier's status, a complaint
number: `tts/<hash>.wav`, synthesised during calls) not used for more than --older-than days.
Each reuse during a call sets the file's mtime, so the age is the time since it was last
played. It never touches `<prompts_dir>/<id>.wav`, the recorded prompts, the cache files the
built prompts were copied from, or a file still being written (a temporary name).

Examples:
  hotline prompts build
  hotline prompts build --file /tmp/prompts.yaml
  HOTLINE_TTS_BACKEND=gtts hotline prompts build
  hotline prompts prune --dry-run          # what would go, and how many bytes
  hotline prompts prune --older-than 30

Needs: espeak-ng (apt-get install espeak-ng) for the default backend; internet for gtts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hotline.errors import HotlineError
from hotline.settings import Settings
from speech.errors import SpeechError
from speech.tts import PromptBuilder, PromptStatus, load_prompts, prune_dynamic

HELP = "synthesise the prompts of dialplans/prompts.yaml (build); delete old read-backs (prune)"
DAY_S = 86_400.0


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="prompts_command", metavar="ACTION", required=True)
    build = sub.add_parser(
        "build",
        help="build <prompts_dir>/<id>.wav for every prompt (cached, recorded WAVs win)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "--file",
        type=Path,
        default=None,
        help="prompt file (default: $HOTLINE_DIALPLANS_DIR/prompts.yaml)",
    )
    prune = sub.add_parser(
        "prune",
        help="delete <prompts_dir>/tts/<hash>.wav read-backs not played for --older-than days",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prune.add_argument(
        "--older-than",
        type=float,
        default=7.0,
        metavar="DAYS",
        help="unused for more than this many days (default 7; 0.5 = 12 hours)",
    )
    prune.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.prompts_command == "prune":
        return _prune(settings, older_than_days=args.older_than, dry_run=args.dry_run)
    source: Path = args.file or settings.dialplans_dir / "prompts.yaml"
    console = Console(stderr=True)
    try:
        prompts = load_prompts(source)
        builder = PromptBuilder(settings)
        with Progress(
            TextColumn("[bold]prompts[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("", total=len(prompts))

            def advance(prompt_id: str, status: PromptStatus) -> None:
                progress.update(task, advance=1, description=f"{prompt_id} ({status})")

            report = builder.build_all(prompts, progress=advance)
    except SpeechError as exc:
        raise HotlineError(f"prompts from {source}: {exc}") from exc
    print(report.summary())
    return 0


def _prune(settings: Settings, *, older_than_days: float, dry_run: bool) -> int:
    try:
        report = prune_dynamic(
            settings.prompts_path,
            older_than_s=older_than_days * DAY_S,
            now=time.time(),
            dry_run=dry_run,
        )
    except (SpeechError, OSError) as exc:
        raise HotlineError(f"prompts prune in {settings.prompts_path}: {exc}") from exc
    verb = "would remove" if dry_run else "removed"
    for f in report.removed:
        print(f"{verb} tts/{f.name}  {f.size:,} bytes, unused {f.idle_s / DAY_S:.1f} days")
    print(report.summary())
    return 0
