"""AMI parsing: our sans-I/O codec next to panoramisk, pyst2 and asterisk-ami, in one run.

What it does:
  1. builds one event stream: the Asterisk side of the recorded transcripts
     (tests/protocol/transcripts/, Asterisk 22.10.1) plus synthetic channel events with
     Vietnamese caller names (CallerIDName: Nguyễn Thị Ánh Tuyết...), Hangup events with two
     repeated ChanVariable headers (manager.conf channelvars), and Command responses with
     repeated Output lines (Asterisk >= 14), behind an ``Asterisk Call Manager`` banner;
  2. feeds the same bytes, cut into reads of --chunk bytes, to each library's own parsing
     path (no sockets: what each does with bytes once read), and measures CPU seconds with
     time.process_time(); best of --repeat; messages per CPU-second;
  3. pyst2 is measured twice: its parser alone (lines from an in-memory buffer) and "as
     shipped", reading a real socket through ``makefile(buffering=0)`` as its Manager does on
     Python 3 (one recv per byte) - that line is in thread CPU of the reading thread;
  4. correctness on the same stream cut into small odd reads (--split-chunk, so that many
     multi-byte characters are cut): Vietnamese names damaged, repeated headers lost, and
     messages that raised inside the library; the same name check on the throughput reads;
  5. header injection: does each library's action encoder send a value carrying
     ``\r\nAction: Originate`` as a second action, or refuse it?

Examples:
  .venv/bin/python benchmarks/ami_parse.py                      100k messages, 4 KiB reads
  .venv/bin/python benchmarks/ami_parse.py --messages 20000 --repeat 1
  .venv/bin/python benchmarks/ami_parse.py --write-docs        also update docs/benchmarks.md

Needs: the dev extra (panoramisk, pyst2, asterisk-ami); they are used only here.
"""

from __future__ import annotations

import argparse
import io
import logging
import platform
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ivr.ami.codec import NEED_DATA, AmiCodec  # noqa: E402
from ivr.ami.events import Event, Response  # noqa: E402

TRANSCRIPTS = REPO / "tests" / "protocol" / "transcripts"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
NAMES = [
    "Nguyễn Thị Ánh Tuyết",
    "Trần Văn Bình",
    "Lê Hoàng Phượng",
    "Phạm Đức Thắng",
    "Hoàng Thị Hồng Nhung",
    "Đặng Quốc Việt",
    "Bùi Thị Thu Hương",
    "Võ Minh Khôi",
    "Đỗ Thị Ngọc Ánh",
    "Huỳnh Tấn Phát",
    "Ngô Bảo Châu",
    "Dương Thị Diễm Quỳnh",
]


# -- the stream --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """What a correct parser must give back for one message of the stream."""

    caller_name: str | None = None  # CallerIDName of a synthetic Newchannel
    chan_vars: tuple[str, ...] = ()  # repeated ChanVariable values of a synthetic Hangup
    output: tuple[str, ...] = ()  # repeated Output lines of a synthetic Command response


@dataclass(frozen=True)
class Stream:
    data: bytes
    truths: list[Truth]  # one per message, in order

    @property
    def messages(self) -> int:
        return len(self.truths)


def _crlf(headers: Iterable[tuple[str, str]]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("utf-8")


def _transcript_messages() -> list[bytes]:
    out: list[bytes] = []
    for path in sorted(TRANSCRIPTS.glob("*.txt")):
        block: list[str] | None = None
        for line in [*path.read_text(encoding="utf-8").split("\n"), ""]:
            if line.startswith("### "):
                block = [] if "<<< RECV" in line else None
            elif line == "":
                if block:
                    out.append(("".join(f"{x}\r\n" for x in block) + "\r\n").encode("utf-8"))
                block = None
            elif block is not None:
                block.append(line)
    return out


def build_stream(messages: int, seed: int = 9120) -> Stream:
    rng = random.Random(seed)
    recorded = _transcript_messages()
    parts: list[bytes] = [BANNER]
    truths: list[Truth] = []
    n = 0
    while len(truths) < messages:
        n += 1
        uniqueid = f"1795599{n:06d}.{n}"
        channel = f"PJSIP/trunk-{n:08x}"
        kind = n % 8
        if kind in (0, 1, 2):
            name = rng.choice(NAMES)
            parts.append(
                _crlf(
                    [
                        ("Event", "Newchannel"),
                        ("Privilege", "call,all"),
                        ("Channel", channel),
                        ("ChannelState", "0"),
                        ("ChannelStateDesc", "Down"),
                        ("CallerIDNum", f"09{rng.randrange(10**8):08d}"),
                        ("CallerIDName", name),
                        ("Context", "ivr"),
                        ("Exten", "19009120"),
                        ("Uniqueid", uniqueid),
                        ("Linkedid", uniqueid),
                    ]
                )
            )
            truths.append(Truth(caller_name=name))
        elif kind == 3:
            chan_vars = (f"HOTLINE_CASE=PA-{n:06d}", "HOTLINE_LANG=vi")
            parts.append(
                _crlf(
                    [
                        ("Event", "Hangup"),
                        ("Privilege", "call,all"),
                        ("Channel", channel),
                        ("Uniqueid", uniqueid),
                        ("Cause", "16"),
                        ("Cause-txt", "Normal Clearing"),
                        *(("ChanVariable", v) for v in chan_vars),
                    ]
                )
            )
            truths.append(Truth(chan_vars=chan_vars))
        elif kind == 4:
            output = ("Channel              Location", f"{channel} 19009120@ivr:3", "1 active")
            parts.append(
                _crlf(
                    [
                        ("Response", "Success"),
                        ("ActionID", f"a{n}"),
                        ("Message", "Command output follows"),
                        *(("Output", line) for line in output),
                    ]
                )
            )
            truths.append(Truth(output=output))
        else:
            parts.append(recorded[n % len(recorded)])
            truths.append(Truth())
    return Stream(b"".join(parts), truths)


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# -- one adapter per library: bytes in, normalised messages out --------------------------------


@dataclass(frozen=True)
class Seen:
    caller_name: str | None
    chan_vars: tuple[str, ...]
    output: tuple[str, ...]
    raised: bool = False


RAISED = Seen(None, (), (), raised=True)


@dataclass
class Outcome:
    seen: list[Seen]
    raised: int = 0  # messages on which the library raised


def _as_values(value: Any) -> tuple[str, ...]:
    """Repeated headers as each library keeps them: list, dict, "\\n"-joined str, or lost."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, dict):
        return tuple(f"{k}={v}" for k, v in value.items())
    return tuple(str(value).split("\n"))


def parse_ours(chunks: list[bytes]) -> Outcome:
    codec = AmiCodec()
    seen: list[Seen] = []
    for chunk in chunks:
        codec.receive_data(chunk)
        while (message := codec.next_event()) is not NEED_DATA:
            if isinstance(message, Event):
                seen.append(Seen(message.get("CallerIDName"), message.get_all("ChanVariable"), ()))
            elif isinstance(message, Response):
                seen.append(Seen(None, (), message.output))
    return Outcome(seen)


def parse_panoramisk(chunks: list[bytes]) -> Outcome:
    from panoramisk.ami_protocol import AMIProtocol

    class Factory:
        save_stream = None

    seen: list[Seen] = []

    class Collector(AMIProtocol):  # type: ignore[misc]
        def handle_message(self, message: Any) -> None:
            seen.append(
                Seen(
                    message.get("CallerIDName"),
                    _as_values(message.get("ChanVariable")),
                    _as_values(message.get("Output")),
                )
            )

    protocol = Collector()
    protocol.connection_made(None)
    protocol.factory = Factory()
    protocol.encoding = "utf8"  # what panoramisk.Manager sets (its default config)
    protocol.log.disabled = True
    for chunk in chunks:
        protocol.data_received(chunk)
    return Outcome(seen)


def _pyst2_messages(lines_source: Any) -> tuple[list[Seen], int]:
    from asterisk.manager import Event as PystEvent
    from asterisk.manager import Manager, ManagerMsg

    manager = Manager()
    manager.close = lambda: None  # its __del__ would join threads we never started
    manager._sock = lines_source
    manager._connected.set()
    manager._running.set()
    manager._receive_data()  # returns at end of stream
    seen: list[Seen] = []
    raised = 0
    while True:
        data = manager._message_queue.get_nowait()
        if not data:
            break
        try:
            message = ManagerMsg(data)  # what Manager.message_loop does with each message
            if message.has_header("Event"):
                message = PystEvent(message)
        except Exception:
            raised += 1  # in pyst2 this kills the message thread; we count and go on
            seen.append(RAISED)
            continue
        headers = message.headers
        if headers.get("Response") == "Generated Header":
            continue  # pyst2's stand-in message for the banner
        seen.append(
            Seen(
                headers.get("CallerIDName"),
                _as_values(headers.get("ChanVariable")),
                _as_values(headers.get("Output")),
            )
        )
    return seen, raised


def parse_pyst2(chunks: list[bytes]) -> Outcome:
    # pyst2 iterates lines of a file object; a BytesIO stands for an ideal buffered socket.
    seen, raised = _pyst2_messages(io.BytesIO(b"".join(chunks)))
    return Outcome(seen, raised)


def parse_pyst2_socket(chunks: list[bytes]) -> tuple[Outcome, float]:
    """pyst2 as its Manager.connect() reads on Python 3: makefile('rwb', buffering=0).
    Returns the outcome and the CPU seconds of the reading thread."""
    ours, theirs = socket.socketpair()

    def write() -> None:
        for chunk in chunks:
            theirs.sendall(chunk)
        theirs.shutdown(socket.SHUT_WR)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    source = ours.makefile(mode="rwb", buffering=0)
    start = time.thread_time()
    seen, raised = _pyst2_messages(source)
    cpu = time.thread_time() - start
    writer.join()
    ours.close()
    theirs.close()
    return Outcome(seen, raised), cpu


def parse_asterisk_ami(chunks: list[bytes]) -> Outcome:
    from asterisk.ami.client import AMIClient

    class FakeSocket:
        def __init__(self, parts: list[bytes]) -> None:
            self._parts: Iterator[bytes] = iter(parts)

        def recv(self, _size: int) -> bytes:
            return next(self._parts, b"")

        def close(self) -> None:
            pass

    seen: list[Seen] = []
    raised = 0
    client = AMIClient()  # encoding utf-8, encoding_errors "replace" (its defaults)
    client._socket = FakeSocket(chunks)
    client.finished = threading.Event()

    def on_event(event: Any, source: Any) -> None:
        keys = event.keys
        seen.append(Seen(keys.get("CallerIDName"), _as_values(keys.get("ChanVariable")), ()))

    def on_response(response: Any) -> None:
        seen.append(Seen(None, (), _as_values(response.keys.get("Output"))))

    client.add_event_listener(on_event)
    client._fire_on_response = on_response  # what listeners' on_response would get
    packs = client._next_pack()
    next(packs)  # the banner line, as AMIClient.listen() does
    for pack in packs:
        try:
            client.fire_recv_pack(pack)
        except Exception:
            raised += 1
            seen.append(RAISED)
    return Outcome(seen, raised)


# -- header injection: does the library's action encoder let CR/LF through? --------------------

INJECTED = "1\r\nAction: Originate\r\nChannel: Local/0084912345678@default"


def _injected(wire: str | bytes) -> bool:
    text = wire.decode() if isinstance(wire, bytes) else wire
    return "\r\nAction: Originate\r\n" in text


def refuses_injection_ours() -> bool:
    from ivr.ami.errors import LocalProtocolError
    from ivr.ami.events import Action

    try:
        wire = AmiCodec().send(Action.build("Setvar", Variable="X", Value=INJECTED))
    except LocalProtocolError:
        return True
    return not _injected(wire)


def refuses_injection_panoramisk() -> bool:
    from panoramisk.actions import Action

    try:
        wire = str(Action({"Action": "Setvar", "Variable": "X", "Value": INJECTED}))
    except Exception:
        return True
    return not _injected(wire)


def refuses_injection_pyst2() -> bool:
    from asterisk.manager import Manager

    manager = Manager()
    manager.close = lambda: None
    manager._sock = io.BytesIO()
    manager._connected.set()
    manager._response_queue.put("dummy response")  # so send_action does not block
    try:
        manager.send_action({"Action": "Setvar", "Variable": "X", "Value": INJECTED})
    except Exception:
        return True
    return not _injected(manager._sock.getvalue())


def refuses_injection_asterisk_ami() -> bool:
    from asterisk.ami import SimpleAction

    try:
        wire = str(SimpleAction("Setvar", Variable="X", Value=INJECTED))
    except Exception:
        return True
    return not _injected(wire)


REFUSES_INJECTION: dict[str, Callable[[], bool]] = {
    "ours": refuses_injection_ours,
    "panoramisk": refuses_injection_panoramisk,
    "pyst2": refuses_injection_pyst2,
    "asterisk-ami": refuses_injection_asterisk_ami,
}


def refuses_injection(parser_name: str) -> bool:
    for prefix, probe in REFUSES_INJECTION.items():
        if parser_name.startswith(prefix):
            return probe()
    raise KeyError(parser_name)


PARSERS: dict[str, Callable[[list[bytes]], Outcome]] = {
    "ours (ivr.ami.codec)": parse_ours,
    "panoramisk 1.4": parse_panoramisk,
    "pyst2 0.5.1 (parser only)": parse_pyst2,
    "asterisk-ami 0.1.7": parse_asterisk_ami,
}
PYST2_SOCKET = "pyst2 0.5.1 (as shipped: unbuffered socket)"


# -- correctness -------------------------------------------------------------------------------


@dataclass
class Correctness:
    messages_out: int
    names_total: int
    names_damaged: int
    repeats_total: int
    repeats_lost: int
    raised: int


def check(stream: Stream, outcome: Outcome) -> Correctness:
    """Compare message by message with what was sent (every adapter yields one `Seen` per
    message, `RAISED` where the library threw)."""
    seen = outcome.seen
    if len(seen) != len(stream.truths):
        raise SystemExit(f"{len(seen)} messages out for {len(stream.truths)} in: misaligned")
    names_total = names_damaged = repeats_total = repeats_lost = 0
    for got, want in zip(seen, stream.truths, strict=True):
        if want.caller_name is not None:
            names_total += 1
            names_damaged += got.caller_name != want.caller_name
        repeated = want.chan_vars or want.output
        if repeated:
            repeats_total += 1
            values = got.chan_vars if want.chan_vars else got.output
            repeats_lost += tuple(values) != tuple(repeated)
    return Correctness(
        len(seen), names_total, names_damaged, repeats_total, repeats_lost, outcome.raised
    )


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    rate: float  # messages per CPU-second
    cpu_s: float
    correctness: Correctness
    refuses_injection: bool
    names_damaged_big_reads: int  # with the throughput run's reads (--chunk)
    names_total_big_reads: int


def measure(
    stream: Stream,
    chunks: list[bytes],
    repeat: int,
    progress: Progress,
    split_stream: Stream,
    split_chunks: list[bytes],
    socket_limit: int,
) -> list[Row]:
    """Rounds interleave the parsers (ours, panoramisk, pyst2, asterisk-ami, ours, ...) so
    that a burst of load from elsewhere on the machine hits all of them alike."""
    best = dict.fromkeys(PARSERS, float("inf"))
    count: dict[str, int] = {}
    damaged: dict[str, int] = {}
    task = progress.add_task("parsing", total=len(PARSERS) * (repeat + 1) + 1)
    for _ in range(repeat):
        for name, parser in PARSERS.items():
            progress.update(task, description=name)
            start = time.process_time()
            outcome = parser(chunks)
            best[name] = min(best[name], time.process_time() - start)
            count[name] = len(outcome.seen)
            damaged[name] = check(stream, outcome).names_damaged
            progress.advance(task)
    if count[next(iter(PARSERS))] != stream.messages:
        raise SystemExit(f"our codec returned {count[next(iter(PARSERS))]} of {stream.messages}")
    rows: list[Row] = []
    for name, parser in PARSERS.items():
        progress.update(task, description=f"{name}: correctness")
        correctness = check(split_stream, parser(split_chunks))
        rows.append(
            Row(
                name,
                count[name] / best[name],
                best[name],
                correctness,
                refuses_injection(name),
                damaged[name],
                sum(t.caller_name is not None for t in stream.truths),
            )
        )
        progress.advance(task)
    # pyst2's real read path is one recv() per byte: measured on a slice of the stream.
    progress.update(task, description=PYST2_SOCKET)
    sliced = _slice(stream, socket_limit)
    outcome, cpu = parse_pyst2_socket(chunked(sliced.data, len(chunks[0])))
    correctness = check(sliced, outcome)
    rows.append(
        Row(
            PYST2_SOCKET,
            len(outcome.seen) / cpu,
            cpu,
            correctness,
            refuses_injection("pyst2"),
            correctness.names_damaged,
            correctness.names_total,
        )
    )
    progress.advance(task)
    return rows


def _slice(stream: Stream, messages: int) -> Stream:
    if messages >= stream.messages:
        return stream
    return build_stream(messages)


def render(rows: list[Row], stream: Stream, args: argparse.Namespace) -> str:
    ours = rows[0].rate
    lines = [
        "| parser | messages / CPU-s | vs ours | Vietnamese names damaged "
        f"(reads of {args.chunk} B) | names damaged (reads of {args.split_chunk} B) "
        "| repeated headers lost | raised | refuses CR/LF in an action value |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        c = row.correctness
        lines.append(
            f"| {row.name} | {row.rate:,.0f} | {row.rate / ours:.2f}x | "
            f"{row.names_damaged_big_reads:,} / {row.names_total_big_reads:,} | "
            f"{c.names_damaged:,} / {c.names_total:,} | {c.repeats_lost:,} / {c.repeats_total:,} "
            f"| {c.raised:,} | {'yes' if row.refuses_injection else '**no**'} |"
        )
    return "\n".join(lines)


def write_docs(table: str, command: str, stream: Stream, args: argparse.Namespace) -> None:
    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = (
        "## AMI parsing\n\n"
        f"Command: `{command}`\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, a shared 2-core machine (other "
        "work running: compare the rows, not the absolute figures). Stream: "
        f"{stream.messages:,} messages, {len(stream.data) / 1e6:.1f} MB (recorded Asterisk "
        "22.10.1 transcripts + synthetic Newchannel with Vietnamese CallerIDName, Hangup with "
        "2 ChanVariable, Command responses with 3 Output lines), fed in reads of "
        f"{args.chunk} B; best of {args.repeat}; CPU time (process_time; pyst2 as shipped: "
        "thread time of its reading thread, on "
        f"{min(args.socket_messages, stream.messages):,} messages). Correctness on "
        f"{args.correctness_messages:,} messages fed in reads of {args.split_chunk} B.\n\n"
        f"{table}\n\n"
        "Reading the table: *names damaged* = CallerIDName not equal to what was sent "
        '(characters cut by a read boundary and dropped by `decode(errors="ignore")`); '
        "*repeated headers lost* = a Hangup's 2 ChanVariable or a response's 3 Output lines "
        "not all recoverable; *raised* = messages on which the library threw (pyst2 calls "
        "the Python 2 `dict.has_key` on ChanVariable, which kills its reader thread); "
        "*refuses CR/LF* = the library's action encoder, given a header value carrying "
        "`\\r\\nAction: Originate`, refuses it instead of sending a second action "
        "(header injection).\n"
    )
    pattern = re.compile(r"^## AMI parsing\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(section.replace("\\", "\\\\") + "\n", text).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000, help="stream size (messages)")
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per read (throughput)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per parser; best is kept")
    parser.add_argument(
        "--split-chunk", type=int, default=7, help="bytes per read for the correctness pass"
    )
    parser.add_argument("--correctness-messages", type=int, default=20_000)
    parser.add_argument(
        "--socket-messages", type=int, default=5_000, help="messages for pyst2 via a socket"
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    console = Console()
    stream = build_stream(args.messages)
    split_stream = build_stream(args.correctness_messages)
    chunks = chunked(stream.data, args.chunk)
    split_chunks = chunked(split_stream.data, args.split_chunk)
    console.print(
        f"stream: {stream.messages:,} messages, {len(stream.data) / 1e6:.1f} MB, "
        f"{len(chunks):,} reads of {args.chunk} B"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        rows = measure(
            stream, chunks, args.repeat, progress, split_stream, split_chunks, args.socket_messages
        )
    table = Table(title="AMI parsing (same stream, same run)")
    for column in (
        "parser",
        "msgs/CPU-s",
        "vs ours",
        f"names damaged ({args.chunk} B reads)",
        f"names damaged ({args.split_chunk} B reads)",
        "repeats lost",
        "raised",
        "refuses injection",
    ):
        table.add_column(column)
    for row in rows:
        c = row.correctness
        table.add_row(
            row.name,
            f"{row.rate:,.0f}",
            f"{row.rate / rows[0].rate:.2f}x",
            f"{row.names_damaged_big_reads:,}/{row.names_total_big_reads:,}",
            f"{c.names_damaged:,}/{c.names_total:,}",
            f"{c.repeats_lost:,}/{c.repeats_total:,}",
            f"{c.raised:,}",
            "yes" if row.refuses_injection else "no",
        )
    console.print(table)
    if args.write_docs:
        command = ".venv/bin/python benchmarks/ami_parse.py " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write-docs"
        )
        write_docs(render(rows, stream, args), command.strip(), stream, args)
        console.print("docs/benchmarks.md: ## AMI parsing updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
