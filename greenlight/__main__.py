"""python -m greenlight {winget,intune} ...: the admin command line."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each command group lives next to the code it drives and exposes `register(subparsers)`;
# the parser it adds sets `handler`, a function taking the parsed args and returning an exit code.
COMMAND_GROUPS = {"winget": "greenlight.winget.cli", "intune": "greenlight.intune.cli"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m greenlight", description="Greenlight admin tools")
    subparsers = parser.add_subparsers(dest="group", required=True)
    # Import only the group asked for (each pulls in its own SDKs); without one, all of them for --help.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    modules = [COMMAND_GROUPS[chosen]] if chosen in COMMAND_GROUPS else list(COMMAND_GROUPS.values())
    for module_name in modules:
        importlib.import_module(module_name).register(subparsers)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
