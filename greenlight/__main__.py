"""python -m greenlight {winget,intune} ...: the admin command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

# Each command group lives next to the code it drives and exposes `register(subparsers)`;
# the parser it adds sets `handler`, a function taking the parsed args and returning an exit code.
COMMAND_GROUPS = {"winget": "greenlight.winget.cli", "intune": "greenlight.intune.cli"}


EXIT_USAGE = 64  # sysexits' EX_USAGE: argparse's own 2 would read as winget's "verification failed"
EXIT_READER_GONE = 141  # what a shell reports for a process ended by SIGPIPE (128 + 13)


class _Parser(argparse.ArgumentParser):
    """argparse with a usage error exit code of its own (sub-parsers inherit the class)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _Parser(prog="python -m greenlight", description="Greenlight admin tools")
    subparsers = parser.add_subparsers(dest="group", required=True)
    # Import only the group asked for (each pulls in its own SDKs); without one, all of them for --help.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    modules = [COMMAND_GROUPS[chosen]] if chosen in COMMAND_GROUPS else list(COMMAND_GROUPS.values())
    for module_name in modules:
        importlib.import_module(module_name).register(subparsers)
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # inside the try: a closed pipe shows up here when the output was short
    except BrokenPipeError:
        return _reader_went_away()
    return code


def _reader_went_away() -> int:
    """`... | head` closed our stdout: stop quietly, as a Unix tool ended by SIGPIPE does. SIGPIPE itself stays
    ignored (Python's default), so a dropped network connection is still an exception, not a silent death."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not raise again
    return EXIT_READER_GONE


if __name__ == "__main__":
    sys.exit(main())
