"""AmiClient against the in-process fake AMI server (tests/fixtures/fake_ami.py): login,
correlation, EventList, AsyncAGI, per-channel serialisation, drops, keep-alive, reconnect."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from ivr.ami.client import AmiClient, ClientState, backoff_delay
from ivr.ami.errors import (
    ActionFailedError,
    AgiCommandError,
    AmiTimeoutError,
    AuthenticationError,
    ChannelGoneError,
    ConnectionLostError,
    LocalProtocolError,
    NotConnectedError,
)
from ivr.ami.events import AsyncAGIExec, CoreShowChannel, Event
from tests.fixtures.fake_ami import FakeAmi, FakeSession, ReceivedAction

CHANNEL = "PJSIP/sipp-00000000"


@pytest.fixture
async def server() -> AsyncIterator[FakeAmi]:
    fake = FakeAmi()
    await fake.start()
    yield fake
    await fake.stop()


def make_client(server: FakeAmi, **kwargs: object) -> AmiClient:
    options: dict[str, object] = {
        "keepalive_s": None,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "rng": random.Random(7),
        "action_timeout_s": 2.0,
    }
    options.update(kwargs)
    return AmiClient("127.0.0.1", server.port, server.username, server.secret, **options)  # type: ignore[arg-type]


@pytest.fixture
async def client(server: FakeAmi) -> AsyncIterator[AmiClient]:
    ami = make_client(server)
    await ami.connect()
    yield ami
    await ami.close()


def agi_exec(result: str, command_id: str, channel: str = CHANNEL) -> list[tuple[str, str]]:
    return [
        ("Channel", channel),
        ("Uniqueid", "1795599729.0"),
        ("Result", result),
        ("CommandId", command_id),
    ]


def agi_answering(encoded_result: str, delay_s: float = 0.0):  # type: ignore[no-untyped-def]
    """Handler: accept the AGI action, then send AsyncAGIExec with `encoded_result`."""

    async def handler(session: FakeSession, action: ReceivedAction) -> None:
        await session.respond(action, Message="Added AGI command to queue")
        await asyncio.sleep(delay_s)
        await session.event(
            "AsyncAGIExec",
            *agi_exec(encoded_result, action.get("CommandID") or "", action.get("Channel") or ""),
        )

    return handler


# -- login -------------------------------------------------------------------------------------


async def test_login_sends_credentials_and_reads_the_banner(
    server: FakeAmi, client: AmiClient
) -> None:
    assert client.state is ClientState.CONNECTED
    assert client.banner is not None and client.banner.version == "11.0.0"
    login = server.actions[0]
    assert login.name == "Login"
    assert login.get("Username") == "hotline" and login.get("Secret") == "s3cret"
    assert login.get("Events") == "on"
    assert login.action_id


async def test_login_with_md5_challenge_never_sends_the_secret(server: FakeAmi) -> None:
    ami = make_client(server, use_md5_challenge=True)
    await ami.connect()
    try:
        names = [a.name for a in server.actions]
        assert names == ["Challenge", "Login"]
        assert server.actions[1].get("Secret") is None
        assert server.actions[1].get("AuthType") == "MD5"
        assert server.logins == 1
    finally:
        await ami.close()


async def test_wrong_secret_raises_authentication_error_without_the_secret(
    server: FakeAmi,
) -> None:
    ami = AmiClient("127.0.0.1", server.port, "hotline", "wrong-secret", keepalive_s=None)
    with pytest.raises(AuthenticationError) as info:
        await ami.connect()
    assert "'hotline' refused: Authentication failed" in str(info.value)
    assert "wrong-secret" not in str(info.value)
    assert ami.state is ClientState.CLOSED


async def test_connect_to_a_closed_port_raises_connection_lost() -> None:
    fake = FakeAmi()
    port = await fake.start()
    await fake.stop()
    ami = AmiClient("127.0.0.1", port, "u", "s", keepalive_s=None)
    with pytest.raises(ConnectionLostError, match=f"127.0.0.1:{port} failed"):
        await ami.connect()


# -- actions -----------------------------------------------------------------------------------


async def test_action_returns_its_response_correlated_by_action_id(
    server: FakeAmi, client: AmiClient
) -> None:
    async def slow_then_fast(session: FakeSession, action: ReceivedAction) -> None:
        await asyncio.sleep(0.05 if action.get("Variable") == "slow" else 0)
        await session.respond(action, Value=action.get("Variable") or "")

    server.handle("Getvar", slow_then_fast)
    slow = asyncio.create_task(client.action("Getvar", Variable="slow"))
    await server.wait_for_action("Getvar")
    fast = await client.action("Getvar", Variable="fast")
    assert fast.get("Value") == "fast"
    assert (await slow).get("Value") == "slow"


async def test_failed_action_raises_action_failed_error(client: AmiClient) -> None:
    with pytest.raises(ActionFailedError) as info:
        await client.action("NoSuchAction", Foo="bar")
    assert info.value.action == "NoSuchAction"
    assert "failed: Invalid/unknown command" in str(info.value)


async def test_repeated_headers_are_sent_repeated(server: FakeAmi, client: AmiClient) -> None:
    server.handle("Originate", lambda s, a: s.respond(a, Message="Originate queued"))
    await client.action("Originate", Channel="Local/1@x", Variable=["A=1", "B=Đà Nẵng"])
    sent = server.actions[-1]
    assert [v for k, v in sent.headers if k == "Variable"] == ["A=1", "B=Đà Nẵng"]


async def test_header_injection_is_refused_before_anything_is_sent(
    server: FakeAmi, client: AmiClient
) -> None:
    before = len(server.actions)
    with pytest.raises(LocalProtocolError, match="header injection"):
        await client.action("Setvar", Variable="X", Value="1\r\nAction: Originate")
    await client.action("Ping")
    assert [a.name for a in server.actions[before:]] == ["Ping"]


async def test_action_timeout_names_the_action(server: FakeAmi, client: AmiClient) -> None:
    server.handle("Status", lambda s, a: None)
    with pytest.raises(AmiTimeoutError, match=r"AMI action Status \(ActionID .*\) timed out"):
        await client.action("Status", timeout_s=0.05)
    assert isinstance(AmiTimeoutError("x"), TimeoutError)


async def test_action_list_collects_events_until_complete(
    server: FakeAmi, client: AmiClient
) -> None:
    seen: list[Event] = []
    client.subscribe(seen.append)

    async def show(session: FakeSession, action: ReceivedAction) -> None:
        items = [
            [("Channel", CHANNEL), ("Application", "AGI"), ("ApplicationData", "agi:async")],
            [("Channel", "PJSIP/agent-1"), ("Application", "Queue"), ("ApplicationData", "q")],
        ]
        await session.event("Newstate", ("Channel", "PJSIP/other"))  # unrelated, interleaved
        await session.reply_list(action, "CoreShowChannel", items)

    server.handle("CoreShowChannels", show)
    events = await client.action_list("CoreShowChannels")
    assert [type(e) for e in events] == [CoreShowChannel, CoreShowChannel]
    assert [e.channel for e in events if isinstance(e, CoreShowChannel) and e.in_async_agi] == [
        CHANNEL
    ]
    # subscribers see everything, list items and the Complete included
    assert [e.name for e in seen] == [
        "Newstate",
        "CoreShowChannel",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    ]


async def test_command_output_lines(server: FakeAmi, client: AmiClient) -> None:
    async def command(session: FakeSession, action: ReceivedAction) -> None:
        await session.send(
            ("Response", "Success"),
            ("ActionID", action.action_id),
            ("Message", "Command output follows"),
            ("Output", "Name/username   Host"),
            ("Output", "0 objects found."),
        )

    server.handle("Command", command)
    assert await client.command("pjsip show endpoints") == (
        "Name/username   Host",
        "0 objects found.",
    )


# -- AsyncAGI ----------------------------------------------------------------------------------


async def test_agi_result_is_correlated_by_command_id_and_parsed(
    server: FakeAmi, client: AmiClient
) -> None:
    server.handle("AGI", agi_answering("200%20result%3D0%20(timeout)%20endpos%3D40160%0A"))
    result = await client.agi(CHANNEL, 'RECORD FILE /tmp/x wav "#" 6000')
    assert (result.code, result.value, result.timed_out, result.endpos) == (200, 0, True, 40160)
    sent = server.actions[-1]
    assert sent.get("Channel") == CHANNEL and sent.get("CommandID")


async def test_agi_510_raises_agi_command_error(server: FakeAmi, client: AmiClient) -> None:
    server.handle("AGI", agi_answering("510%20Invalid%20or%20unknown%20command%0A"))
    with pytest.raises(AgiCommandError) as info:
        await client.agi(CHANNEL, "FOO BAR")
    assert info.value.result.code == 510
    assert str(info.value) == (
        f"AGI command 'FOO BAR' on channel {CHANNEL} failed with 510: Invalid or unknown command"
    )


async def test_agi_511_dead_channel_raises_channel_gone(server: FakeAmi, client: AmiClient) -> None:
    server.handle(
        "AGI",
        agi_answering("511%20Command%20Not%20Permitted%20on%20a%20dead%20channel%0A"),
    )
    with pytest.raises(ChannelGoneError, match=r"511.*the channel is dead"):
        await client.agi(CHANNEL, 'STREAM FILE beep ""')


async def test_agi_on_a_channel_that_does_not_exist_raises_channel_gone(
    server: FakeAmi, client: AmiClient
) -> None:
    server.handle(
        "AGI", lambda s, a: s.respond(a, "Error", Message=f"Channel {CHANNEL} does not exist.")
    )
    with pytest.raises(ChannelGoneError) as info:
        await client.agi(CHANNEL, "ANSWER")
    assert info.value.channel == CHANNEL
    assert "refused: Channel PJSIP/sipp-00000000 does not exist." in str(info.value)


async def test_async_agi_end_fails_the_pending_command(server: FakeAmi, client: AmiClient) -> None:
    async def hang_up_instead(session: FakeSession, action: ReceivedAction) -> None:
        await session.respond(action, Message="Added AGI command to queue")
        await session.event("AsyncAGIEnd", ("Channel", CHANNEL), ("Uniqueid", "1.0"))

    server.handle("AGI", hang_up_instead)
    with pytest.raises(ChannelGoneError, match=r"cannot complete: the channel left AsyncAGI"):
        await client.agi(CHANNEL, 'STREAM FILE long-prompt ""')


async def test_hangup_fails_the_pending_command_with_the_cause(
    server: FakeAmi, client: AmiClient
) -> None:
    async def hang_up(session: FakeSession, action: ReceivedAction) -> None:
        await session.respond(action, Message="Added AGI command to queue")
        await session.event(
            "Hangup", ("Channel", CHANNEL), ("Cause", "16"), ("Cause-txt", "Normal Clearing")
        )

    server.handle("AGI", hang_up)
    with pytest.raises(ChannelGoneError, match=r"hung up \(Hangup, cause 16 Normal Clearing\)"):
        await client.agi(CHANNEL, "WAIT FOR DIGIT 5000")


async def test_agi_commands_on_one_channel_run_one_at_a_time(
    server: FakeAmi, client: AmiClient
) -> None:
    server.handle("AGI", agi_answering("200%20result%3D1%0A", delay_s=0.05))
    results = await asyncio.gather(
        client.agi(CHANNEL, 'SAY DIGITS 1 ""'),
        client.agi(CHANNEL, 'SAY DIGITS 2 ""'),
        client.agi("PJSIP/sipp-00000001", 'SAY DIGITS 3 ""'),
    )
    assert [r.value for r in results] == [1, 1, 1]
    # The other channel's command went out while channel 0's first one was running; the
    # second command of channel 0 only after the first one's AsyncAGIExec.
    commands = [a.get("Command") for a in server.actions if a.name == "AGI"]
    assert commands == ['SAY DIGITS 1 ""', 'SAY DIGITS 3 ""', 'SAY DIGITS 2 ""']
    assert client._channel_locks == {}


async def test_agi_timeout(server: FakeAmi, client: AmiClient) -> None:
    server.handle("AGI", lambda s, a: s.respond(a, Message="Added AGI command to queue"))
    with pytest.raises(AmiTimeoutError, match=r"not answered after 0\.05s"):
        await client.agi(CHANNEL, "WAIT FOR DIGIT -1", timeout=0.05)


# -- drops, keep-alive, reconnect, close -------------------------------------------------------


async def test_drop_mid_action_fails_pending_futures_then_reconnects_and_calls_on_connected(
    server: FakeAmi,
) -> None:
    ami = make_client(server)
    adopted: list[int] = []

    async def adopt() -> None:
        # what the controller does: list the channels parked in AsyncAGI
        adopted.append(len(await ami.action_list("CoreShowChannels")))

    server.handle("CoreShowChannels", lambda s, a: s.reply_list(a, "CoreShowChannel", []))
    server.handle("Originate", lambda s, a: None)  # never answered
    server.handle("AGI", lambda s, a: s.respond(a, Message="Added AGI command to queue"))
    ami.on_connected(adopt)
    await ami.connect()
    try:
        pending_action = asyncio.create_task(ami.action("Originate", Channel="Local/1@x"))
        pending_agi = asyncio.create_task(ami.agi(CHANNEL, "WAIT FOR DIGIT 5000"))
        await server.wait_for_action("AGI")
        await server.wait_for_action("Originate")
        server.drop_all()
        with pytest.raises(ConnectionLostError, match=r"AMI action Originate .* lost before"):
            await pending_action
        with pytest.raises(ConnectionLostError, match=r"AGI command 'WAIT FOR DIGIT 5000'"):
            await pending_agi
        await ami.wait_connected(timeout_s=2.0)
        await server.wait_for_action("CoreShowChannels", count=2)
        await asyncio.sleep(0.01)
        assert adopted == [0, 0]
        assert ami.connections == 2 and server.logins == 2
        assert (await ami.action("Ping")).get("Ping") == "Pong"
    finally:
        await ami.close()


async def test_action_while_reconnecting_raises_not_connected(server: FakeAmi) -> None:
    ami = make_client(server)
    await ami.connect()
    try:
        await server.stop()
        for _ in range(100):
            if not ami.connected:
                break
            await asyncio.sleep(0.01)
        assert ami.state is ClientState.RECONNECTING
        with pytest.raises(NotConnectedError, match=r"cannot send Ping: .* is RECONNECTING"):
            await ami.action("Ping")
        await server.start(port=server.port)  # Asterisk is back
        await ami.wait_connected(timeout_s=3.0)
        assert ami.connections == 2
    finally:
        await ami.close()


async def test_unanswered_keepalive_drops_the_connection_and_reconnects(server: FakeAmi) -> None:
    server.answer_pings = False
    ami = make_client(server, keepalive_s=0.05)
    await ami.connect()
    try:
        await server.wait_for_action("Ping")
        server.answer_pings = True
        for _ in range(200):
            if ami.connections >= 2:
                break
            await asyncio.sleep(0.01)
        assert ami.connections == 2
        assert len(server.sessions) == 2
    finally:
        await ami.close()


async def test_close_logs_off_and_fails_pending_calls(server: FakeAmi) -> None:
    ami = make_client(server)
    await ami.connect()
    server.handle("Originate", lambda s, a: None)
    pending = asyncio.create_task(ami.action("Originate", Channel="Local/1@x"))
    await server.wait_for_action("Originate")
    await ami.close()
    with pytest.raises(ConnectionLostError, match="the client was closed"):
        await pending
    assert ami.state is ClientState.CLOSED
    assert server.actions[-1].name == "Logoff"
    await ami.close()  # idempotent
    assert ami.state is ClientState.CLOSED


async def test_subscribers_get_events_in_order_filtered_by_name(
    server: FakeAmi, client: AmiClient
) -> None:
    all_events: list[str] = []
    dtmf: list[str] = []
    received = asyncio.Event()
    first_dtmf_end = asyncio.Event()
    client.subscribe(lambda e: all_events.append(e.name))

    def on_dtmf_end(event: Event) -> None:
        dtmf.append(event.get("Digit") or "")
        first_dtmf_end.set()

    unsubscribe = client.subscribe(on_dtmf_end, "DTMFEnd")

    async def async_subscriber(event: Event) -> None:
        if isinstance(event, AsyncAGIExec):
            received.set()

    client.subscribe(async_subscriber)
    session = server.current
    await session.event("DTMFBegin", ("Digit", "1"))
    await session.event("DTMFEnd", ("Digit", "1"))
    await session.event("UserEventNobodyKnows", ("Foo", "bar"))
    await asyncio.wait_for(first_dtmf_end.wait(), 2.0)
    unsubscribe()
    await session.event("DTMFEnd", ("Digit", "2"))
    await session.event("AsyncAGIExec", *agi_exec("200%20result%3D1%0A", "nobody"))
    await asyncio.wait_for(received.wait(), 2.0)
    assert all_events == ["DTMFBegin", "DTMFEnd", "UserEventNobodyKnows", "DTMFEnd", "AsyncAGIExec"]
    assert dtmf == ["1"]


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    low = [backoff_delay(a, initial_s=0.5, maximum_s=30.0, rand=0.0) for a in range(8)]
    high = [backoff_delay(a, initial_s=0.5, maximum_s=30.0, rand=0.999) for a in range(8)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert all(h > lo for h, lo in zip(high, low, strict=True))
    assert max(high) < 30.0
    assert backoff_delay(1000, initial_s=0.5, maximum_s=30.0, rand=0.5) == 22.5


async def test_list_timeout_says_how_far_the_list_got(server: FakeAmi, client: AmiClient) -> None:
    async def never_complete(session: FakeSession, action: ReceivedAction) -> None:
        await session.send(
            ("Response", "Success"), ("ActionID", action.action_id), ("EventList", "start")
        )
        await session.event("CoreShowChannel", ("ActionID", action.action_id), ("Channel", "X"))

    server.handle("CoreShowChannels", never_complete)
    with pytest.raises(AmiTimeoutError, match="a Response and 1 list events but no Complete"):
        await client.action_list("CoreShowChannels", timeout_s=0.2)


async def test_a_failing_on_connected_callback_does_not_stop_the_login(server: FakeAmi) -> None:
    ami = make_client(server)
    calls: list[str] = []

    async def broken() -> None:
        calls.append("broken")
        raise RuntimeError("adoption failed")

    async def fine() -> None:
        calls.append("fine")

    ami.on_connected(broken)
    ami.on_connected(fine)
    await ami.connect()
    try:
        assert calls == ["broken", "fine"]
        assert ami.connected
    finally:
        await ami.close()


async def test_a_malformed_message_is_skipped_and_the_connection_kept(
    server: FakeAmi, client: AmiClient
) -> None:
    seen: list[str] = []
    client.subscribe(lambda e: seen.append(e.name))
    await server.current.send_raw(b"Event: Broken\r\nno colon here\r\n\r\n")
    await server.current.event("DTMFEnd", ("Digit", "7"))
    assert (await client.action("Ping")).get("Ping") == "Pong"
    assert seen == ["DTMFEnd"]
    assert client.connections == 1


async def test_an_oversized_message_drops_the_connection_and_reconnects(server: FakeAmi) -> None:
    ami = make_client(server, max_message_size=1024)
    await ami.connect()
    try:
        await server.current.send_raw(b"Event: Flood\r\nX: " + b"y" * 4096)
        for _ in range(200):
            if ami.connections >= 2 and ami.connected:
                break
            await asyncio.sleep(0.01)
        assert ami.connections == 2
        assert (await ami.action("Ping")).get("Ping") == "Pong"
    finally:
        await ami.close()


async def test_close_while_reconnecting_stops_the_retries(server: FakeAmi) -> None:
    ami = make_client(server)
    await ami.connect()
    await server.stop()
    for _ in range(100):
        if ami.state is ClientState.RECONNECTING:
            break
        await asyncio.sleep(0.01)
    assert ami.state.value == "RECONNECTING"
    await asyncio.wait_for(ami.close(), 1.0)
    assert ami.state is ClientState.CLOSED
    await server.start(port=server.port)  # Asterisk is back, but the client is closed
    await asyncio.sleep(0.2)
    assert server.logins == 1
