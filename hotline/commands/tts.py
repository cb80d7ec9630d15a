"""Speak a Vietnamese text as the caller will hear it on the phone.

`hotline tts "TEXT" -o out.wav` synthesises TEXT with HOTLINE_TTS_BACKEND (espeak by default)
and writes 8 kHz mono 16-bit WAV — the exact format the prompts have in Asterisk.
`--phone` also passes it through G.711 μ-law and back, as the line does.
`--normalize-only` prints the words that will be spoken (numbers and codes read out) and exits.

Examples:
  hotline tts "Mã hồ sơ của Quý vị là 2026" -o /tmp/ma.wav
  hotline tts --normalize-only "Hồ sơ 105 hẹn trả ngày 21/5"

Needs: espeak-ng (apt-get install espeak-ng), or internet with HOTLINE_TTS_BACKEND=gtts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hotline.errors import HotlineError
from hotline.settings import Settings
from speech.audio import Audio, ulaw_decode, ulaw_encode, write_wav
from speech.errors import SpeechError
from speech.text import normalize_for_speech
from speech.tts import make_synthesizer

HELP = "synthesise a Vietnamese text to an 8 kHz WAV (or print its spoken form)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="Vietnamese text (any Unicode normal form)")
    parser.add_argument("-o", "--output", type=Path, help="WAV file to write")
    parser.add_argument(
        "--backend", choices=("espeak", "gtts"), help="default: $HOTLINE_TTS_BACKEND"
    )
    parser.add_argument("--phone", action="store_true", help="apply G.711 μ-law as the line does")
    parser.add_argument(
        "--normalize-only", action="store_true", help="print the words that will be spoken"
    )
    parser.add_argument("--southern", action="store_true", help="southern readings (lẻ, ngàn)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    words = normalize_for_speech(args.text, southern=args.southern)
    if args.normalize_only:
        print(words)
        return 0
    if args.output is None:
        raise HotlineError("tts: give -o FILE.wav (or --normalize-only)")
    backend = args.backend or settings.tts_backend
    try:
        synth = make_synthesizer(backend, settings.prompts_path)
        started = time.perf_counter()
        audio = synth.synthesize(words)
        elapsed = time.perf_counter() - started
    except SpeechError as exc:
        raise HotlineError(str(exc)) from exc
    if args.phone:
        audio = Audio(ulaw_decode(ulaw_encode(audio.samples)), audio.rate)
    write_wav(args.output, audio)
    print(
        f"{args.output}: {audio.duration_s:.2f} s at {audio.rate} Hz "
        f"({backend} voice {synth.voice}, synthesised in {elapsed:.2f} s)"
    )
    return 0
