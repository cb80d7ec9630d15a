"""Load the intent data (``dialplans/intents.yaml``): the one module of ``speech.intent`` with I/O.

The file is data, not code: intents with their phrases, complaint categories with their
keywords, colloquial rewrites, fillers, and per-province additions. :func:`parse_intent_data`
is the pure part (a parsed YAML document in, :class:`IntentData` out) and does all validation;
:func:`load_intent_data` only reads the file.

File shape::

    short_max_tokens: 5          # short_only phrases count only in utterances this short
    fillers: [dạ, ạ, ờ, nha]     # dropped before matching (unless nothing else is left)
    rewrites: {hông: không}      # colloquial or ASR form -> standard form ("" drops it)
    intents:
      dossier_status:
        phrases: [tra cứu hồ sơ]   # strong evidence (weight 1.0)
        weak: [hồ sơ]              # weak evidence (weight 0.6)
        short: [có]                # counts only in short utterances
        short_only: false          # true: every phrase of the intent is a short one
    categories:
      environment: {phrases: [rác thải], weak: [rác]}
    provinces:
      ho_chi_minh:                 # added to the above for that province, never removed
        rewrites: {...}
        intents: {...}
        categories: {...}
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from speech.intent.errors import IntentDataError
from speech.intent.model import CATEGORIES, INTENTS, Cue, IntentData
from speech.text.normalise import match_key, normalise

__all__ = [
    "STRONG_WEIGHT",
    "WEAK_WEIGHT",
    "load_intent_data",
    "parse_intent_data",
    "province_sections",
]

STRONG_WEIGHT = 1.0
WEAK_WEIGHT = 0.6


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise IntentDataError(f"{where} must be a list of strings, got {value!r}")
    for text in value:
        if unicodedata.normalize("NFC", text) != text:
            raise IntentDataError(f"{where}: {text!r} is not NFC (store Vietnamese as NFC)")
        if not match_key(text):
            raise IntentDataError(f"{where}: {text!r} has no letters or digits")
    return list(value)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise IntentDataError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _cues(
    section: Mapping[str, Any], where: str, known: tuple[str, ...], *, categories: bool
) -> list[Cue]:
    cues: list[Cue] = []
    for name, spec in section.items():
        if name not in known:
            raise IntentDataError(f"{where}: unknown name {name!r} (known: {', '.join(known)})")
        body = _mapping(spec, f"{where}.{name}")
        extra = set(body) - {"phrases", "weak", "short", "short_only"}
        if extra:
            raise IntentDataError(f"{where}.{name}: unknown keys {sorted(extra)}")
        all_short = bool(body.get("short_only", False))
        for field_name, weight, short in (
            ("phrases", STRONG_WEIGHT, all_short),
            ("weak", WEAK_WEIGHT, all_short),
            ("short", STRONG_WEIGHT, True),
        ):
            for text in _strings(body.get(field_name), f"{where}.{name}.{field_name}"):
                cues.append(
                    Cue(
                        text=normalise(text),
                        intent="complaint" if categories else name,
                        weight=weight,
                        category=name if categories else None,
                        short_only=short,
                    )
                )
    return cues


def _layer(doc: Mapping[str, Any], where: str) -> tuple[list[Cue], dict[str, str]]:
    cues = _cues(
        _mapping(doc.get("intents"), f"{where}intents"),
        f"{where}intents",
        INTENTS,
        categories=False,
    )
    cues += _cues(
        _mapping(doc.get("categories"), f"{where}categories"),
        f"{where}categories",
        CATEGORIES,
        categories=True,
    )
    rewrites: dict[str, str] = {}
    for source, target in _mapping(doc.get("rewrites"), f"{where}rewrites").items():
        if not isinstance(source, str) or not isinstance(target, str) or not match_key(source):
            raise IntentDataError(f"{where}rewrites: {source!r}: {target!r} must be strings")
        rewrites[normalise(source)] = normalise(target)
    return cues, rewrites


def parse_intent_data(doc: object, *, province: str | None = None) -> IntentData:
    """Validate a parsed intents document and build :class:`IntentData` for ``province``."""
    root = _mapping(doc, "intents file")
    cues, rewrites = _layer(root, "")
    provinces = _mapping(root.get("provinces"), "provinces")
    if province is not None:
        if province not in provinces:
            raise IntentDataError(
                f"province {province!r} has no section in the intents file "
                f"(known: {', '.join(sorted(provinces)) or 'none'})"
            )
        extra_cues, extra_rewrites = _layer(
            _mapping(provinces[province], f"provinces.{province}"), f"provinces.{province}."
        )
        cues += extra_cues
        rewrites.update(extra_rewrites)
    missing = [name for name in INTENTS if not any(c.intent == name for c in cues)]
    if missing:
        raise IntentDataError(f"intents file has no phrases for: {', '.join(missing)}")
    fillers = frozenset(normalise(f) for f in _strings(root.get("fillers"), "fillers"))
    short_max = root.get("short_max_tokens", 5)
    if not isinstance(short_max, int) or short_max < 1:
        raise IntentDataError(f"short_max_tokens must be a positive int, got {short_max!r}")
    # Longest first so that a multi-word rewrite wins over a word inside it.
    ordered = tuple(sorted(rewrites.items(), key=lambda kv: -len(kv[0].split())))
    unique = tuple(dict.fromkeys(cues))
    return IntentData(
        cues=unique,
        rewrites=ordered,
        fillers=fillers,
        short_max_tokens=short_max,
        province=province,
    )


def _read(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IntentDataError(f"cannot read intents file {path}: {exc.strerror}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise IntentDataError(f"intents file {path} is not valid YAML: {exc}") from exc
    return doc


def province_sections(path: Path) -> frozenset[str]:
    """The province codenames that have a section in the intents file."""
    return frozenset(_mapping(_mapping(_read(path), "intents file").get("provinces"), "provinces"))


def load_intent_data(path: Path, *, province: str | None = None) -> IntentData:
    """Read and validate the intents file; a missing or malformed file is an IntentDataError."""
    return parse_intent_data(_read(path), province=province)
