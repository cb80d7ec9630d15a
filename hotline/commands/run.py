"""Run the call controller: log in to Asterisk's AMI and walk every caller through the menu.

Connects to AMI at HOTLINE_AMI_HOST:HOTLINE_AMI_PORT (user HOTLINE_AMI_USER, secret
HOTLINE_AMI_SECRET), loads the menu (HOTLINE_DIALPLANS_DIR/HOTLINE_MENU_FILE, validated: a bad
menu stops here with every problem listed), and takes over each call Asterisk parks in
AGI(agi:async). Calls already waiting when it starts are adopted (an apology, then the menu);
call records go to HOTLINE_DATABASE_URL (SQLite under ./var by default). When Asterisk goes
away the controller closes the open call records and reconnects with backoff.

Calls and cases are relayed from the outbox into the IOC case database (HOTLINE_IOC_DATABASE_URL)
on a thread of their own; with the IOC down they wait and arrive later (--no-sync: relay apart
with `hotline sync run`).

Voice: `ask` nodes of the menu listen to the caller (AudioSocket, or RECORD FILE with
HOTLINE_LISTEN_BACKEND=record) and recognise speech in a pool of HOTLINE_SPEECH_WORKERS worker
processes (default: one per core; Whisper base unless HOTLINE_ASR_ENGINE=vosk). With
--keypad-only no model is loaded and every voice menu runs as its keypad twin.

At start-up, dynamic read-backs not played for 7 days are deleted once, before any call
arrives (`hotline prompts prune` does it on demand).

SIGTERM or Ctrl-C: every live caller hears a polite goodbye and is hung up, then it exits 0.

Examples:
  hotline run                       the controller, against the local Asterisk
  hotline run --check               only load and validate the menu and the settings
  hotline run --keypad-only         keys only (no speech workers)
  HOTLINE_AMI_PORT=15038 hotline run -v   another Asterisk, debug logging

Needs: a running Asterisk (hotline pbx up), a migrated database (hotline db upgrade) and the
prompts built (hotline prompts build).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from cases.db import current_revision, describe_url, head_revision
from hotline.errors import HotlineError
from hotline.settings import Settings
from ivr.ami import AmiClient, AmiError
from ivr.calllog import CallLog
from ivr.controller import Controller
from ivr.flows import FlowError
from speech.errors import SpeechError
from speech.tts import prune_dynamic

if TYPE_CHECKING:
    from hotline.wiring import CallPath

HELP = "run the call controller (AMI, AsyncAGI) against Asterisk"
PRUNE_AFTER_S = 7 * 86_400.0

log = logging.getLogger("hotline.run")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keypad-only",
        action="store_true",
        help="no speech recognition: voice menus run as their keypad twins (no speech workers)",
    )
    parser.add_argument(
        "--no-sync",
        action="store_true",
        help="do not relay the outbox into the IOC database here (run `hotline sync run` apart)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="load and validate the menu and the services, then exit",
    )
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="on SIGTERM, how long live callers get for the goodbye (default 30)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.wiring import build_call_path

    try:
        path = build_call_path(settings)
    except FlowError as exc:
        raise HotlineError(str(exc)) from exc
    nodes = len(path.flow.nodes)
    log.info("menu %s: %d nodes, start %r", path.flow.source, nodes, path.flow.start)
    _check_database(path)
    if args.check:
        database = describe_url(path.engine.url)
        print(f"menu {path.flow.source}: {nodes} nodes OK; database {database} migrated")
        return 0
    prune_read_backs(settings.prompts_path)
    relay = None if args.no_sync else _start_relay(settings, path)
    try:
        return asyncio.run(_serve(settings, path, args.stop_timeout, voice=not args.keypad_only))
    finally:
        if relay is not None:
            relay[0].set()
            relay[1].join(timeout=10)


def prune_read_backs(prompts_dir: Path) -> None:
    """Delete the read-backs not played for PRUNE_AFTER_S, once, before calls arrive (so none
    is removed while a call is about to play it). A failure is logged, never fatal."""
    try:
        report = prune_dynamic(prompts_dir, older_than_s=PRUNE_AFTER_S, now=time.time())
    except (SpeechError, OSError) as exc:
        log.warning("read-backs in %s not pruned: %s", prompts_dir, exc)
        return
    if report.removed:
        log.info("%s", report.summary())


def _start_relay(settings: Settings, path: CallPath) -> tuple[threading.Event, threading.Thread]:
    """Relay calls and cases into the IOC database on a thread of its own: the IOC being down
    never slows a call (records wait in the outbox and arrive when it is back)."""
    from cases.db import make_engine
    from cases.sync import OutboxRelay

    relay = OutboxRelay(path.engine, make_engine(settings.ioc_db_url))
    stop = threading.Event()
    thread = threading.Thread(
        target=relay.run_forever,
        args=(stop, settings.sync_interval_s),
        name="ioc-sync",
        daemon=True,
    )
    thread.start()
    log.info("syncing into the IOC database %s", describe_url(settings.ioc_db_url))
    return stop, thread


def _check_database(path: CallPath) -> None:
    """Refuse to take calls whose records could not be written."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        at, head = current_revision(path.engine), head_revision()
    except Exception as exc:
        raise HotlineError(
            f"database {describe_url(path.engine.url)} is not reachable: {exc}"
        ) from exc
    if at != head:
        raise HotlineError(
            f"database {describe_url(path.engine.url)} is at revision {at or 'none'}, not "
            f"{head}: run `hotline db upgrade` first"
        )


async def _serve(settings: Settings, path: CallPath, stop_timeout: float, voice: bool) -> int:
    ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, settings.ami_secret)
    async with contextlib.AsyncExitStack() as stack:
        if voice:
            from hotline.wiring import open_listener

            log.info("starting %d speech workers (models load once per worker)", settings.workers)
            listener = await stack.enter_async_context(open_listener(settings, ami))
            path = path.with_listener(listener)
        code = await _control(settings, path, ami, stop_timeout)
    return code


async def _control(settings: Settings, path: CallPath, ami: AmiClient, stop_timeout: float) -> int:
    calllog = CallLog(path.recorder)
    executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="call-io")
    controller = Controller(
        ami=ami,
        flow=path.flow,
        session_config=path.session_config,
        services=path.services,
        calllog=calllog,
        runner_config=path.runner_config,
        executor=executor,
        hotline_number=settings.hotline_number,
    )
    controller.attach()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await ami.connect()
    except AmiError as exc:
        calllog.close()
        executor.shutdown()
        raise HotlineError(
            f"cannot log in to AMI at {settings.ami_host}:{settings.ami_port} as "
            f"{settings.ami_user}: {exc} (is Asterisk up? `hotline pbx up`)"
        ) from exc
    log.info("controller running on AMI %s:%d", settings.ami_host, settings.ami_port)
    await stop.wait()
    log.info("stop requested: ending live calls politely")
    try:
        await controller.stop(stop_timeout)
    finally:
        with contextlib.suppress(AmiError):
            await ami.close()
        calllog.close()
        executor.shutdown(wait=False, cancel_futures=True)
    log.info("controller stopped")
    return 0
