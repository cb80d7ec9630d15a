"""speech.intent.router: exact answers for the key cases, slots, decisions, odd input."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speech.intent import (
    Decision,
    IntentResult,
    IntentRouter,
    PlaceMatcher,
    Slots,
    Thresholds,
    load_intent_data,
)

ROOT = Path(__file__).resolve().parents[2]
PLACES = ["Phường Bạc Liêu", "Phường Giá Rai", "Xã Gành Hào", "Xã Hòa Bình", "Phường 12"]


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    return IntentRouter(load_intent_data(ROOT / "dialplans" / "intents.yaml"), places=PLACES)


@pytest.mark.parametrize(
    ("text", "intent", "category"),
    [
        ("đầu hẻm nhà tôi rác chất đống mấy ngày không ai dọn", "complaint", "environment"),
        ("đèn đường hư", "complaint", "utilities"),
        ("kẹt xe", "complaint", "traffic"),
        ("có tai nạn", "complaint", "traffic"),
        ("nhà tôi bị trộm", "complaint", "security_order"),
        ("mấy người đánh nhau", "complaint", "security_order"),
        ("lấn chiếm vỉa hè", "complaint", "urban_order"),
        ("con tôi bị ngộ độc thực phẩm", "complaint", "health"),
        ("trường thu học phí quá cao", "complaint", "education"),
        ("cán bộ gây khó dễ", "complaint", "other"),
        ("tôi muốn phản ánh", "complaint", None),
        ("tôi muốn khiếu nại", "complaint", None),
        ("tôi đã phản ánh tuần trước mà chưa ai xử lý", "complaint_status", None),
        ("tra cứu hồ sơ", "dossier_status", None),
        ("cho tôi gặp tổng đài viên", "agent", None),
        ("nhắc lại", "repeat", None),
        ("có", "yes", None),
        ("dạ", "yes", None),
        ("đúng rồi", "yes", None),
        ("không", "no", None),
        ("dạ hông", "no", None),
        ("không đúng", "no", None),
        ("tạm biệt", "goodbye", None),
    ],
)
def test_key_cases(router: IntentRouter, text: str, intent: str, category: str | None) -> None:
    result = router.route(text)
    assert result.intent == intent, router.explain(text)
    assert result.slots.category == category
    assert result.decision() is Decision.ACCEPT


@pytest.mark.parametrize(
    "variant",
    [
        "đầu hẻm nhà tôi rác chất đống mấy ngày không ai dọn",
        unicodedata.normalize("NFD", "đầu hẻm nhà tôi rác chất đống mấy ngày không ai dọn"),
        "dau hem nha toi rac chat dong may ngay khong ai don",
        "ĐẦU HẺM NHÀ TÔI RÁC CHẤT ĐỐNG!!!",
        "dạ đầu hẻm nhà em rác chất đống mấy bữa hổng ai dọn nhen",
    ],
)
def test_forms_of_one_complaint(router: IntentRouter, variant: str) -> None:
    result = router.route(variant)
    assert (result.intent, result.slots.category) == ("complaint", "environment")


def test_tones_disambiguate_short_words(router: IntentRouter) -> None:
    # "hồng" (sổ hồng) is not the southern "hông" (không); "bao nhiêu" has no "báo".
    assert router.route("sổ hồng").intent == "dossier_status"
    assert router.route("giá vàng hôm nay bao nhiêu").intent is None
    # Typed without any diacritics, "hong" may well be "hông".
    assert router.route("hong").intent == "no"


def test_short_answer_words_do_not_fire_inside_content(router: IntentRouter) -> None:
    assert router.route("có tai nạn ở ngã tư").intent == "complaint"
    assert router.route("mấy ngày không ai dọn rác").intent == "complaint"


def test_digits_slot(router: IntentRouter) -> None:
    result = router.route("tra cứu hồ sơ số không chín một hai ba")
    assert result.intent == "dossier_status"
    assert result.slots.digits == "09123"
    # A bare number is a digits answer, not a "no" for its "không".
    only = router.route("không chín không tám")
    assert only.intent is None
    assert only.slots.digits == "0908"
    assert router.route("khong chin khong tam").slots.digits == "0908"
    assert router.route("hồ sơ 000.00.12.H12-250101-0001").slots.digits == ("0000012122501010001")


def test_place_slot(router: IntentRouter) -> None:
    assert router.route("mất điện ở phường giá rai").slots.place == "Phường Giá Rai"
    assert router.route("sat lo o xa ganh hao").slots.place == "Xã Gành Hào"
    assert router.route("kẹt xe ở phường mười hai").slots.place == "Phường 12"
    assert router.route("kẹt xe ở ngã tư").slots.place is None


def test_place_matcher_needs_prefix_for_short_or_numbered_names() -> None:
    matcher = PlaceMatcher(["Phường 12", "Xã An", "Phường Thới An"])
    assert matcher.find("tôi ở 12 đường láng") is None
    assert matcher.find("tôi ăn cơm") is None  # not "Thới An" without "phường"
    assert matcher.find("ở xã an") == ("Xã An", 1.0)
    found = matcher.find("phuong thoi an")
    assert found is not None and found[0] == "Phường Thới An"
    assert len(matcher) == 3


@pytest.mark.parametrize("text", ["", "   ", "???", "hôm nay trời đẹp quá", "bla bla bla"])
def test_off_topic_and_empty_are_no_intent(router: IntentRouter, text: str) -> None:
    result = router.route(text)
    assert result.intent is None
    assert result.decision() is Decision.REASK
    assert 0.0 <= result.confidence < Thresholds().reject or result.alternatives


def test_result_json_shape(router: IntentRouter) -> None:
    result = router.route("kẹt xe ở phường bạc liêu")
    out = result.as_json()
    assert out["intent"] == "complaint"
    assert out["slots"] == {"category": "traffic", "digits": None, "place": "Phường Bạc Liêu"}
    assert out["decision"] == "accept"
    assert isinstance(out["confidence"], float) and 0.0 <= out["confidence"] <= 1.0
    assert out["text"] == "kẹt xe ở phường bạc liêu"


def test_decision_thresholds() -> None:
    def at(confidence: float, intent: str | None = "agent") -> Decision:
        return IntentResult(intent, confidence, Slots()).decision(Thresholds(0.8, 0.5, 0.3))

    assert at(0.9) is Decision.ACCEPT
    assert at(0.8) is Decision.ACCEPT
    assert at(0.6) is Decision.CONFIRM
    assert at(0.4) is Decision.REASK
    assert at(0.95, None) is Decision.REASK
    with pytest.raises(ValueError, match="reject <= confirm <= accept"):
        Thresholds(accept=0.5, confirm=0.7)


def test_conflicting_evidence_lowers_confidence(router: IntentRouter) -> None:
    clear = router.route("cho tôi gặp tổng đài viên")
    mixed = router.route("cho tôi gặp tổng đài viên để tra cứu hồ sơ")
    assert mixed.confidence < clear.confidence
    assert {name for name, _ in mixed.alternatives} >= {"agent", "dossier_status"}


def test_explain_lists_matched_cues(router: IntentRouter) -> None:
    hits = router.explain("kẹt xe quá")
    assert ("traffic", "ket xe", 100.0, 1.0) in hits


@pytest.mark.parametrize("scorer", ["partial", "token_set", "wratio"])
def test_every_scorer_routes_the_plain_cases(scorer: str) -> None:
    data = load_intent_data(ROOT / "dialplans" / "intents.yaml")
    router = IntentRouter(data, scorer=scorer)  # type: ignore[arg-type]
    assert router.route("tôi muốn khiếu nại").intent == "complaint"
    assert router.route("cho tôi gặp tổng đài viên").intent == "agent"


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằầèéẻềếìíòóỏồốờớùúủừứỳý 0123456789.,!?-",
        max_size=60,
    )
)
def test_route_never_fails_and_is_form_invariant(router: IntentRouter, text: str) -> None:
    result = router.route(text)
    assert 0.0 <= result.confidence <= 1.0
    assert result.intent is None or result.confidence >= Thresholds().reject
    nfd = router.route(unicodedata.normalize("NFD", text))
    assert (nfd.intent, nfd.slots) == (result.intent, result.slots)


def test_expect_restricts_to_what_the_flow_can_act_on(router: IntentRouter) -> None:
    answers = {"yes", "no", "repeat", "agent"}
    assert router.route("vâng đúng là hồ sơ của tôi").intent == "dossier_status"
    assert router.route("vâng đúng là hồ sơ của tôi", expect=answers).intent == "yes"
    assert router.route("không phải hồ sơ đó đâu", expect=answers).intent == "no"
    assert router.route("không, cho tôi gặp tổng đài viên", expect=answers).intent == "agent"
    # An answer word late in a long sentence is not the answer.
    late = router.route("tôi nói là hồ sơ của tôi có vấn đề không", expect=answers)
    assert late.intent is None
    # Category words count when a complaint is expected.
    menu = router.route("kẹt xe quá", expect={"complaint", "dossier_status"})
    assert (menu.intent, menu.slots.category) == ("complaint", "traffic")
    assert router.route("kẹt xe quá", expect={"dossier_status"}).intent is None
    with pytest.raises(ValueError, match="unknown intents"):
        router.route("có", expect={"weather"})
