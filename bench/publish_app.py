"""The FunctionApp the publish bench serves with devhost: the product's own `function_app.app` (HTTP API, bot,
request_orchestrator, publish_orchestrator and their activities), with one change: the publishing service polls
Graph every 0.5 s instead of the production 5 s, because the sandbox settles pending states in 0.2 s (stated in
docs/PERFORMANCE.md). Everything else — services, progress sinks, settings — is what `function_app` builds."""

from __future__ import annotations

import services
from function_app import app
from greenlight.graph.settings import GraphSettings
from greenlight.intune.upload import PublishOptions
from greenlight.publishing import PublishingService
from orchestrations.publish import use_service

__all__ = ["app"]

_services = services.get()
use_service(
    PublishingService(
        _services.account,
        GraphSettings.from_env(),
        progress_for=_services.progress_for,
        publish_options=PublishOptions(0.5),
    )
)
