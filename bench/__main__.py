"""`python -m bench [NAME ...] [OPTIONS]`: run the named benchmarks (all by default), options after the names.

Add a line to BENCHES for a new one."""

from __future__ import annotations

import importlib
import sys

# name -> module with `main(argv: list[str]) -> int`
BENCHES = {
    "durable": "bench.durable_chain",
    "intune-pack": "bench.intune_pack",
    "intune-upload": "bench.intune_upload",
    "winget": "bench.winget",
    "bot": "bench.bot",
    "publish": "bench.publish",
}


def split_names(argv: list[str]) -> tuple[list[str], list[str]]:
    """Leading bench names, then options for them (`--size-mib 64` and `--size-mib=64` alike)."""
    names: list[str] = []
    for position, arg in enumerate(argv):
        if arg.startswith("-"):
            return names, argv[position:]
        names.append(arg)
    return names, []


def main(argv: list[str]) -> int:
    names, options = split_names(argv)
    names = names or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== bench {name}", flush=True)
        status |= importlib.import_module(BENCHES[name]).main(options)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
