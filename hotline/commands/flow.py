"""Check the call flow and simulate calls through it, with no Asterisk: for menu authors.

`check` loads dialplans/menu.yaml with dialplans/prompts.yaml and lists every problem at once
(unknown prompt, unreachable node, bad digit, missing target, duplicate id...).
`simulate` walks a caller through the flow with the same session machine the controller runs
and prints, step by step, what the caller hears and what is recorded. Each argument is one
input opportunity: a key ("1", "#", "*"), "~1" for a key pressed during the prompt (barge-in),
"." for silence, "hangup" to hang up; after the last one the caller stays silent.
With --voice the `ask` nodes listen: "say:tôi muốn phản ánh về rác thải" is the caller speaking
(routed by the real intent router over the province's wards; "say:...@0.3" sets the
recogniser's confidence), keys work as before. Service answers are simulated (--dossier/--case
choose the outcome); --closed simulates a call outside office hours.

Examples:
  hotline flow check
  hotline flow simulate                          a silent caller: re-prompts, then goodbye
  hotline flow simulate 1 0 0 1 2 '#' hangup     a dossier lookup by keypad
  hotline flow simulate --texts 2 1 hangup       a complaint, with the Vietnamese texts
  hotline flow simulate --dossier not_found 1 9 '#' hangup
  hotline flow simulate --voice 'say:tôi muốn phản ánh về rác thải' 'say:phường bạc liêu' \
      'say:đúng rồi' 'say:rác đổ đầy đầu hẻm' 'say:đồng ý' hangup
  hotline flow simulate --voice --closed 'say:cho tôi gặp điện thoại viên' 4

Needs: nothing but the files in HOTLINE_DIALPLANS_DIR (HOTLINE_MENU_FILE).
"""

from __future__ import annotations

import argparse
from datetime import date

from hotline.errors import HotlineError
from hotline.settings import Settings

HELP = "check the call flow (menu.yaml) and simulate calls through it"


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="flow_command", metavar="ACTION", required=True)
    sub.add_parser("check", help="validate menu.yaml and prompts.yaml")
    sim = sub.add_parser("simulate", help="walk a scripted caller through the flow")
    sim.add_argument("script", nargs="*", help='keys, "~KEY", ".", "hangup" (one per input)')
    outcomes = ["found", "not_found", "invalid", "error"]
    sim.add_argument("--dossier", choices=outcomes, default="found", help="dossier lookup")
    sim.add_argument("--case", choices=outcomes, default="found", help="case status lookup")
    sim.add_argument("--agent-answers", action="store_true", help="an agent takes the call")
    sim.add_argument("--texts", action="store_true", help="print each prompt's Vietnamese text")
    sim.add_argument("--voice", action="store_true", help="ask nodes listen ('say:...' tokens)")
    sim.add_argument("--closed", action="store_true", help="outside office hours")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from cases.config import CONFIG_FILE, load_config
    from hotline.wiring import build_router, load_province_voice, session_config
    from ivr.flows import ActionOutcome, FlowError, load_flow
    from ivr.session import (
        CreateCase,
        LookupCase,
        LookupDossier,
        RequestCallback,
        ServiceReplied,
    )
    from ivr.session.machine import CallSession
    from ivr.session.simulate import Caller, SimulationError, run_call

    try:
        flow = load_flow(settings.dialplans_dir / settings.menu_file)
    except FlowError as exc:
        raise HotlineError(str(exc)) from exc
    if args.flow_command == "check":
        print(
            f"{flow.source}: {len(flow.nodes)} nodes, {len(flow.prompts)} prompts, "
            f"{len(flow.readbacks)} read-backs: OK"
        )
        return 0
    dossier = ServiceReplied(ActionOutcome(args.dossier))
    if args.dossier == "found":
        dossier = ServiceReplied(
            ActionOutcome.FOUND,
            {
                "dossier_procedure": "Đăng ký kết hôn",
                "dossier_status": "đang được giải quyết",
                "dossier_step": "Phòng Tư pháp thẩm định",
                "dossier_due": date(2026, 12, 3),
                "dossier_overdue": False,
                "dossier_needs_papers": False,
            },
        )
    case = ServiceReplied(ActionOutcome(args.case))
    if args.case == "found":
        case = ServiceReplied(
            ActionOutcome.FOUND,
            {
                "case_reference": "48213576",
                "case_category": "Môi trường",
                "case_status": "đang xử lý",
                "case_updated": "",
                "case_resolution": "",
            },
        )
    caller = Caller(
        args.script,
        agent_answers=args.agent_answers,
        services={
            LookupDossier: dossier,
            LookupCase: case,
            CreateCase: ServiceReplied(ActionOutcome.CREATED, {"case_reference": "48213576"}),
            RequestCallback: ServiceReplied(ActionOutcome.CREATED, {"case_reference": "50000017"}),
        },
    )
    config = replace(
        session_config(settings, load_province_voice(settings)),
        voice=args.voice,
        office_open=not args.closed,
    )
    router = None
    if args.voice:
        router = build_router(settings, load_config(settings.dialplans_dir / CONFIG_FILE))
    session = CallSession(flow, "simulated", config, router)
    try:
        lines = run_call(session, caller)
    except SimulationError as exc:
        raise HotlineError(f"simulation failed: {exc}") from exc
    for line in lines:
        print(line)
        if args.texts and line.startswith("    play "):
            prompt_id = line.split()[1]
            print(f"      «{flow.prompts.get(prompt_id, '?')}»")
        elif args.texts and line.startswith("    listen ["):
            for item in line.split("[", 1)[1].split("]", 1)[0].split(", "):
                if item.startswith("play "):
                    print(f"      «{flow.prompts.get(item.split()[1], '?')}»")
    return 0
