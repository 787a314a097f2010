"""The signals operations rely on, produced by the real code against the sandbox's Graph: the log lines the alerts
of infra/bicep/modules/alerts.bicep query for, and the start-up check of the approver/admin groups."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import pytest

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphThrottled
from greenlight.graph.role_groups import UNPROTECTED_MESSAGE, check_trusted_groups
from greenlight.graph.urls import DIRECTORY_API

ALERTS = Path(__file__).resolve().parents[3] / "infra" / "bicep" / "modules" / "alerts.bicep"


def alert_terms(rule: str) -> list[str]:
    """The quoted terms of an alert's AppTraces `Message has "..."` filters."""
    text = ALERTS.read_text()
    block = re.search(rf"name: '{rule}'.*?query: '(.*?)'\n", text, re.DOTALL)
    assert block, f"alerts.bicep has no rule {rule}"
    return re.findall(r'Message has "([^"]+)"', block.group(1))


async def make_group(graph: GraphClient, role_assignable: bool) -> str:
    body = {
        "displayName": f"Greenlight approvers {uuid.uuid4().hex[:6]}",
        "mailNickname": f"gl{uuid.uuid4().hex[:8]}",
        "mailEnabled": False,
        "securityEnabled": True,
        "isAssignableToRole": role_assignable,
    }
    return (await graph.post("groups", body, version=DIRECTORY_API))["id"]


async def test_throttling_is_logged_as_the_graph_throttled_alert_expects(graph, sandbox_control, caplog) -> None:
    sandbox_control.faults(throttle_every=1, retry_after_seconds=1)
    caplog.set_level(logging.INFO, logger="greenlight.graph.client")
    with pytest.raises(GraphThrottled):  # every call throttled: the client gives up after its attempts
        await graph.get("groups", version=DIRECTORY_API)
    terms = alert_terms("graph-throttled")
    assert terms == ["graph ", "answered 429"]
    matching = [r.getMessage() for r in caplog.records if all(t in r.getMessage() for t in terms)]
    assert matching, [r.getMessage() for r in caplog.records]


async def test_an_ordinary_approver_group_is_reported_and_logged_for_the_alert(graph, caplog) -> None:
    protected = await make_group(graph, role_assignable=True)
    ordinary = await make_group(graph, role_assignable=False)
    missing = str(uuid.uuid4())
    caplog.set_level(logging.WARNING, logger="greenlight.graph.role_groups")

    findings = await check_trusted_groups(graph, [protected, ordinary], [missing])

    assert [(f.group_id, f.purpose, f.problem) for f in findings] == [
        (ordinary, "approver", "not role-assignable"),
        (missing, "admin", "could not be read (GraphNotFound)"),
    ]
    assert alert_terms("trusted-group-unprotected") == [UNPROTECTED_MESSAGE]
    logged = [r.getMessage() for r in caplog.records if UNPROTECTED_MESSAGE in r.getMessage()]
    assert len(logged) == 1 and ordinary in logged[0]
