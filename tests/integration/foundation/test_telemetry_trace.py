"""One request, one trace: the API route's span, the Graph calls it makes (sandbox Graph over HTTPS, MSAL token),
and a Durable activity joined through the orchestration-input carrier, all exported to a JSON-lines file
(GREENLIGHT_TELEMETRY_FILE) with the request id on every span.

The route is a test route built with the real `api_endpoint` decorator (token validated against the sandbox's
Entra stand-in); the activity part runs the helper an activity calls, in a fresh context as a separate invocation
would, since the orchestration code is being written elsewhere.
"""

from __future__ import annotations

import contextvars
import json
import uuid
from pathlib import Path

import azure.functions as func
import pytest

from functions.auth import Role, api_endpoint
from greenlight import telemetry
from greenlight.graph.client import open_graph_client
from greenlight.graph.urls import DIRECTORY_API
from tests.support.builders import sandbox_graph_settings


@pytest.fixture
def spans_file(tmp_path: Path):
    path = tmp_path / "telemetry" / "spans.jsonl"
    telemetry.configure({"GREENLIGHT_ENV": "local", "GREENLIGHT_TELEMETRY_FILE": str(path)}, force=True)
    yield path
    telemetry.configure({}, force=True)  # back to the no-op tracer for the rest of the session


def read_spans(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_http_request_graph_calls_and_activity_form_one_tree(api_runtime, mint, sandbox, spans_file) -> None:
    settings = sandbox_graph_settings(sandbox, tenant_id=str(uuid.uuid4()), client_id="telemetry-test", max_attempts=3)
    carriers: list[dict[str, str]] = []

    @api_endpoint(roles={Role.REQUESTER})
    async def approvers_of_request(req: func.HttpRequest) -> dict:
        async with open_graph_client(settings) as graph:
            body = {"displayName": "Approvers", "mailNickname": "approvers", "mailEnabled": False,
                    "securityEnabled": True}  # fmt: skip
            group = await graph.post("groups", body, version=DIRECTORY_API)
            members = [m async for m in graph.paged(f"groups/{group['id']}/members", version=DIRECTORY_API)]
        carriers.append(telemetry.inject())  # what the HTTP starter puts into the orchestration input
        return {"members": members}

    request = func.HttpRequest(
        "GET",
        "http://localhost/api/requests/req-42/approvers",
        headers={"Authorization": f"Bearer {mint()}", "x-correlation-id": "corr-42"},
        route_params={"request_id": "req-42"},
        body=b"",
    )
    response = await approvers_of_request(request)
    assert response.status_code == 200, response.get_body()

    async def activity() -> None:  # another invocation: nothing inherited but the carrier
        with telemetry.activity_span("add_requester_to_group", carriers[0]):
            async with open_graph_client(settings) as graph:
                await graph.get("groups", params={"$filter": "displayName eq 'Approvers'"}, version=DIRECTORY_API)

    await contextvars.Context().run(activity)

    spans = read_spans(spans_file)
    by_id = {s["span_id"]: s for s in spans}
    (root,) = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "GET /api/requests/req-42/approvers"
    assert root["attributes"]["greenlight.correlation_id"] == "corr-42"
    assert {s["trace_id"] for s in spans} == {root["trace_id"]}, "every span belongs to the request's trace"
    assert all(s["attributes"].get("greenlight.request_id") == "req-42" for s in spans)

    graph_spans = [s for s in spans if s["name"].startswith("graph ")]
    assert {s["name"] for s in graph_spans} == {
        "graph POST groups",
        "graph GET groups/{id}/members",
        "graph GET groups",
    }
    (activity_span,) = [s for s in spans if s["name"] == "activity add_requester_to_group"]
    assert activity_span["parent_id"] == root["span_id"]
    for span in graph_spans:
        assert span["attributes"]["http.response.status_code"] in (200, 201)
        parent = by_id[span["parent_id"]]
        assert parent in (root, activity_span)
    assert by_id[next(s for s in graph_spans if s["name"] == "graph GET groups")["parent_id"]] == activity_span


def test_nothing_is_recorded_without_an_exporter() -> None:
    telemetry.configure({"GREENLIGHT_ENV": "local"}, force=True)
    with telemetry.http_span("GET", "/api/health", "c") as span:
        assert not span.is_recording()
