"""Settings refuse default or weak secrets outside development, with the variable named."""

from __future__ import annotations

import pytest

from hotline.errors import ConfigError
from hotline.settings import DEV_AMI_SECRET, DEV_API_SECRET, load_settings


def test_production_refuses_the_default_secrets() -> None:
    with pytest.raises(ConfigError, match="HOTLINE_AMI_SECRET, HOTLINE_API_SECRET"):
        load_settings(env="production")


def test_production_refuses_a_short_ami_secret() -> None:
    with pytest.raises(ConfigError, match="HOTLINE_AMI_SECRET is too short"):
        load_settings(env="production", ami_secret="short", api_secret="x" * 32)


def test_production_accepts_real_secrets_and_development_keeps_defaults() -> None:
    prod = load_settings(env="production", ami_secret="a" * 24, api_secret="b" * 32)
    assert prod.ami_secret == "a" * 24
    dev = load_settings(env="development", ami_secret=DEV_AMI_SECRET, api_secret=DEV_API_SECRET)
    assert dev.ami_secret == DEV_AMI_SECRET
