"""docker-compose.yml and the Asterisk image: loopback only, required secrets, healthchecks,
and the image's shell renderer agrees with ivr/pbx/render.py.

The Docker client here has no `compose` subcommand, so the file is checked by parsing it;
where `docker compose` exists, `docker compose config` must accept it too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.settings import DEV_AMI_SECRET, DEV_API_SECRET, DEV_DB_PASSWORD, REPO_ROOT
from ivr.pbx.render import render_all
from tests.unit.test_pbx_render import make_config

COMPOSE = REPO_ROOT / "docker-compose.yml"
ENTRYPOINT = REPO_ROOT / "asterisk" / "docker-entrypoint.sh"
REQUIRED_SECRETS = ("HOTLINE_AMI_SECRET", "HOTLINE_API_SECRET", "HOTLINE_DB_PASSWORD")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_four_services_exist_and_each_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"asterisk", "app", "api", "postgres"}
    for name, service in services.items():
        check = service.get("healthcheck", {})
        assert check.get("test"), f"service {name} has no healthcheck"


def test_asterisk_is_built_from_debian_sid(compose: dict[str, Any]) -> None:
    build = compose["services"]["asterisk"]["build"]
    assert build["dockerfile"] == "asterisk/Dockerfile"
    dockerfile = (REPO_ROOT / build["context"] / build["dockerfile"]).read_text()
    assert re.search(r"^FROM debian:sid", dockerfile, re.M)
    assert "packages.txt" in dockerfile


def test_everything_listens_on_loopback_only(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    assert "0.0.0.0" not in text
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        if service.get("network_mode") == "host":
            env = service.get("environment", {})
            hosts = {k: v for k, v in env.items() if k.endswith("_HOST")}
            assert all(v == "127.0.0.1" for v in hosts.values()), (name, hosts)
        else:
            assert "ports" in service or name == "postgres", name


def test_every_secret_is_required_and_no_default_secret_is_written(
    compose: dict[str, Any],
) -> None:
    text = COMPOSE.read_text()
    for secret in REQUIRED_SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(:\?|:-|-|\})", text)
        assert uses, f"{secret} unused"
        assert all(u == ":?" for u in uses), f"{secret} has a default: {uses}"
    for default in (DEV_AMI_SECRET, DEV_API_SECRET, DEV_DB_PASSWORD):
        assert default not in text
    app_env = compose["services"]["app"]["environment"]
    assert app_env["HOTLINE_ENV"] == "production"  # settings then refuse default secrets


def test_docker_compose_config_accepts_the_file_where_the_client_exists() -> None:
    docker = shutil.which("docker")
    has_compose = (
        docker is not None
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    )
    env = {**os.environ, **{s: "x" * 24 for s in REQUIRED_SECRETS}}
    if has_compose:
        assert docker is not None
        done = subprocess.run(
            [docker, "compose", "-f", str(COMPOSE), "config", "-q"], env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr
        missing = {k: v for k, v in env.items() if k != "HOTLINE_AMI_SECRET"}
        done = subprocess.run(
            [docker, "compose", "-f", str(COMPOSE), "config", "-q"],
            env=missing,
            capture_output=True,
        )
        assert done.returncode != 0
    else:
        # No compose client: at least the interpolation syntax must be well formed.
        text = COMPOSE.read_text()
        assert text.count("${") == len(re.findall(r"\$\{[A-Z_]+(:[?-][^}]*)?\}", text))


def _run_entrypoint(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in (REPO_ROOT / "asterisk" / "config").glob("*.tmpl"):
        shutil.copy(source, templates)
    shutil.copy(REPO_ROOT / "dialplans" / "extensions.conf.tmpl", templates)
    (tmp_path / "out").mkdir()
    full_env = {
        "PATH": os.environ["PATH"],
        "HOTLINE_TEMPLATES_DIR": str(templates),
        "HOTLINE_RENDER_DIR": str(tmp_path / "out"),
        "HOTLINE_RENDER_ONLY": "1",
        **env,
    }
    return subprocess.run(["sh", str(ENTRYPOINT)], env=full_env, capture_output=True, text=True)


def test_the_image_renderer_matches_the_python_renderer(tmp_path: Path) -> None:
    config = make_config()
    done = _run_entrypoint(
        tmp_path,
        {
            "HOTLINE_AMI_PORT": str(config.ami_port),
            "HOTLINE_AMI_USER": config.ami_user,
            "HOTLINE_AMI_SECRET": config.ami_secret,
            "HOTLINE_SIP_PORT": str(config.sip_port),
            "HOTLINE_RTP_PORT_START": str(config.rtp_start),
            "HOTLINE_RTP_PORT_END": str(config.rtp_end),
            "HOTLINE_AUDIOSOCKET_PORT": str(config.audiosocket_port),
        },
    )
    assert done.returncode == 0, done.stderr
    expected = render_all(config)
    for name, text in expected.items():
        assert (tmp_path / "out" / name).read_text() == text, name


@pytest.mark.parametrize("secret", ["", "short", "has;semicolon-but-long"])
def test_the_image_refuses_a_missing_or_unsafe_secret(tmp_path: Path, secret: str) -> None:
    done = _run_entrypoint(tmp_path, {"HOTLINE_AMI_SECRET": secret} if secret else {})
    assert done.returncode != 0
    assert "HOTLINE_AMI_SECRET" in done.stderr
    assert not list((tmp_path / "out").iterdir())
