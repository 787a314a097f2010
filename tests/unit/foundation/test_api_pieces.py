"""Small pieces of the API and storage layers that need no I/O: problems, correlation ids, schemas, keys, models."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

import azure.functions as func
import pytest

from functions import runtime
from functions.auth import api_endpoint
from functions.correlation import bind, correlation_id_from, install_log_correlation, unbind
from functions.problems import ApiProblem, problem_for, problem_response, register_problem
from functions.schemas import validate_body
from greenlight.models import Decision, Request, RequestStatus
from greenlight.storage.audit import inverted_time_key
from greenlight.storage.errors import InvalidContinuation, InvalidKey
from greenlight.storage.keys import key
from greenlight.storage.paging import decode_continuation, encode_continuation


def test_problem_response_is_rfc7807_with_the_correlation_id():
    token = bind("cid-1")
    try:
        response = problem_response(409, "Conflict", "changed", "concurrency-conflict")
    finally:
        unbind(token)
    body = json.loads(response.get_body())
    assert response.mimetype == "application/problem+json"
    assert body == {
        "type": "https://greenlight.dev/problems/concurrency-conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "changed",
        "correlationId": "cid-1",
    }
    assert response.headers["x-correlation-id"] == "cid-1"


def test_registered_typed_errors_map_to_problems_through_subclasses():
    class CatalogDown(Exception):
        pass

    class SourceUnverifiable(CatalogDown):
        pass

    register_problem(CatalogDown, 503, "Catalog unavailable", "catalog-unavailable")
    problem = problem_for(SourceUnverifiable("signature check failed"))
    assert (problem.status, problem.detail) == (503, "signature check failed")
    assert problem_for(KeyError("x")) is None


@pytest.mark.parametrize(("given", "kept"), [("abc-123", True), ("x" * 65, False), ("a b", False), ("", False)])
def test_correlation_ids_are_kept_only_when_well_formed(given, kept):
    assert (correlation_id_from(given) == given) is kept


def test_log_records_during_a_request_carry_the_correlation_id(caplog):
    install_log_correlation()
    token = bind("cid-log")
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("greenlight.test").info("hello %s", "world")
    finally:
        unbind(token)
    record = caplog.records[-1]
    assert record.getMessage() == "[cid-log] hello world"
    assert record.correlation_id == "cid-log"


def test_schema_validation_lists_every_violation_by_path():
    errors = validate_body("CreateRequest", {"package_id": "ok.pkg", "scope": "galaxy", "justification": ""})
    assert [e.split(":")[0] for e in errors] == ["justification", "scope"]
    assert validate_body("CreateRequest", {"package_id": "7zip.7zip", "justification": "x"}) == []


async def test_an_async_anonymous_handler_gets_the_same_treatment():
    @api_endpoint()
    async def teapot(req: func.HttpRequest) -> dict:
        raise ApiProblem(418, "I'm a teapot")

    runtime.load()
    response = await teapot(func.HttpRequest("GET", "http://x/api/t", headers={"x-correlation-id": "c-9"}, body=b""))
    assert response.status_code == 418 and response.headers["x-correlation-id"] == "c-9"
    assert asyncio.iscoroutinefunction(teapot)


def test_an_unexpected_error_is_a_500_problem_without_a_trace():
    @api_endpoint()
    def broken(req: func.HttpRequest) -> dict:
        raise RuntimeError("secret internals")

    response = broken(func.HttpRequest("GET", "http://x/api/b", body=b""))
    assert response.status_code == 500
    assert b"secret internals" not in response.get_body() and b"Traceback" not in response.get_body()


def test_an_id_no_table_can_hold_is_a_400_naming_it_not_a_storage_outage():
    @api_endpoint()
    def lookup(req: func.HttpRequest) -> dict:
        return {"key": key("a#b", "package id")}

    response = lookup(func.HttpRequest("GET", "http://x/api/k", body=b""))
    assert response.status_code == 400
    assert b"package id" in response.get_body()


@pytest.mark.parametrize("bad", ["", "a/b", "a#b", "a?b", "a\\b", "tab\there", "x" * 600])
def test_table_keys_refuse_what_table_storage_cannot_store(bad):
    with pytest.raises(InvalidKey):
        key(bad, "id")


def test_continuation_tokens_round_trip_and_reject_forgeries():
    token = {"PartitionKey": "t", "RowKey": "r"}
    assert decode_continuation(encode_continuation(token)) == token
    for forged in ("%%%", encode_continuation({"PartitionKey": 1}), "W10"):
        with pytest.raises(InvalidContinuation):
            decode_continuation(forged)


def test_audit_row_keys_sort_newest_first():
    earlier = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    later = earlier + dt.timedelta(microseconds=1)
    assert inverted_time_key(later, "a") < inverted_time_key(earlier, "a")


def test_models_coerce_and_check_their_enums():
    request = Request("t", "r", "o", "n", "p", None, "x64", "machine", "j", status="Approved")
    assert request.status is RequestStatus.APPROVED
    with pytest.raises(ValueError):
        Request("t", "r", "o", "n", "p", None, "x64", "machine", "j", status="Maybe")
    with pytest.raises(ValueError):
        Decision("r", 1, "o", "n", "perhaps")


def test_the_request_lifecycle_allows_only_the_documented_moves():
    assert RequestStatus.SUBMITTED.can_become(RequestStatus.PENDING_APPROVAL)
    assert RequestStatus.PENDING_APPROVAL.can_become(RequestStatus.PENDING_APPROVAL)  # next stage
    assert RequestStatus.APPROVED.can_become(RequestStatus.PUBLISHED)  # already published: skip
    assert not RequestStatus.SUBMITTED.can_become(RequestStatus.PUBLISHED)
    assert not RequestStatus.COMPLETED.can_become(RequestStatus.FAILED)
    assert all(not s.can_become(t) for s in RequestStatus if s.is_final for t in RequestStatus)
