"""The `hotline` command: one entry point, one sub-command per module in `hotline.commands`.

Each module in `hotline/commands/` defines:

- ``HELP``: one line shown in ``hotline --help``;
- ``register(parser: argparse.ArgumentParser) -> None``: adds its arguments (and a description
  that teaches: what it does, an example, what it needs);
- ``run(args: argparse.Namespace, settings: Settings) -> int``: does the work, returns
  the exit code.

Modules are discovered, so adding a command never edits this file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from hotline import commands
from hotline.errors import HotlineError
from hotline.settings import load_settings

DESCRIPTION = """\
Citizens' hotline 1900 9120: Asterisk answers, our AMI controller walks callers through
Vietnamese menus by voice and keypad, and calls and cases land in the IOC case database.

Every setting comes from the environment (HOTLINE_*, see hotline/settings.py); the defaults
run everything on 127.0.0.1 with SQLite under ./var.

Typical session:
  hotline pbx up            start the local Asterisk (chroot, 127.0.0.1 only)
  hotline prompts build     synthesise the Vietnamese prompts
  hotline run               start the call controller
  hotline call --dtmf 1     place a test call with sipp and print what happened
"""


def _command_modules() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"hotline.commands.{info.name}")
        if hasattr(module, "register") and hasattr(module, "run"):
            found[info.name.replace("_", "-")] = module
    return found


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="hotline",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _command_modules()
    for name, module in modules.items():
        doc = (module.__doc__ or "").strip()
        child = sub.add_parser(
            name,
            help=getattr(module, "HELP", doc.splitlines()[0] if doc else name),
            description=doc or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.register(child)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings()
        code: int = modules[args.command].run(args, settings)
    except HotlineError as exc:
        print(f"hotline {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
