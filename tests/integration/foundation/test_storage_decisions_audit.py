"""Decisions (first writer wins), audit (append-only, newest first), and the smaller tables, on Azurite."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from greenlight.models import Decision, Policy, PublishedApp, Verdict
from greenlight.storage import (
    AlreadyDecided,
    AlreadyExists,
    ApprovalCardRepository,
    AuditLog,
    ConcurrencyConflict,
    ConversationReferenceRepository,
    DecisionRepository,
    NotFound,
    PolicyRepository,
    PublishedAppRepository,
    StagingArea,
)


def test_second_outcome_for_the_same_stage_raises_already_decided_with_the_first(account):
    repo = DecisionRepository(account)
    request_id = uuid.uuid4().hex
    first = repo.settle(Decision(request_id, 1, "oid-ann", "Ann", Verdict.APPROVED, "ok"))
    with pytest.raises(AlreadyDecided) as raised:
        repo.settle(Decision(request_id, 1, "oid-ben", "Ben", Verdict.REJECTED, "no"))
    assert raised.value.existing.approver_oid == "oid-ann"
    assert repo.get(request_id, 1) == first


def test_one_decision_per_approver_per_stage_first_click_wins(account):
    repo = DecisionRepository(account)
    request_id = uuid.uuid4().hex
    ann = repo.record(Decision(request_id, 1, "oid-ann", "Ann", Verdict.APPROVED, "ok"))
    ben = repo.record(Decision(request_id, 1, "oid-ben", "Ben", Verdict.REJECTED, "no"))  # another approver: a row
    with pytest.raises(AlreadyDecided) as raised:
        repo.record(Decision(request_id, 1, "OID-ANN", "Ann", Verdict.REJECTED, "changed my mind"))
    assert raised.value.existing == ann
    assert sorted(repo.for_stage(request_id, 1), key=lambda d: d.approver_oid) == [ann, ben]
    assert repo.of_approver(request_id, 1, "oid-ben") == ben and repo.for_stage(request_id, 2) == []
    assert repo.get(request_id, 1) is None  # nobody settled the stage yet


def test_concurrent_decisions_exactly_one_wins(account):
    repo = DecisionRepository(account)
    request_id = uuid.uuid4().hex
    approvers = [f"oid-{n}" for n in range(8)]
    barrier = threading.Barrier(len(approvers))
    winners: list[str] = []
    losers: list[str] = []

    def decide(oid: str) -> None:
        barrier.wait()
        try:
            repo.settle(Decision(request_id, 2, oid, oid, Verdict.APPROVED))
            winners.append(oid)
        except AlreadyDecided as error:
            losers.append(error.existing.approver_oid)

    threads = [threading.Thread(target=decide, args=(oid,)) for oid in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert losers == [winners[0]] * (len(approvers) - 1)  # every loser is told who won
    assert repo.get(request_id, 2).approver_oid == winners[0]


def test_decisions_of_different_stages_are_independent(account):
    repo = DecisionRepository(account)
    request_id = uuid.uuid4().hex
    repo.record(Decision(request_id, 1, "a", "A", "approved"))
    repo.record(Decision(request_id, 2, "b", "B", "rejected"))
    assert [d.verdict for d in repo.list(request_id)] == [Verdict.APPROVED, Verdict.REJECTED]
    assert repo.get(request_id, 3) is None


def test_audit_lists_a_month_newest_first_across_pages(account):
    base = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC)
    ticks = iter(base + dt.timedelta(seconds=n) for n in range(5))
    log = AuditLog(account, clock=lambda: next(ticks))
    actions = [log.append("oid-admin", f"action-{n}", f"request/{n}", {"n": n}).action for n in range(5)]

    seen = []
    continuation = None
    while True:
        page = log.list_month("203105", page_size=2, continuation=continuation)
        seen += page.items
        continuation = page.continuation
        if continuation is None:
            break
    assert [e.action for e in seen] == list(reversed(actions))
    assert seen[0].details == {"n": 4}
    assert seen[0].occurred_at == base + dt.timedelta(seconds=4)


def test_audit_has_no_way_to_change_an_entry(account):
    log = AuditLog(account)
    assert not any(hasattr(log, name) for name in ("update", "delete", "upsert", "replace"))


def test_approval_cards_are_replaced_per_approver(account):
    repo = ApprovalCardRepository(account)
    request_id = uuid.uuid4().hex
    repo.put(request_id, "oid-a", "conv-a", "act-1", "https://smba.trafficmanager.net/amer/")
    repo.put(request_id, "oid-b", "conv-b", "act-2", "https://smba.trafficmanager.net/amer/")
    repo.put(request_id, "oid-a", "conv-a", "act-3", "https://smba.trafficmanager.net/amer/")
    cards = {c.approver_oid: c.activity_id for c in repo.list(request_id)}
    assert cards == {"oid-a": "act-3", "oid-b": "act-2"}


def test_conversation_reference_round_trip_and_unreachable_mark(account, tenant):
    repo = ConversationReferenceRepository(account)
    reference = {"conversation": {"id": "a:1"}, "serviceUrl": "https://smba.trafficmanager.net/amer/"}
    repo.upsert(tenant, "oid-u", reference, "https://smba.trafficmanager.net/amer/", "User")
    repo.mark_unreachable(tenant, "oid-u", "bot uninstalled")
    stored = repo.get(tenant, "oid-u")
    assert stored.reference == reference
    assert stored.tenant_id == tenant
    assert stored.unreachable and stored.unreachable_reason == "bot uninstalled"
    repo.upsert(tenant, "oid-u", reference, "https://smba.trafficmanager.net/amer/", "User")
    assert repo.get(tenant, "oid-u").unreachable is False
    assert repo.get(tenant, "nobody") is None
    with pytest.raises(NotFound):
        repo.mark_unreachable(tenant, "nobody", "x")


def test_published_app_is_recorded_once(account):
    repo = PublishedAppRepository(account)
    package = f"Test.{uuid.uuid4().hex[:8]}"
    app = PublishedApp(package, "1.2.3", "x64", "machine", "app-1", "group-1", "ab" * 32)
    repo.record(app)
    with pytest.raises(AlreadyExists):
        repo.record(PublishedApp(package, "1.2.3", "x64", "machine", "app-2", "group-2", "cd" * 32))
    assert repo.get(package, "1.2.3", "x64", "machine").app_id == "app-1"
    assert repo.get(package, "1.2.4", "x64", "machine") is None


def test_policy_edit_from_a_stale_copy_is_a_conflict_and_default_applies(account, tenant):
    repo = PolicyRepository(account)
    default = repo.create(Policy(tenant, "*", {"stages": [{"group": "g-default"}]}))
    assert repo.effective(tenant, "Any.Package").value.document == default.value.document
    specific = repo.create(Policy(tenant, "7zip.7zip", {"autoApprove": True}))
    repo.replace(Policy(tenant, "7zip.7zip", {"autoApprove": False}), specific.etag)
    with pytest.raises(ConcurrencyConflict):
        repo.replace(Policy(tenant, "7zip.7zip", {"autoApprove": True}), specific.etag)
    assert repo.effective(tenant, "7zip.7zip").value.document == {"autoApprove": False}


def test_staging_upload_streams_blocks_and_commits_the_whole(account):
    staging = StagingArea(account)
    name = f"test/{uuid.uuid4().hex}.bin"
    chunks = [bytes([n]) * 1000 for n in range(10)]
    total = staging.upload_stream(name, iter(chunks), block_size=3000)
    assert total == 10_000
    blocks = staging.blob(name).get_block_list("committed")[0]
    assert len(blocks) == 4  # 3000 + 3000 + 3000 + 1000
    assert staging.blob(name).download_blob().readall() == b"".join(chunks)
