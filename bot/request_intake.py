"""Turning a submitted request form into a Requests row, once.

The request id is derived from (tenant, requester, the form's message id), so a Teams retry of the same invoke
or a double click on Submit finds the row it already created instead of creating a second request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bot.cards.request import ARCHITECTURES, JUSTIFICATION_MAX
from bot.catalog import CatalogSearch
from greenlight.models import Request, RequestStatus, Versioned
from greenlight.storage import AlreadyExists, AuditLog, RequestRepository

_NAMESPACE = uuid.UUID("0c6b8a53-55a4-4f4c-9f0e-6f1d3f3b8a11")


class InvalidRequestInput(ValueError):
    """The form's values cannot make a request; the message is for the requester."""


@dataclass(frozen=True)
class SubmittedForm:
    tenant_id: str
    requester_oid: str
    requester_name: str
    package_id: str
    architecture: str
    justification: str
    form_id: str  # the message id of the form card (or the invoke id when Teams gives none)


def request_id_for(form: SubmittedForm) -> str:
    return uuid.uuid5(_NAMESPACE, f"{form.tenant_id}|{form.requester_oid}|{form.form_id}").hex


class RequestIntake:
    def __init__(self, requests: RequestRepository, audit: AuditLog | None = None) -> None:
        self._requests = requests
        self._audit = audit

    def submit(self, form: SubmittedForm, catalog: CatalogSearch) -> tuple[Versioned[Request], bool]:
        """Create the request (status Submitted); returns it and whether this call created it."""
        architecture = form.architecture.strip().lower()
        if architecture not in ARCHITECTURES:
            raise InvalidRequestInput(f"Choose one of: {', '.join(ARCHITECTURES)}.")
        justification = " ".join(form.justification.split())
        if not justification:
            raise InvalidRequestInput("Please say briefly why you need it.")
        if len(justification) > JUSTIFICATION_MAX:
            raise InvalidRequestInput(f"Keep the justification under {JUSTIFICATION_MAX} characters.")
        entry = catalog.package(form.package_id)
        if entry is None:
            raise InvalidRequestInput(f"{form.package_id} is not in the catalog.")
        request = Request(
            tenant_id=form.tenant_id,
            request_id=request_id_for(form),
            requester_oid=form.requester_oid,
            requester_name=form.requester_name,
            package_id=entry.package_id,
            package_version=getattr(entry, "version", None),
            architecture=architecture,
            scope="machine",
            justification=justification,
            status=RequestStatus.SUBMITTED,
        )
        try:
            created = self._requests.create(request)
        except AlreadyExists:
            return self._requests.get(form.tenant_id, request.request_id), False
        if self._audit is not None:
            self._audit.append(
                form.requester_oid, "request.submitted", f"request/{request.request_id}", {"package": entry.package_id}
            )
        return created, True
