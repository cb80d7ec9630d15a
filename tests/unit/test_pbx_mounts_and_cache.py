"""Pure parts of ivr/pbx: mountinfo parsing and unmount order, cache keys, port plans."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ivr.pbx import cache
from ivr.pbx.cache import cache_key
from ivr.pbx.errors import PbxBuildError
from ivr.pbx.freeports import pick_ports
from ivr.pbx.mounts import mounts_under, parse_mountinfo
from tests.unit.test_pbx_render import make_config

MOUNTINFO = """\
22 1 0:21 / / rw,relatime - overlay overlay rw
30 22 0:5 / /proc rw - proc proc rw
41 22 0:40 / /srv/pbx/root/proc rw - proc proc rw
42 41 0:41 / /srv/pbx/root/proc/sys/fs/binfmt_misc rw - binfmt_misc x rw
43 22 8:1 /prompts /srv/pbx/root/var/lib/hotline/prompts ro - ext4 /dev/vda rw
44 22 8:1 /x /srv/pbx/root\\040two/proc rw - ext4 /dev/vda rw
45 22 8:1 /x /srv/pbx/rootless rw - ext4 /dev/vda rw
"""


def test_parse_mountinfo_decodes_octal_escapes() -> None:
    points = parse_mountinfo(MOUNTINFO)
    assert Path("/srv/pbx/root two/proc") in points
    assert points[0] == Path("/")


def test_mounts_under_a_root_deepest_first_and_nothing_beside_it() -> None:
    found = mounts_under(Path("/srv/pbx/root"), MOUNTINFO)
    assert set(found) == {
        Path("/srv/pbx/root/proc/sys/fs/binfmt_misc"),
        Path("/srv/pbx/root/var/lib/hotline/prompts"),
        Path("/srv/pbx/root/proc"),
    }
    for index, point in enumerate(found):  # a mount is unmounted before any mount above it
        assert not any(point in later.parents for later in found[index + 1 :])
    assert mounts_under(Path("/elsewhere"), MOUNTINFO) == []


def test_the_cache_key_follows_the_build_script_and_the_package_list(tmp_path: Path) -> None:
    script, packages = tmp_path / "build-chroot.sh", tmp_path / "packages.txt"
    script.write_text("#!/bin/sh\n")
    packages.write_text("asterisk\n")
    first = cache_key(script, packages)
    assert first == cache_key(script, packages)
    packages.write_text("asterisk\nasterisk-moh-opsound-wav\n")
    second = cache_key(script, packages)
    script.write_text("#!/bin/sh\n# changed\n")
    assert len({first, second, cache_key(script, packages)}) == 3


def test_the_repository_cache_key_is_stable_hex() -> None:
    config = make_config()
    key = cache_key(config.build_script, config.packages_file)
    assert len(key) == 16 and int(key, 16) >= 0


def test_a_port_plan_is_a_valid_config_and_avoids_the_shared_ports() -> None:
    for seed in range(20):
        plan = pick_ports(rng=random.Random(seed))
        assert plan.rtp_end - plan.rtp_start == 199
        singles = {plan.ami_port, plan.sip_port, plan.audiosocket_port}
        assert len(singles) == 3
        assert not singles & {5038, 5060, 9092}
        assert not any(plan.rtp_start <= p <= plan.rtp_end for p in singles)
        make_config(
            ami_port=plan.ami_port,
            sip_port=plan.sip_port,
            audiosocket_port=plan.audiosocket_port,
            rtp_start=plan.rtp_start,
            rtp_end=plan.rtp_end,
        )


def test_a_build_host_without_tools_or_keyring_is_told_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("shutil.which", lambda tool: None if tool == "debootstrap" else tool)
    monkeypatch.setattr(cache, "DEBIAN_KEYRING", tmp_path / "no-keyring.gpg")
    with pytest.raises(PbxBuildError) as caught:
        cache.ensure_tarball(make_config(cache_dir=tmp_path / "cache"))
    message = str(caught.value)
    assert "apt-get install debian-archive-keyring debootstrap" in message
    assert not list((tmp_path / "cache").glob("build-*"))  # nothing started
