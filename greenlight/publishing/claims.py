"""claim_publication and publication_state: exactly one owner per (package, version, architecture, scope)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from greenlight.publishing.publications import (
    FAILED,
    PUBLISHED,
    PUBLISHING,
    Publication,
    PublicationKey,
    PublicationRepository,
)
from greenlight.storage.errors import AlreadyExists, ConcurrencyConflict
from greenlight.storage.published_apps import PublishedAppRepository
from greenlight.storage.requests import RequestRepository

log = logging.getLogger(__name__)

# The requests whose cards follow a publication's progress live (the owner and the first waiters). The others wait
# all the same and hear when the app lands; they are only not listed: each listed card is updated up to every 3 s
# while the installer downloads and uploads, Teams allows a bot about 30 requests a second per tenant (50 cards:
# ≈ 17/s), and the list lives in one Table property (64 KiB: ≈ 400 entries), which a company-wide rollout of one
# app could otherwise overflow, failing every later claim.
MAX_LIVE_WAITERS = 50


def _owner(publication: Publication) -> dict[str, Any]:
    return {
        "outcome": "owner",
        "instance_id": publication.key.instance_id(publication.attempt),
        "input": {"publication_id": publication.key.id, "attempt": publication.attempt},
    }


class Claims:
    def __init__(
        self,
        requests: RequestRepository,
        published: PublishedAppRepository,
        publications: PublicationRepository,
        resolve_version: Callable[[str], str],
        live_waiters: int = MAX_LIVE_WAITERS,
    ) -> None:
        self.requests = requests
        self.live_waiters = live_waiters
        self.published = published
        self.publications = publications
        self._resolve_version = resolve_version  # package id -> its latest verified version

    def key_for(self, tenant_id: str, request_id: str) -> PublicationKey:
        request = self.requests.get(tenant_id, request_id).value
        version = request.package_version or self._resolve_version(request.package_id)
        return PublicationKey(request.package_id, version, request.architecture, request.scope)

    def claim(self, tenant_id: str, request_id: str) -> dict[str, Any]:
        """published | owner (a new publication or a new attempt after a failure) | waiting. A retried claim by
        the same request gives the same answer: the owner is told again it owns, a waiter is listed once (and
        only while fewer than `live_waiters` are listed)."""
        key = self.key_for(tenant_id, request_id)
        me = (tenant_id, request_id)
        for _ in range(20):
            done = self.published.get(key.package_id, key.version, key.architecture, key.scope)
            if done is not None:
                return {"outcome": "published", "app_id": done.app_id, "group_id": done.group_id}
            current = self.publications.get(key)
            if current is None:
                fresh = Publication(key, PUBLISHING, 1, me, (me,))
                try:
                    return _owner(self.publications.insert(fresh).value)
                except AlreadyExists:
                    continue  # someone claimed it between our read and insert: read theirs
            publication = current.value
            if publication.state == PUBLISHED:
                return {"outcome": "published", "app_id": publication.app_id, "group_id": publication.group_id}
            if publication.state == PUBLISHING and publication.owner == me:
                return _owner(publication)
            if publication.state == PUBLISHING:
                if me in publication.waiters or len(publication.waiters) >= self.live_waiters:
                    return {"outcome": "waiting", "publication_id": key.id}  # listed already, or not live (above)
                changed = replace(publication, waiters=(*publication.waiters, me))
            else:  # failed: a new attempt, owned by this request
                assert publication.state == FAILED
                changed = replace(
                    publication,
                    state=PUBLISHING,
                    attempt=publication.attempt + 1,
                    owner=me,
                    waiters=(me,),
                    error=None,
                    app_id=None,
                    group_id=None,
                )
            try:
                self.publications.update(current, changed)
            except ConcurrencyConflict:
                continue
            if changed.state == PUBLISHING and changed.owner == me and changed.attempt != publication.attempt:
                log.info("publication %s: attempt %d owned by %s", key.id, changed.attempt, request_id)
                return _owner(changed)
            return {"outcome": "waiting", "publication_id": key.id}
        raise ConcurrencyConflict(f"publication {key.id}: could not claim it (too many concurrent changes)")

    def state(self, publication_id: str) -> dict[str, Any]:
        key = PublicationKey.parse(publication_id)
        current = self.publications.get(key)
        if current is None:
            error = {"code": "unknown_publication", "message": f"no publication {publication_id}"}
            return {"state": FAILED, "app_id": None, "group_id": None, "error": error}
        p = current.value
        return {"state": p.state, "app_id": p.app_id, "group_id": p.group_id, "error": p.error}

    def waiters(self, key: PublicationKey) -> tuple[tuple[str, str], ...]:
        current = self.publications.get(key)
        return current.value.waiters if current else ()

    def finish(
        self,
        key: PublicationKey,
        attempt: int,
        *,
        app_id: str | None = None,
        group_id: str | None = None,
        error: dict[str, str] | None = None,
    ) -> Publication:
        """Mark this attempt published or failed (a later attempt's row is left alone)."""

        def change(p: Publication) -> Publication | None:
            if p.attempt != attempt or p.state != PUBLISHING:
                return None
            if error is not None:
                return replace(p, state=FAILED, error=error)
            return replace(p, state=PUBLISHED, app_id=app_id, group_id=group_id, error=None)

        return self.publications.modify(key, change)
