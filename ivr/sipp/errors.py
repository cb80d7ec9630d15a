"""Errors of the sipp caller (`ivr.sipp`): one root, each message names the thing and its state."""

from __future__ import annotations


class SippError(Exception):
    """Root of every error raised by `ivr.sipp`."""


class MediaError(SippError):
    """Caller media could not be built: an unreadable WAV, an unknown DTMF key, a bad pcap."""


class PcapFormatError(MediaError):
    """A pcap file (or a packet inside it) is not in a shape we can read."""


class ScenarioError(SippError):
    """A call specification cannot be turned into a sipp scenario (bad number, bad timing)."""


class SippNotFoundError(SippError):
    """The sipp binary (Debian package sip-tester) is not installed or not runnable."""


class SippRunError(SippError):
    """sipp started but could not place the call (fatal error, socket bind failure, timeout)."""
