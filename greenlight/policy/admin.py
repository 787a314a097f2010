"""Reading, saving and deleting policies for the Admin API: validated, ETag-guarded, every change audited.

A save stores the canonical document (`policy_document`), so what GET answers is what evaluation will read. A
change to an existing policy must name the ETag it was read at (`if_match`): without one the caller has not seen
the current policy (PreconditionRequired, 428); with a stale one someone changed it meanwhile (PreconditionFailed,
412). Each change appends `policy.created|updated|deleted` to the audit log with the old and the new document.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from greenlight.models import Policy, Versioned
from greenlight.policy.model import PolicyInvalid, parse_policy, policy_document
from greenlight.storage import AlreadyExists, AuditLog, ConcurrencyConflict, NotFound, PolicyRepository, StorageError

log = logging.getLogger("greenlight.policy.admin")
DEFAULT_PACKAGE = "*"
# Old and new documents together must fit one audit entry (32,000 characters), so each stays under half of it.
MAX_DOCUMENT_CHARS = 15_000


class PreconditionRequired(Exception):
    """Changing an existing policy needs If-Match with the ETag it was read at."""


class PreconditionFailed(Exception):
    """The If-Match ETag is not the policy's current one (or there is no policy to match)."""


@dataclass(frozen=True)
class SavedPolicy:
    policy: Versioned[Policy]
    created: bool


def canonical(document: Any) -> dict[str, Any]:
    """The validated, canonical document, or PolicyInvalid naming each wrong field."""
    canonical_document = policy_document(parse_policy(document))
    size = len(json.dumps(canonical_document, separators=(",", ":")))
    if size > MAX_DOCUMENT_CHARS:
        raise PolicyInvalid(
            [f"(body): the policy is {size} characters stored; the limit is {MAX_DOCUMENT_CHARS} (use groups)"]
        )
    return canonical_document


class PolicyAdmin:
    def __init__(self, policies: PolicyRepository, audit: AuditLog) -> None:
        self._policies = policies
        self._audit = audit

    def list(self, tenant_id: str) -> list[Versioned[Policy]]:
        return sorted(
            self._policies.list(tenant_id), key=lambda v: (v.value.package_id != DEFAULT_PACKAGE, v.value.package_id)
        )

    def get(self, tenant_id: str, package_id: str) -> Versioned[Policy]:
        found = self._policies.get(tenant_id, package_id)
        if found is None:
            raise NotFound(f"no policy is saved for {package_id}")
        return found

    def save(self, tenant_id: str, package_id: str, document: Any, if_match: str | None, actor: str) -> SavedPolicy:
        new_document = canonical(document)
        existing = self._policies.get(tenant_id, package_id)
        policy = Policy(tenant_id, package_id, new_document)
        if existing is None:
            if if_match is not None:
                raise PreconditionFailed(f"no policy is saved for {package_id}; send the PUT without If-Match")
            try:
                saved = self._policies.create(policy)
            except AlreadyExists:
                raise PreconditionRequired(f"a policy for {package_id} was just saved by someone else") from None
            self._record(actor, "policy.created", package_id, None, new_document)
            return SavedPolicy(saved, created=True)
        if if_match is None:
            raise PreconditionRequired(f"a policy for {package_id} exists; send If-Match with its ETag")
        etag = existing.etag if if_match == "*" else if_match
        if etag != existing.etag:
            raise PreconditionFailed(f"the policy for {package_id} changed since that ETag; read it again")
        try:
            saved = self._policies.replace(policy, etag)
        except ConcurrencyConflict:
            raise PreconditionFailed(f"the policy for {package_id} changed since that ETag; read it again") from None
        self._record(actor, "policy.updated", package_id, existing.value.document, new_document)
        return SavedPolicy(saved, created=False)

    def delete(self, tenant_id: str, package_id: str, if_match: str | None, actor: str) -> None:
        existing = self.get(tenant_id, package_id)
        if if_match is None:
            raise PreconditionRequired(f"send If-Match with the ETag of the policy for {package_id}")
        etag = existing.etag if if_match == "*" else if_match
        if etag != existing.etag:
            raise PreconditionFailed(f"the policy for {package_id} changed since that ETag; read it again")
        try:
            self._policies.delete(tenant_id, package_id, etag)
        except ConcurrencyConflict:
            raise PreconditionFailed(f"the policy for {package_id} changed since that ETag; read it again") from None
        self._record(actor, "policy.deleted", package_id, existing.value.document, None)

    def _record(self, actor: str, action: str, package_id: str, old: Any, new: Any) -> None:
        try:
            self._audit.append(actor, action, f"policy/{package_id}", {"old": old, "new": new})
        except StorageError as error:
            # The change is stored and cannot be undone safely; leave the failure in the log like request creation.
            log.error("audit append failed for %s %s by %s: %s", action, package_id, actor, error)
