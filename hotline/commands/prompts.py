"""Build the audio of every Vietnamese prompt that the menus play.

`hotline prompts build` reads `prompts: {id: text}` from `$HOTLINE_DIALPLANS_DIR/prompts.yaml`
and writes `<prompts_dir>/<id>.wav` (8 kHz mono 16-bit, what Asterisk plays) for each id:

  1. a recorded `<recorded_prompts_dir>/<id>.wav` (a voice talent) always wins — converted;
  2. otherwise the text is synthesised with HOTLINE_TTS_BACKEND (espeak, offline, default; or
     gtts, online) into the content-addressed cache `<prompts_dir>/tts/<hash>.wav`, and copied.

A second run synthesises nothing that has not changed.

Examples:
  hotline prompts build
  hotline prompts build --file /tmp/prompts.yaml
  HOTLINE_TTS_BACKEND=gtts hotline prompts build

Needs: espeak-ng (apt-get install espeak-ng) for the default backend; internet for gtts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hotline.errors import HotlineError
from hotline.settings import Settings
from speech.errors import SpeechError
from speech.tts import PromptBuilder, PromptStatus, load_prompts

HELP = "synthesise the Vietnamese prompts of dialplans/prompts.yaml into WAV files"


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


def run(args: argparse.Namespace, settings: Settings) -> int:
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
