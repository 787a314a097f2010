"""A RequestService over the in-memory fakes of tests/support/fakes.py."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from greenlight.requests import RequestService, RequestSteps
from greenlight.requests.approvers import ConfiguredApprovers
from tests.support.fakes import (
    FakeAudit,
    FakeCatalog,
    FakeDecisions,
    FakeDevices,
    FakeRequests,
    RecordingNotifier,
    RecordingWorkflow,
)

TENANT = "tenant-1"
ALICE = "alice-oid"  # a requester
BOB, CAROL = "bob-oid", "carol-oid"  # approvers
ADMIN = "admin-oid"


@dataclass
class World:
    requests: FakeRequests
    decisions: FakeDecisions
    audit: FakeAudit
    catalog: FakeCatalog
    devices: FakeDevices
    workflow: RecordingWorkflow
    notifier: RecordingNotifier
    service: RequestService
    steps: RequestSteps


@pytest.fixture
def world() -> World:
    requests, decisions, audit = FakeRequests(), FakeDecisions(), FakeAudit()
    catalog, devices, notifier = FakeCatalog(), FakeDevices(), RecordingNotifier()
    approvers = ConfiguredApprovers(frozenset({BOB, CAROL, ALICE}))  # Alice never approves her own
    service = RequestService(requests, decisions, audit, approvers, catalog, devices)
    steps = RequestSteps(requests, decisions, audit, lambda: notifier)
    return World(requests, decisions, audit, catalog, devices, RecordingWorkflow(), notifier, service, steps)
