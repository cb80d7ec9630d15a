"""Errors of the live-audio layer (``ivr.voice``): one root; messages name the turn and state.

A caller hanging up is not an error of this layer: it surfaces as
`ivr.ami.errors.ChannelGoneError` (the port's contract), raised by the listener.
"""

from __future__ import annotations


class VoiceError(Exception):
    """Root of every error raised by ``ivr.voice``."""


class AudioSocketProtocolError(VoiceError):
    """The bytes on an AudioSocket connection are not valid AudioSocket messages."""


class AudioSocketUnavailableError(VoiceError):
    """Asterisk did not connect to our AudioSocket server for a turn (app missing, port...)."""


class RecognitionError(VoiceError):
    """The recogniser failed for a turn (worker died, model missing)."""
