"""/api/policies over real HTTP: devhost serves function_app with the local settings (Azurite, sandbox tokens)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from greenlight.settings import SANDBOX_TENANT_ID
from scripts.localstack import start_devhost
from tests.integration.foundation.conftest import api_environment
from tests.support.sandbox_tenant import SandboxTenant

IT = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a50"
ADELE = "1b3c5d7e-9f0a-4b2c-8d4e-6f8a0b2c4d62"
TWO_STAGES: dict[str, Any] = {
    "stages": [
        {"name": "Manager", "approvers": {"manager": True, "groups": [IT]}},
        {"name": "IT", "approvers": {"groups": [IT]}, "rule": "all"},
    ],
    "reminder_hours": 24,
    "expire_after_days": 14,
}


@pytest.fixture(scope="module")
def api(tmp_path_factory, azurite, sandbox):
    process, base_url = start_devhost(tmp_path_factory.mktemp("devhost"), api_environment(azurite, sandbox))
    with httpx.Client(base_url=base_url, timeout=20) as client:
        yield client
    process.stop()


@pytest.fixture
def admin(mint) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(oid='oid-policy-admin', roles=('Admin',))}"}


@pytest.fixture
def package() -> str:
    return f"Contoso.Tool{uuid.uuid4().hex[:10]}"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def audit_entries(api: httpx.Client, headers: dict[str, str], package: str) -> list[dict[str, Any]]:
    month = dt.datetime.now(dt.UTC).strftime("%Y%m")
    page = api.get("/api/audit", params={"month": month, "page_size": "200"}, headers=headers).json()
    return [e for e in page["items"] if e["entity"] == f"policy/{package}"]


def test_only_admins_read_or_change_policies(api, mint, package) -> None:
    approver = {"Authorization": f"Bearer {mint(oid='oid-policy-approver', roles=('Approver',))}"}
    problem(api.get("/api/policies", headers=approver), 403)
    problem(api.put(f"/api/policies/{package}", json=TWO_STAGES, headers=approver), 403)
    problem(api.get("/api/policies"), 401)


def test_create_read_update_delete_with_etags_and_audit(api, admin, package) -> None:
    created = api.put(f"/api/policies/{package}", json=TWO_STAGES, headers=admin)
    assert created.status_code == 201, created.text
    etag = created.headers["ETag"]
    assert created.json()["policy"]["stages"][1]["rule"] == "all"
    read = api.get(f"/api/policies/{package}", headers=admin)
    assert read.status_code == 200 and read.headers["ETag"] == etag
    assert read.json()["policy"]["auto_approve"] == {"always": False, "requester_groups": []}  # canonical form
    assert package in [p["package_id"] for p in api.get("/api/policies", headers=admin).json()["items"]]

    changed = {**TWO_STAGES, "reminder_hours": 12}
    updated = api.put(f"/api/policies/{package}", json=changed, headers={**admin, "If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] != etag and updated.json()["policy"]["reminder_hours"] == 12

    deleted = api.delete(f"/api/policies/{package}", headers={**admin, "If-Match": updated.headers["ETag"]})
    assert deleted.status_code == 204, deleted.text
    problem(api.get(f"/api/policies/{package}", headers=admin), 404)

    entries = {e["action"]: e for e in audit_entries(api, admin, package)}
    assert set(entries) == {"policy.created", "policy.updated", "policy.deleted"}
    assert entries["policy.created"]["details"]["old"] is None
    assert entries["policy.updated"]["details"]["old"]["reminder_hours"] == 24
    assert entries["policy.updated"]["details"]["new"]["reminder_hours"] == 12
    assert entries["policy.deleted"]["details"] == {"old": updated.json()["policy"], "new": None}
    assert entries["policy.updated"]["actor"] == "oid-policy-admin"


def test_a_change_without_if_match_is_428_and_with_a_stale_one_412(api, admin, package) -> None:
    first = api.put(f"/api/policies/{package}", json=TWO_STAGES, headers=admin)
    stale = first.headers["ETag"]
    problem(api.put(f"/api/policies/{package}", json=TWO_STAGES, headers=admin), 428)
    problem(api.delete(f"/api/policies/{package}", headers=admin), 428)
    second = api.put(
        f"/api/policies/{package}", json={**TWO_STAGES, "blocked": False}, headers={**admin, "If-Match": stale}
    )
    assert second.status_code == 200, second.text
    problem(api.put(f"/api/policies/{package}", json=TWO_STAGES, headers={**admin, "If-Match": stale}), 412)
    problem(api.delete(f"/api/policies/{package}", headers={**admin, "If-Match": stale}), 412)
    problem(api.put(f"/api/policies/{package}x", json=TWO_STAGES, headers={**admin, "If-Match": stale}), 412)
    assert [e["action"] for e in audit_entries(api, admin, package)].count("policy.updated") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TWO_STAGES, "escalate_after_hours": 48}, "escalate_to"),  # a rule of the domain
        ({"stages": [{"name": "A", "approvers": {"users": [ADELE, ADELE]}}]}, "stages[0].approvers.users[1]"),
        ({"stages": [{"name": "A", "approvers": {"manager": True}}]}, "stages[0].approvers"),
        ({"stages": [TWO_STAGES["stages"][0], {**TWO_STAGES["stages"][1], "rule": "most"}]}, "stages/1/rule"),
        ({**TWO_STAGES, "reminder_hours": 0}, "reminder_hours"),
    ],
)
def test_an_invalid_policy_is_a_400_naming_the_field_and_nothing_is_saved(api, admin, package, body, field) -> None:
    answer = problem(api.put(f"/api/policies/{package}", json=body, headers=admin), 400)
    assert any(e.startswith(f"{field}:") for e in answer["errors"]), answer
    problem(api.get(f"/api/policies/{package}", headers=admin), 404)
    assert audit_entries(api, admin, package) == []


def test_the_tenant_default_is_the_star_policy(api, admin) -> None:
    saved = api.put("/api/policies/*", json={"stages": [{"name": "IT", "approvers": {"groups": [IT]}}]}, headers=admin)
    assert saved.status_code == 201, saved.text
    assert api.get("/api/policies/*", headers=admin).json()["package_id"] == "*"
    assert api.get("/api/policies", headers=admin).json()["items"][0]["package_id"] == "*"  # the default first
    deleted = api.delete("/api/policies/*", headers={**admin, "If-Match": saved.headers["ETag"]})
    assert deleted.status_code == 204, deleted.text


def test_a_package_id_that_is_not_one_is_refused(api, admin) -> None:
    answer = problem(api.put("/api/policies/..bad", json=TWO_STAGES, headers=admin), 400)
    assert "package_id" in answer["detail"]


def test_the_policy_routes_are_in_the_openapi_document(api) -> None:
    document = api.get("/api/openapi.json").json()
    assert set(document["paths"]["/api/policies/{package_id}"]) == {"get", "put", "delete"}
    assert "Policy" in document["components"]["schemas"]


def test_a_save_warns_of_a_group_over_the_bound_and_still_saves(api, admin, package, sandbox) -> None:
    everyone = str(uuid.uuid4())  # a group of 150 in the directory the API's Graph identity reads
    members = [str(uuid.uuid4()) for _ in range(150)]
    SandboxTenant(sandbox, SANDBOX_TENANT_ID).org(groups=[{"id": everyone, "displayName": "All", "members": members}])
    body = {"stages": [{"name": "IT", "approvers": {"groups": [IT]}},
                       {"name": "Everyone", "approvers": {"users": [ADELE], "groups": [everyone]}}]}  # fmt: skip
    saved = api.put(f"/api/policies/{package}", json=body, headers=admin)
    assert saved.status_code == 201, saved.text
    assert saved.json()["warnings"] == [
        "stages[1].approvers: its users and groups hold 151 people now, over the limit of 100 one stage may ask: "
        "requests would fail (too_many_approvers) until it names a smaller group"
    ]
    changed = api.put(f"/api/policies/{package}", json=TWO_STAGES, headers={**admin, "If-Match": saved.headers["ETag"]})
    assert changed.status_code == 200 and changed.json()["warnings"] == []  # the IT group is small
