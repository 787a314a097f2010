"""/api/catalog: search the verified WinGet catalog and read one package's verified details."""

from __future__ import annotations

import dataclasses
from typing import Any

import azure.functions as func

from functions import blueprint
from functions.auth import Role, api_endpoint
from functions.problems import ApiProblem, register_problem
from greenlight.winget.catalog import CatalogUnavailable, get_catalog
from greenlight.winget.errors import (
    HostileInput,
    IntegrityFailure,
    MalformedPackage,
    ManifestError,
    NotInIndex,
    UnsafeUrl,
    Unverifiable,
    VersionNotFound,
)

register_problem(CatalogUnavailable, 503, "WinGet catalog unavailable", "catalog-unavailable")
register_problem(Unverifiable, 503, "WinGet CDN unavailable; retry later", "unverifiable-retry-later")
register_problem(IntegrityFailure, 502, "WinGet source data is corrupted or tampered", "integrity-failure")
register_problem(HostileInput, 400, "Invalid WinGet input", "invalid-winget-input")  # e.g. a malformed package id
# The same family raised on data from the CDN is not the caller's fault.
for _cdn_data_error in (MalformedPackage, ManifestError, UnsafeUrl):
    register_problem(_cdn_data_error, 502, "WinGet data refused", "winget-data-refused")
register_problem(NotInIndex, 404, "Package not in the WinGet index", "not-in-index")
register_problem(VersionNotFound, 404, "Package version not found", "version-not-found")

_READERS = {Role.REQUESTER, Role.APPROVER, Role.ADMIN}


@blueprint.route(route="catalog/search", methods=["GET"])
@api_endpoint(
    roles=_READERS,
    summary="Search the verified WinGet catalog by id, name, moniker, tag or command",
    query=(("q", "search text (1-200 characters)"), ("limit", "1-100, default 20")),
)
def catalog_search(req: func.HttpRequest) -> dict[str, Any]:
    text = (req.params.get("q") or "").strip()
    if not text or len(text) > 200:
        raise ApiProblem(400, "Invalid query", "q must be 1 to 200 characters", "invalid-query")
    raw_limit = req.params.get("limit") or "20"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise ApiProblem(400, "Invalid limit", "limit must be a whole number from 1 to 100", "invalid-query")
    catalog = get_catalog()
    results = catalog.search(text, int(raw_limit))
    return {
        "query": text,
        "source_version": catalog.source_version,
        "results": [dataclasses.asdict(entry) for entry in results],
    }


@blueprint.route(route="catalog/packages/{package_id}", methods=["GET"])
@api_endpoint(
    roles=_READERS,
    summary="One package's details from its verified manifest (versions newest first)",
    query=(("version", "a specific version (default: latest)"),),
)
def catalog_package(req: func.HttpRequest) -> dict[str, Any]:
    package_id = req.route_params.get("package_id") or ""
    details = get_catalog().package(package_id, req.params.get("version") or None)
    if details is None:
        raise ApiProblem(404, "Package not in the WinGet index", f"{package_id} is not in the catalog", "not-in-index")
    body = dataclasses.asdict(details)
    body["tags"] = list(details.tags)
    return body
