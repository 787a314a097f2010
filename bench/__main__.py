"""`python -m bench [NAME ...]`: run the named benchmarks (all by default). Add a line to BENCHES for a new one."""

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


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== bench {name}", flush=True)
        status |= importlib.import_module(BENCHES[name]).main([a for a in argv if a.startswith("-")])
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
