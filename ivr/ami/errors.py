"""Errors of the AMI layer (``ivr.ami``): one root, protocol errors split by who was wrong.

`LocalProtocolError` means *we* tried to send something that is not valid AMI (a header value
with CR/LF, i.e. header injection); `RemoteProtocolError` means *Asterisk* (or whatever is on
the other end) sent something we cannot frame or parse (h11 `_util.py` makes the same split).
The rest are what a caller of `AmiClient` meets: a refused login, a failed action, a channel
that left AsyncAGI, a lost connection, an AGI command that answered 5xx. Every message names
the action / channel / command and the state it was in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.ami.agi import AgiResult
    from ivr.ami.events import Response


class AmiError(Exception):
    """Root of every error raised by ``ivr.ami``."""


class ProtocolError(AmiError):
    """The bytes on the wire are not valid AMI."""


class LocalProtocolError(ProtocolError):
    """We were about to send something invalid (nothing was sent)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something we cannot frame or parse."""


class AuthenticationError(AmiError):
    """Asterisk refused our login (wrong user/secret, or the manager user is not permitted)."""


class ActionFailedError(AmiError):
    """An action was answered with ``Response: Error``."""

    def __init__(self, action: str, action_id: str, response: Response) -> None:
        self.action = action
        self.action_id = action_id
        self.response = response
        message = response.message or "(no Message header)"
        super().__init__(f"AMI action {action} (ActionID {action_id}) failed: {message}")


class AmiTimeoutError(AmiError, TimeoutError):
    """No answer in time (an action's Response, a list's Complete event, an AGI result)."""


class ConnectionLostError(AmiError):
    """The AMI connection dropped (or was closed) while something was waiting on it."""


class NotConnectedError(ConnectionLostError):
    """An action was attempted while the client is not logged in (connecting, reconnecting...)."""


class ChannelGoneError(AmiError):
    """The channel hung up or left AsyncAGI, so an AGI command cannot (or did not) complete."""

    def __init__(self, channel: str, message: str) -> None:
        self.channel = channel
        super().__init__(message)


class AgiCommandError(AmiError):
    """An AGI command was answered with a non-200 code (510 unknown command, 520 usage...)."""

    def __init__(self, channel: str, command: str, result: AgiResult) -> None:
        self.channel = channel
        self.command = command
        self.result = result
        super().__init__(
            f"AGI command {command!r} on channel {channel} failed with {result.code}: "
            f"{result.message}"
        )
