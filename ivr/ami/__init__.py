"""The AMI layer: sans-I/O codec (`codec`), typed messages (`events`), AGI replies (`agi`),
errors (`errors`) and the asyncio client (`client`)."""

from __future__ import annotations

from ivr.ami.agi import AgiResult, parse_agi_env, parse_agi_result
from ivr.ami.client import AmiClient, ClientState
from ivr.ami.codec import NEED_DATA, AmiCodec
from ivr.ami.errors import (
    ActionFailedError,
    AgiCommandError,
    AmiError,
    AmiTimeoutError,
    AuthenticationError,
    ChannelGoneError,
    ConnectionLostError,
    LocalProtocolError,
    NotConnectedError,
    RemoteProtocolError,
)
from ivr.ami.events import Action, Banner, ConnectionClosed, Event, Headers, Response

__all__ = [
    "NEED_DATA",
    "Action",
    "ActionFailedError",
    "AgiCommandError",
    "AgiResult",
    "AmiClient",
    "AmiCodec",
    "AmiError",
    "AmiTimeoutError",
    "AuthenticationError",
    "Banner",
    "ChannelGoneError",
    "ClientState",
    "ConnectionClosed",
    "ConnectionLostError",
    "Event",
    "Headers",
    "LocalProtocolError",
    "NotConnectedError",
    "RemoteProtocolError",
    "Response",
    "parse_agi_env",
    "parse_agi_result",
]
