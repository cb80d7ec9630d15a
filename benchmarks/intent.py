"""Intent routing benchmark: accuracy and speed of the rapidfuzz router against baselines.

On the labelled utterances of tests/data/intent_eval.yaml (tune and test splits), in one run:

- **router/partial** — the shipped router (``IntentRouter``, scorer ``partial``: partial-ratio
  alignment on word-padded match keys, overlap resolution, noisy-OR evidence);
- **router/token_set**, **router/wratio** — the same router with rapidfuzz's
  ``token_set_ratio`` / ``WRatio`` for long cues (no alignment, so no overlap resolution);
- **router/exact** — the shipped router with cutoff 100 (no fuzzy matching at all);
- **keyword** — a plain keyword baseline: the same phrases as whole-word substrings of the
  tone-less text, most weighted hits win; no rewrites, fillers, short-answer or overlap rules.

Printed per router: accuracy (intent and every labelled slot right), off-topic utterances
rejected, precision of what would be ACCEPTed, accuracy per kind (test split), and
utterances per second (one core, the whole test split routed --rounds times). Also the
calibration of the shipped router's confidence on the test split.

Usage:
  .venv/bin/python benchmarks/intent.py              # ~10 s
  .venv/bin/python benchmarks/intent.py --rounds 20 --json
Needs: nothing but the repository (no models, no network).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from speech.intent import IntentData, IntentResult, IntentRouter, Slots, load_intent_data  # noqa: E402
from speech.intent.evaluate import EvalItem, evaluate, items_from_mapping  # noqa: E402
from speech.intent.model import Decision  # noqa: E402
from speech.intent.places import PlaceMatcher  # noqa: E402
from speech.text import extract_digits, match_key  # noqa: E402

EVAL_FILE = REPO / "tests" / "data" / "intent_eval.yaml"
INTENTS_FILE = REPO / "dialplans" / "intents.yaml"


class KeywordBaseline:
    """Whole-word keyword spotting on the tone-less text: the obvious thing to beat."""

    def __init__(self, data: IntentData, places: list[str]) -> None:
        self.cues = [(f" {match_key(c.text)} ", c) for c in data.cues]
        self.places = PlaceMatcher(places)

    def route(self, text: str) -> IntentResult:
        key = f" {match_key(text)} "
        intents: dict[str, float] = defaultdict(float)
        categories: dict[str, float] = defaultdict(float)
        for needle, cue in self.cues:
            if needle in key:
                intents[cue.intent] += cue.weight
                if cue.category:
                    categories[cue.category] += cue.weight
        digits = extract_digits(text)
        found = self.places.find(text)
        place = found[0] if found else None
        if not intents:
            return IntentResult(None, 0.0, Slots(digits=digits, place=place), (), text)
        best = max(intents, key=lambda i: intents[i])
        share = intents[best] / sum(intents.values())
        category = max(categories, key=lambda c: categories[c]) if categories else None
        slots = Slots(
            category=category if best == "complaint" else None, digits=digits, place=place
        )
        return IntentResult(best, share, slots, (), text)


def _speed(route: Callable[[str], IntentResult], texts: list[str], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            route(text)
    return rounds * len(texts) / (time.perf_counter() - started)


def _calibration(
    route: Callable[[str], IntentResult], items: list[EvalItem]
) -> list[dict[str, Any]]:
    bins = [(0.0, 0.4), (0.4, 0.5), (0.5, 0.75), (0.75, 0.9), (0.9, 1.01)]
    rows = []
    for low, high in bins:
        chosen = [(i, r) for i in items if low <= (r := route(i.routed_text)).confidence < high]
        right = sum(i.is_right(r) for i, r in chosen)
        rows.append(
            {
                "confidence": f"[{low:.2f}, {min(high, 1.0):.2f})",
                "n": len(chosen),
                "right": round(right / len(chosen), 3) if chosen else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="speed: passes over the test split")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)

    doc = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))
    splits = {name: items_from_mapping(doc[name]) for name in ("tune", "test")}
    started = time.perf_counter()
    data = load_intent_data(INTENTS_FILE, province=doc["province"])
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    routers: dict[str, Callable[[str], IntentResult]] = {
        "router/partial": IntentRouter(data, places=doc["places"]).route,
    }
    build_s = time.perf_counter() - started
    routers["router/token_set"] = IntentRouter(data, places=doc["places"], scorer="token_set").route
    routers["router/wratio"] = IntentRouter(data, places=doc["places"], scorer="wratio").route
    routers["router/exact"] = IntentRouter(data, places=doc["places"], cutoff=100.0).route
    routers["keyword"] = KeywordBaseline(data, doc["places"]).route

    results: dict[str, dict[str, Any]] = {}
    test_texts = [i.routed_text for i in splits["test"]]
    with Progress(transient=True) as progress:
        task = progress.add_task("routing", total=len(routers))
        for name, route in routers.items():
            row: dict[str, Any] = {}
            for split, items in splits.items():
                report = evaluate(route, items)
                row[split] = {
                    "n": report.total,
                    "accuracy": round(report.accuracy, 4),
                    "off_topic_rejected": round(report.off_topic_rejection, 3),
                    "accept_precision": round(report.precision(Decision.ACCEPT), 3),
                }
                if split == "test":
                    row["kinds"] = {k: round(report.kind_accuracy(k), 3) for k in report.by_kind}
            row["utterances_per_s"] = round(_speed(route, test_texts, args.rounds))
            results[name] = row
            progress.advance(task)
    calibration = _calibration(routers["router/partial"], splits["test"])
    summary = {
        "results": results,
        "calibration_test": calibration,
        "load_intents_s": round(load_s, 4),
        "build_router_s": round(build_s, 4),
        "cues": len(data.cues),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    console = Console()
    table = Table(title="Intent routing (tests/data/intent_eval.yaml)")
    for column in (
        "router",
        "tune acc",
        "test acc",
        "test off-topic rejected",
        "test ACCEPT precision",
        "utt/s",
    ):
        table.add_column(column)
    for name, row in results.items():
        table.add_row(
            name,
            f"{row['tune']['accuracy']:.1%}",
            f"{row['test']['accuracy']:.1%}",
            f"{row['test']['off_topic_rejected']:.0%}",
            f"{row['test']['accept_precision']:.1%}",
            str(row["utterances_per_s"]),
        )
    console.print(table)
    kinds = Table(title="Test split accuracy per kind")
    kinds.add_column("router")
    names = sorted(results["router/partial"]["kinds"])
    for kind in names:
        kinds.add_column(kind)
    for name, row in results.items():
        kinds.add_row(name, *(f"{row['kinds'][k]:.0%}" for k in names))
    console.print(kinds)
    calib = Table(title="Calibration of router/partial (test split)")
    for column in ("confidence", "n", "right"):
        calib.add_column(column)
    for c in calibration:
        calib.add_row(
            c["confidence"], str(c["n"]), "-" if c["right"] is None else f"{c['right']:.0%}"
        )
    console.print(calib)
    console.print(
        f"{len(data.cues)} cues; load intents {load_s * 1000:.0f} ms, build router "
        f"{build_s * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
