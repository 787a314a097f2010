"""/api/catalog: search the verified WinGet catalog and read one package's verified details."""

from __future__ import annotations

import dataclasses
from typing import Any

import azure.functions as func

from functions import blueprint
from functions.auth import Role, api_endpoint
from functions.problems import ApiProblem, register_problem
from functions.query import Integer, Text
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


SEARCH_TEXT = Text("q", 1, 200, strip=True, required=True, description="id, name, moniker, tag or command")
LIMIT = Integer("limit", 1, 100, default=20, description="at most this many results")
# winget versions are short; the bound keeps a version far from anything costly to compare.
VERSION = Text("version", 1, 128, description="a specific version (default: the latest)")


@blueprint.route(route="catalog/search", methods=["GET"])
@api_endpoint(
    roles=_READERS,
    summary="Search the verified WinGet catalog by id, name, moniker, tag or command",
    query=(SEARCH_TEXT, LIMIT),
    problems={502: "WinGet source data refused", 503: "WinGet catalog or CDN unavailable"},
)
def catalog_search(req: func.HttpRequest, query: dict[str, Any]) -> dict[str, Any]:
    catalog = get_catalog()
    results = catalog.search(query["q"], query["limit"])
    return {
        "query": query["q"],
        "source_version": catalog.source_version,
        "results": [dataclasses.asdict(entry) for entry in results],
    }


@blueprint.route(route="catalog/packages/{package_id}", methods=["GET"])
@api_endpoint(
    roles=_READERS,
    summary="One package's details from its verified manifest (versions newest first)",
    query=(VERSION,),
    problems={
        404: "The package or version is not in the catalog",
        502: "WinGet data refused",
        503: "WinGet catalog or CDN unavailable",
    },
)
def catalog_package(req: func.HttpRequest, query: dict[str, Any]) -> dict[str, Any]:
    package_id = req.route_params.get("package_id") or ""
    details = get_catalog().package(package_id, query["version"])
    if details is None:
        raise ApiProblem(404, "Package not in the WinGet index", f"{package_id} is not in the catalog", "not-in-index")
    body = dataclasses.asdict(details)
    body["tags"] = list(details.tags)
    return body
