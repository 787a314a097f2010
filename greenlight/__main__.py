"""python -m greenlight {winget,intune} ...: the admin command line."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each command group lives next to the code it drives and exposes `register(subparsers)`;
# the parser it adds sets `handler`, a function taking the parsed args and returning an exit code.
_COMMAND_GROUPS = ("greenlight.winget.cli", "greenlight.intune.cli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greenlight", description="Greenlight admin tools")
    subparsers = parser.add_subparsers(dest="group", required=True)
    for module_name in _COMMAND_GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
