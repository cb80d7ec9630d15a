"""Rendering of our Asterisk configs from templates (`{{name}}` placeholders) and a PbxConfig.

Strategy: `{{name}}` rather than `string.Template`, because the dialplan is full of Asterisk's
own `${VAR}`. Rendering is strict: an unknown placeholder, or a leftover `{{`, is an error naming
the template. Values were validated by PbxConfig (no ';' or newline can reach a config file).
The pure part (`render_text`, `config_values`) does no I/O; `render_all` reads the templates.
"""

from __future__ import annotations

import re
from pathlib import Path

from ivr.pbx.config import CHROOT_PROMPTS, CHROOT_RECORDINGS, PbxConfig
from ivr.pbx.errors import PbxConfigError

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TEMPLATE_SUFFIX = ".tmpl"


def config_values(config: PbxConfig) -> dict[str, str]:
    """The placeholders a template may use."""
    return {
        "ami_port": str(config.ami_port),
        "ami_user": config.ami_user,
        "ami_secret": config.ami_secret,
        "sip_port": str(config.sip_port),
        "rtp_start": str(config.rtp_start),
        "rtp_end": str(config.rtp_end),
        "audiosocket_port": str(config.audiosocket_port),
        "hotline_number": config.hotline_number,
        "agent_queue": config.agent_queue,
        "prompts_path": CHROOT_PROMPTS,
        "recordings_path": CHROOT_RECORDINGS,
        "agent_phones": agent_sections(config),
    }


def agent_sections(config: PbxConfig) -> str:
    """pjsip.conf sections of the agents' phones (endpoint + aor with a static loopback contact),
    built from validated names and ports only. An agent calling in is identified by IP like any
    loopback caller (`hotline-caller`); the endpoint's own context is the hotline's too."""
    blocks = [
        f"[{phone.name}]\n"
        "type = endpoint\n"
        "transport = transport-udp\n"
        "context = hotline-in\n"
        f"aors = {phone.name}\n"
        "disallow = all\n"
        "allow = ulaw\n"
        "direct_media = no\n"
        "rtp_symmetric = yes\n"
        "dtmf_mode = rfc4733\n"
        "media_address = 127.0.0.1\n"
        "bind_rtp_to_media_address = yes\n"
        "rtp_timeout = 60\n"
        "\n"
        f"[{phone.name}]\n"
        "type = aor\n"
        f"contact = sip:{phone.name}@127.0.0.1:{phone.port}\n"
        "max_contacts = 1\n"
        for phone in config.agent_phones
    ]
    # the image's renderer (asterisk/docker-entrypoint.sh) writes the same line: no agents there
    return "\n".join(blocks) if blocks else "; (none configured: HOTLINE_AGENT_PHONES)"


def render_text(name: str, template: str, values: dict[str, str]) -> str:
    """Replace every `{{key}}`; unknown keys and stray braces are errors naming `name`."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            known = ", ".join(sorted(values))
            raise PbxConfigError(f"template {name}: unknown placeholder {{{{{key}}}}} ({known})")
        return values[key]

    text = _PLACEHOLDER.sub(substitute, template)
    if "{{" in text or "}}" in text:
        line = next(i for i, row in enumerate(text.splitlines(), 1) if "{{" in row or "}}" in row)
        raise PbxConfigError(f"template {name}: malformed placeholder on line {line}")
    return text


def render_all(config: PbxConfig) -> dict[str, str]:
    """Every config file of the chroot's /etc/asterisk, by file name, rendered from templates."""
    values = config_values(config)
    templates = sorted(config.templates_dir.glob(f"*.conf{TEMPLATE_SUFFIX}"))
    if not templates:
        raise PbxConfigError(f"no config templates in {config.templates_dir}")
    sources: list[Path] = [*templates, config.dialplan_template]
    if not config.dialplan_template.is_file():
        raise PbxConfigError(f"dialplan template {config.dialplan_template} is missing")
    rendered: dict[str, str] = {}
    for source in sources:
        name = source.name.removesuffix(TEMPLATE_SUFFIX)
        rendered[name] = render_text(source.name, source.read_text(encoding="utf-8"), values)
    return rendered
