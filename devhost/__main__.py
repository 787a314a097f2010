"""python -m devhost --app MODULE:ATTR --port N"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from devhost.host_json import HostJsonError
from devhost.server import DevhostConfigError, serve
from greenlight.settings import SettingsError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devhost", description="Serve a FunctionApp locally.")
    parser.add_argument("--app", default="function_app:app", help="MODULE:ATTR of the FunctionApp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEVHOST_PORT", "7071")))
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on a non-loopback address (the management API has no keys: only on a trusted network)",
    )
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK and not args.allow_remote:
        # Unlike Azure, devhost's durable management API asks for no system key.
        print(f"devhost: refusing to listen on {args.host}; pass --allow-remote to expose it", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK logs every storage request at INFO
    sys.path.insert(0, os.getcwd())
    try:
        serve(args.app, args.host, args.port)
    except (DevhostConfigError, SettingsError, HostJsonError) as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
