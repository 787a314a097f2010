"""Which policy governs a request, read from the Policies table on Azurite: the package's, else `*`, else the
configured approvers."""

from __future__ import annotations

import uuid

import pytest

from greenlight.models import Policy
from greenlight.policy import PackageBlocked, Rule
from greenlight.policy.admin import PolicyAdmin, canonical
from greenlight.policy.effective import effective_policy, ensure_requestable
from greenlight.storage import AuditLog, PolicyRepository, StorageError

CONFIGURED = "aaaaaaaa-0000-4000-8000-00000000000a"
GROUP = "bbbbbbbb-0000-4000-8000-00000000000b"


def test_the_package_policy_then_the_default_then_the_configured_approvers(account) -> None:
    tenant, repository = str(uuid.uuid4()), PolicyRepository(account)
    fallback = effective_policy(repository, tenant, "7zip.7zip", [CONFIGURED], [GROUP])
    assert fallback.stages[0].approvers.users == (CONFIGURED,) and fallback.stages[0].rule is Rule.ANY

    default = {"stages": [{"name": "Default", "approvers": {"groups": [GROUP]}, "rule": "all"}]}
    repository.create(Policy(tenant, "*", canonical(default)))
    assert effective_policy(repository, tenant, "7zip.7zip", [CONFIGURED], []).stages[0].name == "Default"

    repository.create(Policy(tenant, "7zip.7zip", canonical({"blocked": True})))
    own = effective_policy(repository, tenant, "7zip.7zip", [CONFIGURED], [])
    assert own.blocked
    with pytest.raises(PackageBlocked):
        ensure_requestable(own, "7zip.7zip")
    assert effective_policy(repository, tenant, "Other.App", [], []).stages[0].name == "Default"


def test_an_audit_failure_does_not_undo_a_saved_policy(account, caplog) -> None:
    class BrokenAudit(AuditLog):
        def append(self, *args, **kwargs):
            raise StorageError("audit table down")

    tenant = str(uuid.uuid4())
    admin = PolicyAdmin(PolicyRepository(account), BrokenAudit(account))
    saved = admin.save(tenant, "7zip.7zip", {"blocked": True}, None, "oid-admin")
    assert saved.created and admin.get(tenant, "7zip.7zip").value.document["blocked"] is True
    assert "audit append failed for policy.created" in caplog.text
