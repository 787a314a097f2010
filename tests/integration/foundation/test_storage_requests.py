"""RequestRepository on Azurite: create, read, ETag-guarded update, paging."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from greenlight.models import Request, RequestStatus, new_request_id
from greenlight.storage import AlreadyExists, ConcurrencyConflict, InvalidContinuation, NotFound, RequestRepository


def make_request(tenant: str, requester: str = "oid-alice", **changes) -> Request:
    base = Request(
        tenant_id=tenant,
        request_id=new_request_id(),
        requester_oid=requester,
        requester_name="Alice",
        package_id="7zip.7zip",
        package_version="24.08",
        architecture="x64",
        scope="machine",
        justification="unpack archives",
    )
    return dataclasses.replace(base, **changes)


def test_created_request_reads_back_equal(account, tenant):
    repo = RequestRepository(account)
    created = repo.create(make_request(tenant, package_version=None))
    read = repo.get(tenant, created.value.request_id)
    assert read.value == created.value
    assert read.value.package_version is None
    assert read.etag == created.etag


def test_creating_the_same_id_twice_raises_already_exists(account, tenant):
    repo = RequestRepository(account)
    request = make_request(tenant)
    repo.create(request)
    with pytest.raises(AlreadyExists):
        repo.create(request)


def test_reading_a_missing_request_raises_not_found(account, tenant):
    with pytest.raises(NotFound):
        RequestRepository(account).get(tenant, "does-not-exist")


def test_update_with_a_stale_etag_is_a_conflict_and_keeps_the_winner(account, tenant):
    repo = RequestRepository(account)
    created = repo.create(make_request(tenant))
    first = repo.get(tenant, created.value.request_id)
    second = repo.get(tenant, created.value.request_id)

    repo.update(dataclasses.replace(first.value, status=RequestStatus.PENDING_APPROVAL, stage=1), first.etag)
    with pytest.raises(ConcurrencyConflict):
        repo.update(dataclasses.replace(second.value, status=RequestStatus.CANCELLED), second.etag)

    stored = repo.get(tenant, created.value.request_id).value
    assert stored.status is RequestStatus.PENDING_APPROVAL
    assert stored.stage == 1


def test_update_returns_a_new_etag_that_the_next_update_can_use(account, tenant):
    repo = RequestRepository(account)
    created = repo.create(make_request(tenant))
    updated = repo.update(dataclasses.replace(created.value, status=RequestStatus.APPROVED), created.etag)
    assert updated.etag != created.etag
    again = repo.update(dataclasses.replace(updated.value, status=RequestStatus.PUBLISHING), updated.etag)
    assert repo.get(tenant, created.value.request_id).value.status is RequestStatus.PUBLISHING
    assert again.value.updated_at >= created.value.updated_at


def test_update_of_a_deleted_or_never_created_request_is_not_found(account, tenant):
    repo = RequestRepository(account)
    with pytest.raises((NotFound, ConcurrencyConflict)):
        repo.update(make_request(tenant), "W/\"datetime'2020-01-01T00%3A00%3A00.0000000Z'\"")


def test_list_by_requester_pages_through_every_request_exactly_once(account, tenant):
    repo = RequestRepository(account)
    mine = {repo.create(make_request(tenant, "oid-bob")).value.request_id for _ in range(7)}
    repo.create(make_request(tenant, "oid-carol"))  # someone else's: must not appear

    seen: list[str] = []
    pages = 0
    continuation = None
    while True:
        page = repo.list_by_requester(tenant, "oid-bob", page_size=3, continuation=continuation)
        assert len(page.items) <= 3
        seen += [r.request_id for r in page.items]
        pages += 1
        continuation = page.continuation
        if continuation is None:
            break
    assert sorted(seen) == sorted(mine)
    assert pages >= 3


def test_list_by_status_filters_on_status(account, tenant):
    repo = RequestRepository(account)
    submitted = repo.create(make_request(tenant)).value
    failed = repo.create(make_request(tenant, status=RequestStatus.FAILED, error="boom")).value
    page = repo.list_by_status(tenant, RequestStatus.FAILED)
    assert [r.request_id for r in page.items] == [failed.request_id]
    assert page.items[0].error == "boom"
    assert submitted.request_id not in [r.request_id for r in page.items]


def test_a_forged_continuation_token_is_rejected(account, tenant):
    with pytest.raises(InvalidContinuation):
        RequestRepository(account).list_by_requester(tenant, "x", continuation="not-a-token!")


def test_a_key_with_a_slash_is_refused_before_reaching_storage(account):
    with pytest.raises(ValueError):
        RequestRepository(account).get(str(uuid.uuid4()), "a/b")


def test_concurrent_modifications_are_all_applied_through_retries(account, tenant):
    """Four threads each add 1 to `stage` three times; ETag retries make every increment land exactly once."""
    import threading

    repo = RequestRepository(account)
    created = repo.create(make_request(tenant)).value
    barrier = threading.Barrier(4)

    def bump() -> None:
        barrier.wait()
        for _ in range(3):
            repo.modify(tenant, created.request_id, lambda r: dataclasses.replace(r, stage=r.stage + 1), attempts=50)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert repo.get(tenant, created.request_id).value.stage == 12


def test_modify_writes_nothing_when_the_change_is_none(account, tenant):
    repo = RequestRepository(account)
    created = repo.create(make_request(tenant))
    assert repo.modify(tenant, created.value.request_id, lambda r: None).etag == created.etag
