"""Route Vietnamese text to a hotline intent and print JSON (what the voice menu would do).

`hotline intent "TEXT"` prints one JSON object:
  {"text", "intent" (name or null), "confidence" (0..1),
   "slots": {"category", "digits", "place"}, "decision": "accept"|"confirm"|"reask",
   "alternatives": [[intent, evidence], ...]}
`hotline intent --jsonl` reads lines {"text": "..."} on stdin and writes one such line each.

Intents: dossier_status, complaint (slot category), complaint_status, agent, repeat, yes, no,
goodbye; null = no intent (off-topic, or too unsure: the flow re-asks).

Examples:
  hotline intent "đầu hẻm nhà tôi rác chất đống mấy ngày không ai dọn"
  hotline intent "tra cuu ho so so khong chin mot hai"
  hotline intent --explain "dạ hông phải"          # also print the phrases that matched
  hotline intent --expect yes,no,repeat,agent "vâng đúng hồ sơ đó"   # answer to a question
  echo '{"text": "kẹt xe quá"}' | hotline intent --jsonl

Needs: dialplans/intents.yaml (phrases, categories: data) and, for the place slot,
dialplans/province.yaml (the wards served; skipped with --no-places). No models, no network.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hotline.errors import ConfigError
from hotline.settings import Settings
from speech.intent import INTENTS, IntentRouter, Thresholds, load_intent_data
from speech.intent.errors import IntentError
from speech.intent.loader import province_sections

HELP = "route Vietnamese text to an intent with slots; print JSON"
INTENTS_FILE = "intents.yaml"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", help="what the caller said or typed")
    parser.add_argument(
        "--jsonl", action="store_true", help='read {"text": ...} lines on stdin, write JSON lines'
    )
    parser.add_argument(
        "--intents", type=Path, help="intents file (default: $HOTLINE_DIALPLANS_DIR/intents.yaml)"
    )
    parser.add_argument(
        "--province",
        help="province section of the intents file (default: the province of province.yaml)",
    )
    parser.add_argument("--no-places", action="store_true", help="do not load the ward list")
    parser.add_argument(
        "--expect",
        help="comma-separated intents the flow can act on now, e.g. yes,no,repeat,agent",
    )
    parser.add_argument("--explain", action="store_true", help="add the matched phrases")


def _places(settings: Settings) -> tuple[list[str], str | None]:
    """Ward names and province codename from the case database's province configuration."""
    from cases.config import CONFIG_FILE, load_config
    from cases.errors import CasesError
    from cases.places import PlaceDirectory

    try:
        config = load_config(settings.dialplans_dir / CONFIG_FILE)
        directory = PlaceDirectory(config)
    except CasesError as exc:
        raise ConfigError(f"cannot load the places for the place slot: {exc}") from exc
    from vietnam_provinces import Province, ProvinceCode

    codename = Province.from_code(ProvinceCode(config.province_code)).codename
    return [p.ward_name for p in directory.all()], codename


def build_router(
    settings: Settings,
    *,
    intents: Path | None = None,
    province: str | None = None,
    with_places: bool = True,
) -> IntentRouter:
    """The router as the hotline runs it: intents data, province section, the wards served."""
    path = intents or settings.dialplans_dir / INTENTS_FILE
    places: list[str] = []
    detected: str | None = None
    if with_places:
        places, detected = _places(settings)
    try:
        if province is None and detected is not None and detected in province_sections(path):
            province = detected
        data = load_intent_data(path, province=province)
    except IntentError as exc:
        raise ConfigError(str(exc)) from exc
    return IntentRouter(data, places=places, thresholds=Thresholds())


def _answer(
    router: IntentRouter, text: str, explain: bool, expect: list[str] | None
) -> dict[str, object]:
    result = router.route(text, expect=expect)
    out = result.as_json()
    if explain:
        out["matched"] = [list(hit) for hit in router.explain(text, expect=expect)]
    return out


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.jsonl and args.text is None:
        print("hotline intent: give TEXT or --jsonl (see hotline intent --help)", file=sys.stderr)
        return 2
    expect = [e.strip() for e in args.expect.split(",") if e.strip()] if args.expect else None
    if expect is not None:
        unknown = sorted(set(expect) - set(INTENTS))
        if unknown:
            raise ConfigError(f"--expect: unknown intents {unknown} (known: {', '.join(INTENTS)})")
    router = build_router(
        settings, intents=args.intents, province=args.province, with_places=not args.no_places
    )
    if not args.jsonl:
        print(json.dumps(_answer(router, args.text, args.explain, expect), ensure_ascii=False))
        return 0
    status = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError) as exc:
            print(
                f'hotline intent: line {number}: expected {{"text": ...}}: {exc}', file=sys.stderr
            )
            status = 1
            continue
        print(
            json.dumps(_answer(router, text, args.explain, expect), ensure_ascii=False), flush=True
        )
    return status
