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
    FakePolicies,
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
    policies: FakePolicies


@pytest.fixture
def world() -> World:
    requests, decisions, audit = FakeRequests(), FakeDecisions(), FakeAudit()
    catalog, devices, notifier = FakeCatalog(), FakeDevices(), RecordingNotifier()
    approvers = ConfiguredApprovers(frozenset({BOB, CAROL, ALICE}))  # Alice never approves her own
    policies = FakePolicies()
    policies.default_approvers = (BOB, CAROL, ALICE)
    service = RequestService(requests, decisions, audit, approvers, catalog, devices, policies=policies)
    steps = RequestSteps(requests, decisions, audit, lambda: notifier, policies)
    return World(requests, decisions, audit, catalog, devices, RecordingWorkflow(), notifier, service, steps, policies)
