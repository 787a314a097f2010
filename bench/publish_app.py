"""The DFApp the publish bench serves with devhost: the real `orchestrations.blueprint` (publish_orchestrator and
its activities) plus an HTTP starter that claims a publication and starts it, as request_orchestrator will.
Polling Graph every 0.5 s instead of 5 s: the sandbox resolves pending states in 0.2 s (stated in PERFORMANCE.md)."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

import orchestrations
from greenlight.graph.settings import GraphSettings
from greenlight.intune.upload import PublishOptions
from greenlight.publishing import PublishingService
from greenlight.storage import StorageAccount
from orchestrations.publish import publishing, use_service

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(orchestrations.blueprint)
use_service(PublishingService(StorageAccount.from_env(), GraphSettings.from_env(), publish_options=PublishOptions(0.5)))


@app.route(route="publish/{tenant}/{request}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_publication(req: func.HttpRequest, client) -> func.HttpResponse:
    claim = publishing().claim_publication(req.route_params["tenant"], req.route_params["request"])
    if claim["outcome"] == "owner":
        await client.start_new("publish_orchestrator", claim["instance_id"], claim["input"])
    return func.HttpResponse(json.dumps(claim), mimetype="application/json")
