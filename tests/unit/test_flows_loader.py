"""The flow loader: the real menu loads; each kind of mistake is reported naming file and node."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.flows import (
    ActionNode,
    CollectNode,
    FlowError,
    MenuNode,
    SlotRef,
    load_flow,
    load_prompts,
    parse_flow,
)

REPO = Path(__file__).resolve().parents[2]
PROMPTS = {
    "hello": "Xin chào Quý vị.",
    "menu": "Xin bấm phím 1.",
    "bye": "Tạm biệt.",
    "reconnect_apology": "Xin lỗi.",
    "shutdown_goodbye": "Tạm dừng.",
}


def base() -> dict[str, Any]:
    return {
        "start": "hello",
        "nodes": {
            "hello": {"type": "play", "prompts": ["hello"], "next": "menu"},
            "menu": {
                "type": "menu",
                "prompt": "menu",
                "on_failure": "bye",
                "choices": {"1": "bye", "*": "menu"},
            },
            "bye": {"type": "hangup", "prompt": "bye"},
        },
    }


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(FlowError) as info:
        parse_flow(data, PROMPTS, source=Path("menu.yaml"))
    assert str(info.value).startswith("menu.yaml: ")
    return info.value.problems


def test_real_menu_loads_and_is_nfc() -> None:
    flow = load_flow(REPO / "dialplans" / "menu.yaml")
    main = flow.nodes["main"]
    assert isinstance(main, MenuNode)
    assert sorted(main.choices) == ["*", "0", "1", "2", "3"]
    assert isinstance(flow.nodes["dossier_code"], CollectNode)
    assert isinstance(flow.nodes["dossier_lookup"], ActionNode)
    for text in flow.prompts.values():
        assert unicodedata.normalize("NFC", text) == text
    line = flow.readbacks["case_created"].lines[0]
    assert SlotRef("case_reference", "digits") in line.parts


def test_every_prompt_of_prompts_yaml_is_polite_vietnamese() -> None:
    prompts = load_prompts(REPO / "dialplans" / "prompts.yaml")
    assert "main_menu" in prompts
    # every prompt the callers hear carries Vietnamese diacritics (not ASCII placeholders)
    assert all(any(ord(ch) > 127 for ch in text) for text in prompts.values())


def test_minimal_flow_parses() -> None:
    flow = parse_flow(base(), PROMPTS, source=Path("menu.yaml"))
    assert flow.start == flow.main == "hello"


def test_unknown_prompt() -> None:
    data = base()
    data["nodes"]["menu"]["prompt"] = "menu_typo"
    assert problems(data) == ["node 'menu': prompt names unknown prompt 'menu_typo'"]


def test_unreachable_node() -> None:
    data = base()
    data["nodes"]["orphan"] = {"type": "hangup", "prompt": "bye"}
    assert problems(data) == ["node 'orphan' is unreachable from start 'hello'"]


def test_bad_digit() -> None:
    data = base()
    data["nodes"]["menu"]["choices"]["A"] = "bye"
    data["nodes"]["menu"]["choices"][12] = "bye"
    found = problems(data)
    assert any("bad digit 'A'" in p and p.startswith("node 'menu'") for p in found)
    assert any("bad digit 12" in p for p in found)


def test_unquoted_digit_key_is_accepted() -> None:
    data = base()
    data["nodes"]["menu"]["choices"] = {1: "bye"}
    flow = parse_flow(data, PROMPTS, source=Path("m.yaml"))
    menu = flow.nodes["menu"]
    assert isinstance(menu, MenuNode) and "1" in menu.choices


def test_missing_target() -> None:
    data = base()
    data["nodes"]["menu"]["choices"]["1"] = "nowhere"
    found = problems(data)
    assert "node 'menu': choice '1' goes to missing target 'nowhere'" in found


def test_duplicate_ids_in_yaml(tmp_path: Path) -> None:
    (tmp_path / "prompts.yaml").write_text(yaml.safe_dump({"prompts": PROMPTS}), "utf-8")
    menu = tmp_path / "menu.yaml"
    menu.write_text(
        "start: bye\nnodes:\n"
        "  bye: {type: hangup, prompt: bye}\n"
        "  bye: {type: hangup, prompt: hello}\n",
        "utf-8",
    )
    with pytest.raises(FlowError) as info:
        load_flow(menu)
    assert "duplicate id 'bye' (line 4, first at line 3)" in str(info.value)
    assert str(menu) in str(info.value)


def test_unknown_fields_types_and_actions() -> None:
    data = base()
    data["nodes"]["menu"]["retires"] = 3
    data["nodes"]["x"] = {"type": "dance"}
    data["nodes"]["menu"]["choices"]["2"] = "look"
    data["nodes"]["look"] = {"type": "action", "action": "lookup_dossier", "outcomes": {}}
    found = problems(data)
    assert "node 'menu': unknown field(s) ['retires'] for a menu node" in found
    assert any(p.startswith("node 'x': unknown type 'dance'") for p in found)
    assert any("missing target for outcome(s)" in p for p in found)
    assert any("reads slot 'dossier_code', which no node fills" in p for p in found)


def test_readback_placeholders_are_checked() -> None:
    data = base()
    data["nodes"]["menu"]["choices"]["2"] = "say"
    data["nodes"]["say"] = {"type": "say", "readback": "rb", "next": "bye"}
    data["readbacks"] = {"rb": ["Mã số {case_reference:digitz}.", "{nobody}"]}
    found = problems(data)
    assert any("bad placeholder '{case_reference:digitz}'" in p for p in found)
    assert "readback 'rb' line 2: slot 'nobody' is filled by no node" in found


def test_all_problems_are_reported_together() -> None:
    data = base()
    data["start"] = "nope"
    data["nodes"]["menu"]["prompt"] = "zzz"
    data["nodes"]["menu"]["retries"] = 0
    found = problems(data)
    assert len(found) >= 3


def test_prompts_file_problems(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text("prompts:\n  Bad-Id: x\n  empty: ''\n", "utf-8")
    with pytest.raises(FlowError) as info:
        load_prompts(path)
    assert len(info.value.problems) == 2


def test_prompts_are_normalised_to_nfc(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yaml"
    nfd = unicodedata.normalize("NFD", "Quý vị")
    path.write_text(yaml.safe_dump({"prompts": {"a": nfd}}, allow_unicode=True), "utf-8")
    assert load_prompts(path)["a"] == "Quý vị"
