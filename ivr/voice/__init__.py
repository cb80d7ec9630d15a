"""Live caller audio: the voice port (`port`), the AudioSocket codec and server
(`audiosocket`) and the listeners that implement the port over Asterisk (`listener`)."""

from __future__ import annotations

from ivr.voice.port import Heard, Listener

__all__ = ["Heard", "Listener"]
