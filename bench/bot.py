"""Bench: the bot endpoint's own cost per activity, in process, on Azurite.

    .venv/bin/python -m bench.bot [--rounds=N]

1. JWT validation: an authenticated `event` activity through `bot.endpoint.handle` (token parse, RS256 signature
   check against a pre-loaded key, claims), nothing stored or sent — the floor of every turn.
2. Approve click: an `adaptiveCard/action` invoke (auth off, as locally) for a fresh PendingApproval request —
   reference upsert, request read, insert-only decision, ETag status update, the decided card PUT to a loopback
   Bot Connector stand-in, and the invoke response. Each click decides a different request.
3. Card sizes: the serialized size of the largest card each builder produces from the card tests' long inputs.
Azurite (in memory) and the connector stand-in run on this machine; figures include their time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"


class _Connector(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"id": "act-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        return


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench bot")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)

    from scripts.localstack import start_azurite

    with tempfile.TemporaryDirectory() as tmp:
        azurite, ports = start_azurite(Path(tmp))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Connector)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            asyncio.run(_run(ports.connection_string, f"http://127.0.0.1:{server.server_address[1]}/", args.rounds))
        finally:
            server.shutdown()
            azurite.stop()
    _card_sizes()
    return 0


async def _run(connection: str, connector_url: str, rounds: int) -> None:
    import azure.functions as func

    # Importing `bot` outside local (GREENLIGHT_ENV unset means azure) needs an app id; the bench builds its own
    # runtimes with explicit settings, so it loads the package as local.
    os.environ.setdefault("GREENLIGHT_ENV", "local")
    from bot.endpoint import handle
    from bot.runtime import BotRuntime
    from bot.settings import AppType, BotSettings
    from greenlight.models import Request, RequestStatus
    from greenlight.settings import Environment
    from greenlight.storage import RequestRepository, StorageAccount
    from tests.integration.bot.bf_tokens import APP_ID, TENANT_ID, install_signing_key
    from tests.integration.bot.conftest import activity, http_request

    account = StorageAccount.from_connection_string(connection)

    # 1. JWT validation floor (auth on)
    signer, restore = install_signing_key()
    settings = BotSettings(
        environment=Environment.AZURE, app_id=APP_ID, app_type=AppType.MULTI_TENANT, app_tenant_id=TENANT_ID
    )
    runtime = BotRuntime.build(settings, account)
    token = signer.token()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = await handle(http_request(activity(), token), runtime)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 201
    restore()
    print(f"authenticated event activity (JWT validation + adapter turn, nothing stored): {_summary(samples)}")

    # 2. approve clicks (auth off, local)
    tenant = str(uuid.uuid4())
    requester, approver = str(uuid.uuid4()), str(uuid.uuid4())
    local = BotSettings(
        environment=Environment.LOCAL,
        app_id=None,
        app_type=AppType.MULTI_TENANT,
        app_tenant_id=None,
        approver_oids=frozenset({approver}),
    )
    runtime = BotRuntime.build(local, account)
    requests = RequestRepository(account)
    ids = []
    for i in range(rounds):
        request_id = uuid.uuid4().hex
        requests.create(
            Request(
                tenant_id=tenant,
                request_id=request_id,
                requester_oid=requester,
                requester_name="Bench Requester",
                package_id="7zip.7zip",
                package_version="26.03",
                architecture="x64",
                scope="machine",
                justification=f"bench {i}",
                status=RequestStatus.PENDING_APPROVAL,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        ids.append(request_id)
    samples = []
    for request_id in ids:
        click = activity(
            type="invoke",
            name="adaptiveCard/action",
            serviceUrl=connector_url,
            replyToId="act-1",
            channelData={"tenant": {"id": tenant}},
            conversation={"id": "a:1bench", "conversationType": "personal", "tenantId": tenant},
            **{"from": {"id": "29:approver", "aadObjectId": approver, "name": "Bench Approver"}},
            value={"action": {"type": "Action.Execute", "verb": "approve", "data": {"requestId": request_id}}},
        )
        started = time.perf_counter()
        response: func.HttpResponse = await handle(http_request(click), runtime)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200 and b"Approved by Bench Approver" in response.get_body()
    print(f"approve click (invoke → decision → card update → response): {_summary(samples)}")


def _card_sizes() -> None:
    from bot.cards import card_size
    from tests.unit.bot.test_cards import BUILDERS

    largest = max(((card_size(build()), name) for name, build in BUILDERS.items()))
    sizes = ", ".join(f"{name}: {card_size(build()) / 1024:.1f} KB" for name, build in BUILDERS.items())
    print(f"card sizes ({len(BUILDERS)} builder cases): {sizes}")
    print(f"largest: {largest[1]} at {largest[0] / 1024:.1f} KB of the 28 KB budget")


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
