"""speech.intent.loader: the intents file is validated and per-province sections add to it."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest

from speech.intent import INTENTS, IntentRouter, load_intent_data, parse_intent_data
from speech.intent.errors import IntentDataError
from speech.intent.loader import province_sections

ROOT = Path(__file__).resolve().parents[2]


def _doc(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"intents": {name: {"phrases": [f"câu {name}"]} for name in INTENTS}}
    doc.update(extra)
    return doc


def test_the_shipped_file_loads_for_every_province_section() -> None:
    path = ROOT / "dialplans" / "intents.yaml"
    base = load_intent_data(path)
    assert {c.intent for c in base.cues} == set(INTENTS)
    for province in province_sections(path):
        data = load_intent_data(path, province=province)
        assert len(data.cues) > len(base.cues)
        assert data.province == province


def test_province_section_adds_phrases() -> None:
    doc = _doc(provinces={"ca_mau": {"categories": {"utilities": {"phrases": ["triều cường"]}}}})
    assert not IntentRouter(parse_intent_data(doc)).route("triều cường").intent
    routed = IntentRouter(parse_intent_data(doc, province="ca_mau")).route("triều cường")
    assert (routed.intent, routed.slots.category) == ("complaint", "utilities")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"intents": {"dossier_status": {"phrases": ["hồ sơ"]}}}, "no phrases for: complaint"),
        (_doc(intents={"weather": {"phrases": ["trời"]}}), "unknown name 'weather'"),
        (_doc(intents={True: {"phrases": ["có"]}}), "unknown name True"),
        (_doc(categories={"environment": {"phrases": "rác"}}), "must be a list of strings"),
        (
            _doc(categories={"environment": {"phrases": [unicodedata.normalize("NFD", "rác")]}}),
            "is not NFC",
        ),
        (_doc(categories={"environment": {"phrases": ["!!"]}}), "has no letters"),
        (_doc(categories={"environment": {"keywords": ["rác"]}}), "unknown keys"),
        (_doc(short_max_tokens=0), "short_max_tokens"),
        ("just text", "must be a mapping"),
    ],
)
def test_bad_documents_are_refused(doc: object, message: str) -> None:
    with pytest.raises(IntentDataError, match=message) as info:
        parse_intent_data(doc)
    assert info.value.code == "intent-data-invalid"


def test_unknown_province_names_the_known_ones() -> None:
    with pytest.raises(IntentDataError, match="known: ca_mau"):
        parse_intent_data(_doc(provinces={"ca_mau": {}}), province="ha_noi")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(IntentDataError, match="cannot read intents file"):
        load_intent_data(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("intents: [unclosed", encoding="utf-8")
    with pytest.raises(IntentDataError, match="not valid YAML"):
        load_intent_data(bad)
