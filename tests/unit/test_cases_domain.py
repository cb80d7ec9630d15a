"""Pure rules of the case domain: Damm check digits, reference parsing, the workflow table,
passwords, province configuration and place matching (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.config import config_from_mapping, load_config
from cases.domain import (
    FINAL_STATUSES,
    TRANSITIONS,
    CaseStatus,
    Category,
    damm_digit,
    damm_valid,
    mask_phone,
    new_reference,
    open311_status,
    parse_reference,
)
from cases.errors import ConfigurationError, InvalidReferenceError, UnknownPlaceError
from cases.places import PlaceDirectory, match_key
from cases.users import hash_password, verify_password

CONFIG_FILE = Path(__file__).resolve().parents[2] / "dialplans" / "province.yaml"


def test_damm_matches_the_published_example() -> None:
    assert damm_digit("572") == 4  # Damm (2004) / Wikipedia worked example
    assert damm_valid("5724")
    assert not damm_valid("5742")


def test_damm_catches_every_single_error_and_adjacent_transposition() -> None:
    for _ in range(300):
        ref = new_reference()
        assert len(ref) == 8 and ref[0] != "0" and damm_valid(ref)
        for i in range(len(ref)):
            for d in "0123456789":
                if d != ref[i]:
                    assert not damm_valid(ref[:i] + d + ref[i + 1 :])
            if i + 1 < len(ref) and ref[i] != ref[i + 1]:
                swapped = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]
                assert not damm_valid(swapped)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("1234-567a", "other than digits"), ("572", "3 digits"), ("12345670", "check")],
)
def test_bad_references_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(InvalidReferenceError, match=problem):
        parse_reference(text)


def test_references_are_accepted_as_read_back() -> None:
    ref = new_reference()
    assert parse_reference(f"{ref[:4]} {ref[4:]}") == ref
    assert parse_reference(f"{ref[:4]}-{ref[4:]}") == ref


def test_workflow_table_reaches_every_status_and_finals_are_final() -> None:
    seen = {CaseStatus.RECEIVED}
    frontier = [CaseStatus.RECEIVED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(CaseStatus)
    assert {CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE} == FINAL_STATUSES
    assert open311_status(CaseStatus.IN_PROGRESS) == "open"
    assert open311_status(CaseStatus.RESOLVED) == "closed"


def test_phone_numbers_are_masked() -> None:
    assert mask_phone("0912345678") == "0912***678"
    assert mask_phone("113") == "***"


def test_passwords_hash_with_salt_and_verify() -> None:
    a, b = hash_password("mật khẩu dài lắm", n=2**10), hash_password("mật khẩu dài lắm", n=2**10)
    assert a != b and a.startswith("scrypt$1024$8$1$")
    assert verify_password("mật khẩu dài lắm", a)
    assert not verify_password("mat khau dai lam", a)
    assert not verify_password("x", "garbage")


def test_province_file_is_valid_and_served_wards_are_former_bac_lieu() -> None:
    config = load_config(CONFIG_FILE)
    places = PlaceDirectory(config)
    assert config.province_code == 96 and len(places) == 25
    assert places.province_name == "Cà Mau"
    assert places.resolve("Phường Giá Rai").ward_code == 31942
    assert places.resolve("gia rai").ward_code == 31942  # no tone marks
    assert places.resolve("P. Vĩnh Trạch").ward_code == 31834
    assert places.resolve("Xã Hồng Dân").ward_code == 31843
    assert places.resolve("Hong Dn").ward_code == 31843  # one letter lost
    with pytest.raises(UnknownPlaceError, match="Năm Căn"):
        places.resolve("Năm Căn")  # Cà Mau, but not a former Bạc Liêu commune
    whole = PlaceDirectory(config_from_mapping({"province_code": 96}))
    assert whole.resolve("Năm Căn").ward_name == "Xã Năm Căn"
    assert config.sla_for(Category.TRAFFIC).total_seconds() == 24 * 3600
    assert match_key("Phường  Đông Hải") == "dong hai"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"province_code": 95}, "province_code"),  # Bạc Liêu no longer exists as a province
        ({"province_code": 96, "ward_codes": [70]}, r"\[70\] are not wards"),
        ({"province_code": 96, "sla_hours": {"noise": 3}}, "unknown category 'noise'"),
        ({"province_code": 96, "sla_hours": {"traffic": -1}}, "positive"),
        ({"province_code": 96, "dossier_code": {"template": "HHH"}}, "digit slot"),
    ],
)
def test_bad_province_config_names_the_key(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        config_from_mapping(raw)
