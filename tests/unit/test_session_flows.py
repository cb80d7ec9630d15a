"""Whole calls through the real dialplans/menu.yaml, with no event loop, snapshotted.

Each scenario's event/command sequence is kept in tests/unit/snapshots/session_<name>.txt, so a
menu change shows up as a readable diff (HOTLINE_UPDATE_SNAPSHOTS=1 rewrites them).
"""

from __future__ import annotations

from datetime import date

import pytest

from ivr.flows import ActionOutcome, Flow
from ivr.ports import Outcome
from ivr.session import (
    CallResumed,
    CallSession,
    CreateCase,
    LookupCase,
    LookupDossier,
    ServiceReplied,
    SessionConfig,
)
from tests.unit.session_sim import Caller, check_snapshot, menu_flow, run_call

DOSSIER_FOUND = ServiceReplied(
    ActionOutcome.FOUND,
    {
        "dossier_code": "000123",
        "dossier_procedure": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "dossier_status": "đang giải quyết",
        "dossier_step": "Phòng Quản lý đô thị thẩm định",
        "dossier_due": date(2026, 12, 3),
        "dossier_overdue": False,
        "dossier_needs_papers": False,
    },
)
CASE_CREATED = ServiceReplied(ActionOutcome.CREATED, {"case_reference": "48213576"})
CASE_FOUND = ServiceReplied(
    ActionOutcome.FOUND,
    {
        "case_reference": "48213576",
        "case_category": "Môi trường",
        "case_status": "đang xử lý",
        "case_updated": date(2026, 11, 20),
        "case_resolution": "",
    },
)
SERVICES = {LookupDossier: DOSSIER_FOUND, CreateCase: CASE_CREATED, LookupCase: CASE_FOUND}


@pytest.fixture(scope="module")
def flow() -> Flow:
    return menu_flow()


def call(
    flow: Flow, script: list[str], config: SessionConfig | None = None, **caller: object
) -> tuple[CallSession, list[str]]:
    session = CallSession(flow, "1732540000.42", config or SessionConfig())
    services = dict(SERVICES)
    services.update(caller.pop("services", {}))  # type: ignore[call-overload]
    lines = run_call(session, Caller(script, services=services, **caller))  # type: ignore[arg-type]
    return session, lines


def test_silence_is_reprompted_three_times_then_goodbye(flow: Flow) -> None:
    session, lines = call(flow, [])
    check_snapshot("session_silence_goodbye", lines)
    assert session.outcome is Outcome.COMPLETED
    assert sum("play main_menu" in ln for ln in lines) == 4  # first time + 3 re-prompts
    assert sum("play menu_no_input" in ln for ln in lines) == 3
    assert lines[-4:-1] == [
        "    play goodbye_failures",
        "> playback finished",
        "    hang up: completed (flow goodbye_failures)",
    ]


def test_silence_transfers_when_configured(flow: Flow) -> None:
    config = SessionConfig(transfer_after_failures=True)
    _session, lines = call(flow, [], config)
    check_snapshot("session_silence_transfer", lines)
    assert sum("transfer to queue hotline-agents" in ln for ln in lines) == 1
    # the second round of failures says goodbye instead of looping through the queue again
    assert lines[-4] == "    play goodbye_failures"


def test_wrong_key_then_star_repeats_then_dossier(flow: Flow) -> None:
    session, lines = call(flow, ["7", "*", "1", "1", "2", "3", "#", "9", "hangup"])
    check_snapshot("session_wrong_key_repeat", lines)
    assert "    · no_match main digits=7" in lines
    assert session.outcome is Outcome.COMPLETED  # they hung up after the dossier was read


def test_dossier_lookup_reads_status_back(flow: Flow) -> None:
    session, lines = call(flow, ["1", "0", "0", "0", "1", "2", "3", "#", "*", "9", "hangup"])
    check_snapshot("session_dossier_found", lines)
    assert "    lookup dossier 000123" in lines
    says = [ln for ln in lines if ln.startswith("    say ")]
    assert len(says) == 2  # read back, then again on '*'
    assert "<digits 000123>" in says[0] and "<date 2026-12-03>" in says[0]
    assert "quá hạn" not in says[0]  # the overdue line is left out
    assert session.slots["dossier_code"] == "000123"


def test_dossier_typed_ahead_during_prompts(flow: Flow) -> None:
    _session, lines = call(flow, ["~1", "~4", "2", "#", "hangup"])
    check_snapshot("session_dossier_typeahead", lines)
    assert "    lookup dossier 42" in lines
    assert "play main_menu" not in "\n".join(lines)  # a key during the welcome skips the menu


def test_dossier_not_found_asks_again_and_overdue(flow: Flow) -> None:
    overdue = ServiceReplied(
        ActionOutcome.FOUND,
        {**DOSSIER_FOUND.values, "dossier_overdue": True, "dossier_due": ""},
    )
    replies = iter([ServiceReplied(ActionOutcome.NOT_FOUND), overdue])

    class Seq(dict[type, ServiceReplied]):
        def __getitem__(self, key: type) -> ServiceReplied:
            return next(replies)

    session = CallSession(flow, "c1")
    caller = Caller(["1", "9", "#", "1", "2", "#", "hangup"], services=Seq())
    lines = run_call(session, caller)
    check_snapshot("session_dossier_not_found", lines)
    assert "    play dossier_not_found" in lines
    say = next(ln for ln in lines if ln.startswith("    say "))
    assert "quá hạn" in say and "<date" not in say


def test_lookup_service_error_apologises_and_returns_to_menu(flow: Flow) -> None:
    _session, lines = call(
        flow,
        ["1", "5", "#", "hangup"],
        services={LookupDossier: ServiceReplied(ActionOutcome.ERROR)},
    )
    check_snapshot("session_service_error", lines)
    assert "    play service_error" in lines
    i = lines.index("    play service_error")
    assert "    · node main" in lines[i:]


def test_report_creates_case_and_reads_number_twice(flow: Flow) -> None:
    _session, lines = call(flow, ["2", "1", "*", "9", "hangup"])
    check_snapshot("session_report_created", lines)
    create = [ln for ln in lines if "create case" in ln]
    assert create == [
        "    create case category=environment recording=1732540000_42-report_record-1"
    ]
    says = [ln for ln in lines if ln.startswith("    say ")]
    assert len(says) == 2 and all(s.count("<digits 48213576>") == 2 for s in says)


def test_report_with_empty_recording_goes_back(flow: Flow) -> None:
    _session, lines = call(flow, ["2", "3", "hangup"], recording_ms=200)
    check_snapshot("session_report_empty", lines)
    assert not any("create case" in ln for ln in lines)
    assert "    play report_empty" in lines


def test_case_status(flow: Flow) -> None:
    _session, lines = call(flow, ["3", *"48213576", "9", "hangup"])
    check_snapshot("session_case_status", lines)
    assert "    lookup case 48213576" in lines  # 8 digits: done without '#'
    say = next(ln for ln in lines if ln.startswith("    say "))
    assert "Kết quả xử lý" not in say  # empty resolution: line left out


def test_agent_busy_offers_a_complaint_or_the_menu(flow: Flow) -> None:
    session, lines = call(flow, ["0", "9", "hangup"])
    check_snapshot("session_agent_busy", lines)
    i = lines.index("    transfer to queue hotline-agents, timeout 30 s")
    assert "    play transfer_busy [keys 0123456789*#]" in lines[i:]
    assert "    · digits agent_busy digits=9" in lines[i:]
    assert "    · node main" in lines[i:]
    assert session.outcome is Outcome.ABANDONED


def test_agent_answers_is_transferred(flow: Flow) -> None:
    session, lines = call(flow, ["0"], agent_answers=True)
    check_snapshot("session_agent_answers", lines)
    assert session.outcome is Outcome.TRANSFERRED
    assert lines[-2] == "    hang up: transferred (agent finished)"


def test_hangup_mid_prompt_is_abandoned(flow: Flow) -> None:
    session, lines = call(flow, ["~hangup"])
    check_snapshot("session_hangup_mid_prompt", lines)
    assert session.outcome is Outcome.ABANDONED
    assert lines[-2] == "> caller hung up (16 Normal Clearing)"


def test_resumed_call_apologises_then_menu(flow: Flow) -> None:
    session = CallSession(flow, "c9")
    lines = run_call(session, Caller(["3", "hangup"]), first=CallResumed())
    check_snapshot("session_resumed", lines)
    plays = [ln.strip() for ln in lines if ln.strip().startswith("play ")]
    assert plays[:2] == ["play reconnect_apology", "play main_menu [keys 0123456789*#]"]
