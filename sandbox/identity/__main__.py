"""python -m sandbox.identity token --oid OID [--role Admin ...] [--group GUID ...]

Prints a user access token signed by the local sandbox (state under .local/sandbox for `make run`), for calling
the API by hand:  curl -H "Authorization: Bearer $(python -m sandbox.identity token --role Requester)" \
                       http://127.0.0.1:7071/api/requests?mine=true
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from greenlight.settings import LOCAL_API_AUDIENCE, SANDBOX_TENANT_ID
from sandbox.identity.tokens import mint_user_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.identity")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a signed user token")
    token.add_argument("--state-dir", type=Path, default=Path(".local/sandbox"))
    token.add_argument("--tenant", default=SANDBOX_TENANT_ID)
    token.add_argument("--oid", default="00000000-0000-4000-8000-0000000de001")
    token.add_argument("--name", default="Local Developer")
    token.add_argument("--upn", default="developer@sandbox.local")
    token.add_argument("--audience", default=LOCAL_API_AUDIENCE)
    token.add_argument("--role", action="append", default=[], help="Requester, Approver or Admin (repeatable)")
    token.add_argument("--group", action="append", default=[], help="group object id (repeatable)")
    token.add_argument("--expires-in", type=int, default=3600)
    args = parser.parse_args(argv)
    try:
        token_text = mint_user_token(
            args.state_dir,
            tenant_id=args.tenant,
            oid=args.oid,
            name=args.name,
            upn=args.upn,
            audience=args.audience,
            roles=args.role or ["Requester"],
            groups=args.group,
            expires_in=args.expires_in,
        )
    except FileNotFoundError as error:
        print(f"cannot mint a token: {error}", file=sys.stderr)
        return 2
    print(token_text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
