"""Property-based fuzzing of every API route against its published OpenAPI document (schemathesis).

devhost serves the real function_app on Azurite and the sandbox; schemathesis takes the OpenAPI document it
serves (the same document, checked below) and sends generated requests, valid and invalid, to every operation
with a Requester's token and with an Admin's (who is also an Approver). No answer may be a 5xx, a status the
document does not list, or a body that breaks the document's schema; invalid input must be refused with a 4xx.

The example count is modest so the suite stays quick; `make fuzz` runs the same test with GREENLIGHT_FUZZ_EXAMPLES
set higher.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from functions.schemas import MULTILINE_TEXT, SINGLE_LINE_TEXT
from scripts.localstack import start_devhost
from tests.integration.foundation.conftest import ADMIN_GROUP, api_environment

EXAMPLES = int(os.environ.get("GREENLIGHT_FUZZ_EXAMPLES", "8"))


@schemathesis.check
def app_content_type_conformance(ctx, response, case) -> bool | None:
    """The document's media types, for answers the app gave. The host's own refusals before the app runs (a
    request line over aiohttp's 8 KB, as the Functions host has its URL limit) carry no correlation id and are
    plain text; their status is still held to the document by the other checks."""
    if "x-correlation-id" not in response.headers:
        return None
    return content_type_conformance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    app_content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# The validator's own formats (functions.schemas), so valid examples are valid to the API as well.
_TEXT = st.characters(exclude_categories=("Cc", "Cs"))
schemathesis.openapi.format(SINGLE_LINE_TEXT, st.text(_TEXT, min_size=1, max_size=40))
schemathesis.openapi.format(MULTILINE_TEXT, st.text(st.one_of(_TEXT, st.sampled_from("\n\t")), min_size=1, max_size=40))


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory, azurite, sandbox) -> str:
    env = {**api_environment(azurite, sandbox), "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path_factory.mktemp("wg"))}
    process, base_url = start_devhost(tmp_path_factory.mktemp("devhost-fuzz"), env)
    yield base_url
    process.stop()


@pytest.fixture(scope="module")
def callers(mint) -> dict[str, dict[str, str]]:
    """A Requester, and an Admin (by group, so also an Approver): every case is sent as each of them."""
    return {
        "requester": {"Authorization": f"Bearer {mint(oid='oid-fuzz-requester', roles=('Requester',))}"},
        "admin": {"Authorization": f"Bearer {mint(oid='oid-fuzz-admin', roles=(), groups=[ADMIN_GROUP])}"},
    }


def _operations_with_undeclared_query_parameters() -> list[str]:
    """operationIds of routes that still parse their query parameters themselves and publish them as free strings
    (the requests routes, being rewritten to use functions.query). Their contract says nothing a fuzzer can hold
    them to, so they join the run by themselves once they declare their parameters."""
    import function_app  # noqa: F401 - registers every route
    from functions.openapi import operation_id, registered_routes

    return [
        operation_id(method, route)
        for route, methods, operation in registered_routes()
        for method in methods
        if any(isinstance(parameter, tuple) for parameter in operation.query)
    ]


def _published_document() -> dict:
    """The document /api/openapi.json serves (built from the registered routes; test_the_served_document_is_the_one
    fuzzed checks that devhost serves exactly this). Loaded at collection: schemathesis's fixture-based lazy loader
    relies on a pytest internal that pytest 9 removed."""
    import function_app  # noqa: F401 - registers every route
    from functions.openapi import build_document

    return build_document()


# Unknown query parameters are ignored by design (a cache-buster must not break a call), so extra ones are not
# "invalid input"; the bearer token is the test's own (a Requester's, an Admin's), not a generated header.
_CONFIG = schemathesis.Config.from_dict(
    {"generation": {"allow-extra-parameters": False, "with-security-parameters": False}}
)
UNDECLARED = _operations_with_undeclared_query_parameters()
schema = schemathesis.openapi.from_dict(_published_document(), config=_CONFIG)
if UNDECLARED:
    schema = schema.exclude(operation_id=UNDECLARED)


def test_the_served_document_is_the_one_fuzzed(fuzz_api) -> None:
    import httpx

    assert httpx.get(f"{fuzz_api}/api/openapi.json", timeout=30).json() == _published_document()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("GREENLIGHT_FUZZ_RANDOM") != "1",  # the suite is reproducible; `make fuzz` explores
)
def test_every_route_answers_within_its_published_contract(case, fuzz_api, callers) -> None:
    for headers in callers.values():
        case.call_and_validate(base_url=fuzz_api, headers=headers, checks=CHECKS, timeout=60)
