"""Errors of the local PBX (build, restore, render, start, stop of the Asterisk chroot)."""

from __future__ import annotations


class PbxError(Exception):
    """Root of the ivr.pbx errors."""


class PbxConfigError(PbxError):
    """A PbxConfig value or a config template is unusable (bad port, unsafe secret, unknown key)."""


class PbxBuildError(PbxError):
    """The chroot could not be built, cached or restored."""


class PbxStartError(PbxError):
    """Asterisk did not come up; the message carries the tail of its log."""


class PbxPortError(PbxStartError):
    """A loopback port Asterisk needs is taken (or it could not bind it)."""


class PbxStopError(PbxError):
    """Asterisk would not stop, or a mount under the root would not go away."""


class DialplanError(PbxError):
    """The dialplan is unsafe (a caller can reach a Dial) or cannot be parsed."""
