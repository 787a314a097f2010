"""OpenTelemetry traces that carry a request id from the HTTP call through the orchestration and its activities to
every Microsoft Graph call.

Configured once, on first use, from the environment:
- in Azure (APPLICATIONINSIGHTS_CONNECTION_STRING set): Application Insights through `azure-monitor-opentelemetry`,
  authenticated with the app's managed identity (AZURE_CLIENT_ID; the component has local auth disabled);
- `GREENLIGHT_TELEMETRY_FILE=<path>`: one JSON object per finished span appended to that file (local runs, tests);
- `GREENLIGHT_TELEMETRY_CONSOLE=1`: spans printed to stdout;
- otherwise nothing is recorded (the API's no-op tracer).

The spans:
- `http_span` (functions/auth.py) around every API route: the root of a request's tree;
- `graph_span` (greenlight/graph/client.py) around each logical Graph call, retries included;
- `activity_span` for Durable activities, joined to the HTTP request's trace through the `carrier` dict the
  HTTP starter puts into the orchestration input (`inject()`), since an activity runs in another invocation.
Every span of a request carries `greenlight.request_id`, set by `bind_request_id` (or `set_request_id` once the
id is known) and inherited by the spans started inside it. Never put secrets or tokens into attributes.

How the request workflow is hooked (the orchestrator itself creates no spans: it replays):
`orchestrations/client.DurableWorkflow.start` sets the request id and puts `inject()` into the orchestration input
as `trace`; `request_orchestrator` passes its input (`ref`) to every activity; the request activities and the
publish activities the request calls (`claim_publication`, `grant_access`) open `activity_span(name, ref["trace"])`,
so their Graph calls are children of it, tagged with the request id. The publication's own steps (verify,
download, upload) serve every request waiting for it, so they are not joined to one request's trace.

Operational log lines the alerts match (infra/bicep/modules/alerts.bicep) are named here too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

log = logging.getLogger("greenlight.telemetry")

REQUEST_ID = "greenlight.request_id"
CORRELATION_ID = "greenlight.correlation_id"
SERVICE_NAME = "greenlight"

# Log messages the operations alerts match; emit them with these exact words.
PUBLICATION_FAILED = "greenlight publication failed"
BOT_DELIVERY_FAILED = "greenlight bot delivery failed"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("greenlight_request_id", default=None)
_lock = threading.Lock()
_provider: TracerProvider | None = None
_configured = False
_ID_SEGMENT = re.compile(r"^[0-9a-fA-F-]{16,}$|^[0-9]+$")


class JsonLinesFileExporter(SpanExporter):
    """Appends each span as one JSON line: name, trace/span/parent ids, attributes, status."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(_as_dict(span), sort_keys=True) for span in spans]
        with self._lock, open(self._path, "a", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _as_dict(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    return {
        "name": span.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "attributes": dict(span.attributes or {}),
        "status": span.status.status_code.name,
    }


def configure(env: Mapping[str, str] | None = None, *, force: bool = False) -> None:
    """Set up exporting once per process (see the module docstring); `force` re-reads the environment (tests)."""
    global _provider, _configured
    env = os.environ if env is None else env
    with _lock:
        if _configured and not force:
            return
        _configured = True
        _provider = None
        if env.get("APPLICATIONINSIGHTS_CONNECTION_STRING") and env.get("GREENLIGHT_ENV", "azure") != "local":
            _configure_azure_monitor(env)
            return
        exporter: SpanExporter | None = None
        if env.get("GREENLIGHT_TELEMETRY_FILE"):
            exporter = JsonLinesFileExporter(env["GREENLIGHT_TELEMETRY_FILE"])
        elif env.get("GREENLIGHT_TELEMETRY_CONSOLE", "").lower() in {"1", "true"}:
            exporter = ConsoleSpanExporter()
        if exporter is not None:
            _provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
            _provider.add_span_processor(SimpleSpanProcessor(exporter))


def _configure_azure_monitor(env: Mapping[str, str]) -> None:
    try:
        from azure.identity import ManagedIdentityCredential
        from azure.monitor.opentelemetry import configure_azure_monitor
    except ImportError:  # pragma: no cover - pinned in requirements.txt
        log.warning("azure-monitor-opentelemetry is not installed; traces are not exported")
        return
    credential = ManagedIdentityCredential(client_id=env.get("AZURE_CLIENT_ID"))
    configure_azure_monitor(
        connection_string=env["APPLICATIONINSIGHTS_CONNECTION_STRING"],
        credential=credential,
        resource=Resource.create({"service.name": SERVICE_NAME}),
        # The Functions host already ships the worker's log lines and metrics to AppTraces / customMetrics; a
        # second copy would double every alert count. Only the spans come from here.
        disable_logging=True,
        disable_metrics=True,
    )


def tracer() -> trace.Tracer:
    configure()
    return (_provider or trace.get_tracer_provider()).get_tracer("greenlight")


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def bind_request_id(request_id: str | None) -> Iterator[None]:
    """Spans started inside carry `greenlight.request_id` (the current span gets it too)."""
    token = _request_id.set(request_id)
    try:
        if request_id:
            trace.get_current_span().set_attribute(REQUEST_ID, request_id)
        yield
    finally:
        _request_id.reset(token)


def set_request_id(request_id: str) -> None:
    """Once a handler knows the id (for example right after creating the request): tag this span and what follows
    in the same context."""
    _request_id.set(request_id)
    trace.get_current_span().set_attribute(REQUEST_ID, request_id)


def _start(name: str, kind: trace.SpanKind, attributes: dict[str, Any], context: Any = None):
    request_id = _request_id.get()
    if request_id:
        attributes = {**attributes, REQUEST_ID: request_id}
    return tracer().start_as_current_span(name, context=context, kind=kind, attributes=attributes)


@contextmanager
def http_span(method: str, path: str, correlation_id: str, request_id: str | None = None) -> Iterator[trace.Span]:
    """Root span of one API request."""
    attributes = {"http.request.method": method, "url.path": path, CORRELATION_ID: correlation_id}
    with bind_request_id(request_id or _request_id.get()), _start(f"{method} {path}", trace.SpanKind.SERVER,
                                                                   attributes) as span:  # fmt: skip
        yield span


@contextmanager
def graph_span(method: str, path_or_url: str) -> Iterator[trace.Span]:
    """One logical Graph call (retries inside). The name is the path with ids replaced, so calls group well."""
    path = re.sub(r"^https?://[^/]+", "", path_or_url).split("?", 1)[0]
    template = "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))
    attributes = {"http.request.method": method, "url.path": path, "server.address": "graph.microsoft.com"}
    with _start(f"graph {method} {template.lstrip('/')}", trace.SpanKind.CLIENT, attributes) as span:
        yield span


def inject() -> dict[str, str]:
    """The current trace context (W3C traceparent) plus the request id, to put into an orchestration's input."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if (request_id := _request_id.get()) is not None:
        carrier["request_id"] = request_id
    return carrier


@contextmanager
def activity_span(name: str, carrier: Mapping[str, str] | None) -> Iterator[trace.Span]:
    """Inside a Durable activity: a span joined to the trace of the HTTP request that started the orchestration,
    with its request id bound for the Graph calls the activity makes."""
    carrier = dict(carrier or {})
    parent = propagate.extract(carrier)
    with bind_request_id(carrier.get("request_id")), _start(f"activity {name}", trace.SpanKind.INTERNAL, {},
                                                             context=parent) as span:  # fmt: skip
        yield span
