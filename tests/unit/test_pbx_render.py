"""Rendering of the Asterisk configs: values from PbxConfig, loopback only, strict templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.pbx.config import PbxConfig
from ivr.pbx.errors import PbxConfigError
from ivr.pbx.render import render_all, render_text

SECRET = "s3cret-from-settings-42"


def make_config(**overrides: object) -> PbxConfig:
    values: dict[str, object] = {
        "root": Path("/tmp/hotline-test-root"),
        "ami_port": 25038,
        "ami_user": "ctl",
        "ami_secret": SECRET,
        "sip_port": 25060,
        "rtp_start": 25100,
        "rtp_end": 25299,
        "audiosocket_port": 25092,
        "hotline_number": "19009120",
        "agent_queue": "hotline-agents",
        "prompts_dir": Path("/tmp/p"),
        "recordings_dir": Path("/tmp/r"),
    }
    values.update(overrides)
    return PbxConfig(**values)  # type: ignore[arg-type]


def sections(text: str) -> dict[str, dict[str, list[str]]]:
    """A tiny Asterisk config reader: section -> key -> values (comments dropped)."""
    out: dict[str, dict[str, list[str]]] = {}
    current = out.setdefault("", {})
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            current = out.setdefault(line[1 : line.index("]")], {})
        elif "=" in line:
            key, _, value = line.partition("=")
            current.setdefault(key.strip(), []).append(value.lstrip(">").strip())
    return out


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_all(make_config())


def test_every_config_is_rendered(rendered: dict[str, str]) -> None:
    expected = {"manager.conf", "pjsip.conf", "modules.conf", "rtp.conf", "logger.conf"}
    expected |= {"queues.conf", "musiconhold.conf", "extensions.conf", "cdr.conf"}
    assert expected <= set(rendered)
    for name, text in rendered.items():
        assert "{{" not in text and "}}" not in text, name


def test_manager_is_loopback_only_with_the_secret_from_config(rendered: dict[str, str]) -> None:
    manager = sections(rendered["manager.conf"])
    assert manager["general"]["bindaddr"] == ["127.0.0.1"]
    assert manager["general"]["port"] == ["25038"]
    assert manager["general"]["webenabled"] == ["no"]
    user = manager["ctl"]
    assert user["secret"] == [SECRET]
    assert user["deny"] == ["0.0.0.0/0.0.0.0"]
    assert user["permit"] == ["127.0.0.1/255.255.255.255"]
    write = set(user["write"][0].split(","))
    assert "agi" in write and "call" in write
    assert not write & {"originate", "system", "command", "config", "all"}
    assert "agi" in user["read"][0].split(",")
    assert int(user["writetimeout"][0]) > 100


def test_pjsip_binds_loopback_and_identifies_the_caller_by_ip(rendered: dict[str, str]) -> None:
    text = rendered["pjsip.conf"]
    assert "bind = 127.0.0.1:25060" in text
    assert "0.0.0.0" not in text
    assert "match = 127.0.0.1" in text
    expected = ("allow = ulaw", "dtmf_mode = rfc4733", "rtp_symmetric = yes", "direct_media = no")
    for line in (*expected, "allow_overlap = no"):
        assert line in text
    assert "[anonymous]" not in text


def test_rtp_range_and_queue_and_dialplan_numbers(rendered: dict[str, str]) -> None:
    rtp = sections(rendered["rtp.conf"])["general"]
    assert (rtp["rtpstart"], rtp["rtpend"]) == (["25100"], ["25299"])
    assert "[hotline-agents]" in rendered["queues.conf"]
    assert "exten => 19009120,1," in rendered["extensions.conf"]
    assert "HOTLINE_AUDIOSOCKET = 127.0.0.1:25092" in rendered["extensions.conf"]


def test_modules_autoload_off_and_no_dialing_module(rendered: dict[str, str]) -> None:
    modules = sections(rendered["modules.conf"])["modules"]
    assert modules["autoload"] == ["no"]
    loaded = set(modules["load"])
    needed = {"res_agi.so", "res_speech.so", "app_queue.so", "res_musiconhold.so"}
    needed |= {"app_audiosocket.so", "res_audiosocket.so", "app_mixmonitor.so", "app_record.so"}
    needed |= {"app_playback.so", "format_wav.so", "format_pcm.so", "format_sln.so"}
    needed |= {"codec_ulaw.so", "codec_alaw.so", "func_callerid.so", "chan_pjsip.so"}
    assert needed <= loaded
    assert not loaded & {"app_dial.so", "app_originate.so", "app_system.so", "func_shell.so"}


def test_a_different_config_changes_the_rendered_values() -> None:
    other = render_all(make_config(ami_port=31000, sip_port=31001, hotline_number="19001234"))
    assert "port = 31000" in other["manager.conf"]
    assert "bind = 127.0.0.1:31001" in other["pjsip.conf"]
    assert "exten => 19001234,1," in other["extensions.conf"]


def test_unknown_placeholder_and_stray_braces_are_errors() -> None:
    with pytest.raises(PbxConfigError, match=r"x\.conf: unknown placeholder \{\{nope\}\}"):
        render_text("x.conf", "a = {{nope}}", {"ami_port": "1"})
    with pytest.raises(PbxConfigError, match=r"x\.conf: malformed placeholder on line 2"):
        render_text("x.conf", "a = 1\nb = {{ami-port}}", {"ami_port": "1"})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ami_secret", "short", "ami_secret"),
        ("ami_secret", "has;semicolon-inside", "ami_secret"),
        ("ami_secret", "has newline\nsecret=x", "ami_secret"),
        ("ami_user", "bad user]", "ami_user"),
        ("ami_port", 80, "ami_port=80"),
        ("sip_port", 25150, "overlap"),
        ("rtp_end", 25101, "RTP range"),
        ("hotline_number", "1900;x", "hotline_number"),
        ("root", Path("relative"), "absolute"),
    ],
)
def test_unsafe_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(PbxConfigError, match=message) as caught:
        make_config(**{field: value})
    if field == "ami_secret":
        assert str(value) not in str(caught.value)  # never echo a secret
