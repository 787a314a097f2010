"""A small DFApp for the publish orchestration tests: the real `orchestrations.blueprint` plus an HTTP starter
that claims a publication and starts its sub-orchestration the way request_orchestrator will.

Served with `python -m devhost --app tests.integration.orchestrations.publish_app:app`. Settings come from the
environment as in `make run`; progress reports are appended as JSON lines to PUBLISH_TEST_PROGRESS_LOG.
"""

from __future__ import annotations

import json
import os
import threading

import azure.durable_functions as df
import azure.functions as func

import orchestrations
from greenlight.graph.settings import GraphSettings
from greenlight.intune.upload import PublishOptions
from greenlight.publishing import Progress, PublishingService
from greenlight.storage import StorageAccount
from orchestrations.publish import publishing, use_service

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(orchestrations.blueprint)
_log_lock = threading.Lock()


class FileSink:
    """Records what a waiting request would be told (one JSON line per report)."""

    def __init__(self, tenant_id: str, request_id: str) -> None:
        self.request_id = request_id

    async def report(self, progress: Progress) -> None:
        line = {"request": self.request_id, "stage": progress.stage, "percent": progress.percent}
        with _log_lock, open(os.environ["PUBLISH_TEST_PROGRESS_LOG"], "a") as log:
            log.write(json.dumps(line) + "\n")


use_service(
    PublishingService(
        StorageAccount.from_env(),
        GraphSettings.from_env(),
        progress_for=FileSink,
        publish_options=PublishOptions(poll_interval=0.1, timeout=120, block_size=1024 * 1024),
        staging_block_size=1024 * 1024,
        staging_commit_every=1,
    )
)


@app.route(route="publish/{tenant}/{request}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_publication(req: func.HttpRequest, client) -> func.HttpResponse:
    claim = publishing().claim_publication(req.route_params["tenant"], req.route_params["request"])
    if claim["outcome"] == "owner":
        await client.start_new("publish_orchestrator", claim["instance_id"], claim["input"])
    return func.HttpResponse(json.dumps(claim), mimetype="application/json")
