"""A voice call's turns reach the IOC case database through the sync: each SPEECH step with its
transcript, confidence, intent and timings, and the case it created, linked by the call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cases import ioc, services
from cases.calls import SqlCallRecorder
from cases.config import load_config
from cases.db import session_factory, unit_of_work
from cases.domain import Category
from cases.sync import OutboxRelay
from ivr.ports import CallEnded, CallStarted, CallStep, Outcome, StepKind

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CONFIG = load_config(Path(__file__).resolve().parents[2] / "dialplans" / "province.yaml")


@pytest.fixture
def ioc_engine(ioc_db_url: str) -> Iterator[Engine]:
    engine = ioc.make_ioc_engine(ioc_db_url)
    yield engine
    engine.dispose()


def test_speech_turns_and_the_case_reach_the_ioc(
    migrated_engine: Engine, ioc_engine: Engine
) -> None:
    uid = "1764061200.42"
    recorder = SqlCallRecorder(migrated_engine)
    recorder.call_started(
        CallStarted(uid, uid, "PJSIP/hotline-caller-1", "0912345678", "19009120", T0)
    )
    recorder.step(
        uid,
        CallStep(
            StepKind.SPEECH,
            T0 + timedelta(seconds=9),
            node="voice_main",
            transcript="tôi muốn phản ánh về rác thải",
            confidence=0.81,
            intent="complaint",
            detail={"category": "environment", "decision": "accept", "latency_s": "1.92"},
        ),
    )
    with unit_of_work(session_factory(migrated_engine)) as s:
        reference = services.create_case(
            s,
            services.NewCase(
                Category.ENVIRONMENT,
                "Đầu hẻm rác chất đống mấy ngày không ai dọn",
                place_text="Phường Vĩnh Trạch",
            ),
            actor="ivr",
            config=CONFIG,
            now=T0 + timedelta(seconds=60),
        ).reference
    recorder.step(
        uid,
        CallStep(
            StepKind.CASE,
            T0 + timedelta(seconds=61),
            node="report_done",
            detail={"reference": reference},
        ),
    )
    recorder.call_ended(uid, CallEnded(Outcome.COMPLETED, T0 + timedelta(seconds=80), "16"))

    assert OutboxRelay(migrated_engine, ioc_engine).drain() >= 2

    with ioc_engine.connect() as conn:
        _, call = ioc.fetch(conn, "call", uid) or (0, {})
        _, case = ioc.fetch(conn, "case", reference) or (0, {})
    speech = [s for s in call["steps"] if s["kind"] == "speech"]
    assert [(s["transcript"], s["confidence"], s["intent"]) for s in speech] == [
        ("tôi muốn phản ánh về rác thải", 0.81, "complaint")
    ]
    assert speech[0]["detail"]["latency_s"] == "1.92"
    assert [s["detail"].get("reference") for s in call["steps"] if s["kind"] == "case"] == [
        reference
    ]
    assert call["outcome"] == "completed" and case["category"] == "environment"
