"""python -m sandbox --port N [--state-dir DIR] [--option key=value ...]

Serves the Entra ID, Graph/Intune and WinGet CDN stand-ins over HTTPS on 127.0.0.1 and writes the CA
certificate clients must trust to STATE_DIR/tls/ca.pem.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from aiohttp import web

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.tls import ensure_tls_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "7443")))
    parser.add_argument("--state-dir", type=Path, default=Path(".local/sandbox"))
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = dict(item.split("=", 1) for item in args.option)
    tls = ensure_tls_files(args.state_dir / "tls")
    config = SandboxConfig(base_url=f"https://{args.host}:{args.port}", state_dir=args.state_dir, options=options)
    web.run_app(create_app(config), host=args.host, port=args.port, ssl_context=tls.server_context(), print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
