"""Getting a verified source: fetch (conditional GET by ETag), verify, refuse rollback, extract and open the index.

On disk (`cache_dir`): `source2.msix`, the extracted `index.db` and `state.json` recording what was verified
(source version, ETag, SHA-256 of both files, trust label). A new process re-hashes the files and reuses the
recorded verification only if both hashes and the trust label still match; anything else is verified again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from greenlight.winget import versions
from greenlight.winget.appx import PackageIdentity
from greenlight.winget.errors import MalformedPackage, SourceRollback, SourceStale, WingetError
from greenlight.winget.fetch import CdnClient
from greenlight.winget.index import SourceIndex
from greenlight.winget.msix import INDEX_NAME, MAX_MSIX, VerifiedPackage, verify_msix
from greenlight.winget.shared_cache import SharedSourceCache
from greenlight.winget.trust import TrustPolicy

log = logging.getLogger(__name__)
SOURCE_FILE = "source2.msix"
MAX_INDEX = 256 * 1024 * 1024


@dataclass(frozen=True)
class SourceState:
    version: str
    etag: str | None
    msix_sha256: str
    index_sha256: str
    trust: str
    family_name: str
    signed_at: str | None
    verified_at: str


@dataclass
class OpenSource:
    """A verified source package and its opened index."""

    verified: VerifiedPackage
    index: SourceIndex
    base_url: str | None
    msix_sha256: str
    etag: str | None = None

    @property
    def version(self) -> str:
        return self.verified.identity.version


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verify_and_extract(
    data: bytes, policy: TrustPolicy | None, index_path: Path, *, waive_signature: bool = False
) -> tuple[VerifiedPackage, str]:
    """Verify a source package and write its `Public/index.db` to `index_path` (only if everything passed)."""
    index_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index_path.parent, prefix=".index.")
    digest = hashlib.sha256()
    written = 0
    try:
        with os.fdopen(fd, "wb") as handle:

            def sink(chunk: bytes) -> None:
                nonlocal written
                written += len(chunk)
                if written > MAX_INDEX:
                    raise MalformedPackage(f"{INDEX_NAME} exceeds {MAX_INDEX} bytes")
                digest.update(chunk)
                handle.write(chunk)

            verified = verify_msix(data, policy, sinks={INDEX_NAME: sink}, waive_signature=waive_signature)
        if written == 0:
            raise MalformedPackage(f"source package has no {INDEX_NAME}")
        os.replace(tmp, index_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return verified, digest.hexdigest()


def open_source_file(
    path: Path, policy: TrustPolicy | None, workdir: Path, *, waive_signature: bool = False
) -> OpenSource:
    """Verify a local source package (CLI, tests) and open its index; no rollback state is involved."""
    if path.stat().st_size > MAX_MSIX:
        raise MalformedPackage(f"{path} is larger than {MAX_MSIX} bytes")
    data = path.read_bytes()
    verified, _ = verify_and_extract(data, policy, workdir / "index.db", waive_signature=waive_signature)
    index = SourceIndex(workdir / "index.db")
    index.check_integrity()
    return OpenSource(verified, index, None, hashlib.sha256(data).hexdigest())


class SourceStore:
    """The cached, verified source behind one base URL, with anti-rollback state in `cache_dir`."""

    def __init__(
        self,
        cache_dir: Path,
        policy: TrustPolicy,
        client: CdnClient,
        base_url: str,
        shared: SharedSourceCache | None = None,
        max_age: dt.timedelta | None = None,
    ) -> None:
        self.cache_dir = cache_dir
        self.shared = shared
        self.max_age = max_age  # refuse sources signed longer ago than this (None: no limit)
        self.policy = policy
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.msix_path = cache_dir / SOURCE_FILE
        self.index_path = cache_dir / "index.db"
        self.state_path = cache_dir / "state.json"

    def _stale(self, signed_at: dt.datetime | None) -> bool:
        if self.max_age is None or signed_at is None:
            return False
        return dt.datetime.now(dt.UTC) - signed_at > self.max_age

    def state(self) -> SourceState | None:
        try:
            return SourceState(**json.loads(self.state_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def open_cached(self) -> OpenSource | None:
        """The previously verified source, if its files are intact (re-hashed) and the trust is unchanged."""
        state = self.state()
        if state is None or state.trust != self.policy.label:
            return None
        try:
            if _sha256_file(self.msix_path) != state.msix_sha256 or _sha256_file(self.index_path) != state.index_sha256:
                log.warning("cached WinGet source files changed on disk; verifying again")
                return None
        except OSError:
            return None
        identity = PackageIdentity(state.family_name.split("_")[0], "", state.version, "neutral")
        signed_at = dt.datetime.fromisoformat(state.signed_at) if state.signed_at else None
        if self._stale(signed_at):
            return None
        verified = VerifiedPackage(identity=identity, signed=True, signed_at=signed_at, trust=state.trust)
        return OpenSource(verified, SourceIndex(self.index_path), self.base_url, state.msix_sha256, state.etag)

    def refresh(self, current: OpenSource | None = None) -> OpenSource:
        """Conditional GET; verify a new package, refuse an older one, keep the current one on 304."""
        state = self.state()
        # Conditional GET only when a verified copy is in hand to fall back on for 304 Not Modified.
        etag = state.etag if state is not None and current is not None else None
        fetched = self.client.get(f"{self.base_url}/{SOURCE_FILE}", what=SOURCE_FILE, max_bytes=MAX_MSIX, etag=etag)
        if fetched.content is None and current is not None:
            return current
        if fetched.content is None:  # a 304 we did not ask for
            fetched = self.client.get(f"{self.base_url}/{SOURCE_FILE}", what=SOURCE_FILE, max_bytes=MAX_MSIX)
        assert fetched.content is not None
        return self.accept(fetched.content, fetched.etag, state)

    def accept(self, data: bytes, etag: str | None, state: SourceState | None = None) -> OpenSource:
        state = state if state is not None else self.state()
        staging = self.cache_dir / "staging"
        verified, index_sha = verify_and_extract(data, self.policy, staging / "index.db")
        try:
            staged = SourceIndex(staging / "index.db")  # schema, tables, rows, PRAGMA quick_check
            staged.check_integrity()
            staged.close()
        except WingetError:
            (staging / "index.db").unlink(missing_ok=True)
            raise
        new_version = verified.identity.version
        if self._stale(verified.signed_at):
            (staging / "index.db").unlink(missing_ok=True)
            raise SourceStale(
                f"source version {new_version} was signed at {verified.signed_at.isoformat()}, more than "
                f"{self.max_age.days} days ago; refusing a stale (frozen) source",
                link="source",
            )
        if state is not None and state.family_name == verified.identity.family_name:
            if versions.compare(new_version, state.version) < 0:
                (staging / "index.db").unlink(missing_ok=True)
                raise SourceRollback(
                    f"source version {new_version} is older than the already accepted {state.version}; "
                    "refusing a rollback (replayed or stale source)",
                    link="source",
                )
        msix_sha = hashlib.sha256(data).hexdigest()
        _atomic_write(self.msix_path, data)
        os.replace(staging / "index.db", self.index_path)
        new_state = SourceState(
            version=new_version,
            etag=etag,
            msix_sha256=msix_sha,
            index_sha256=index_sha,
            trust=self.policy.label,
            family_name=verified.identity.family_name,
            signed_at=verified.signed_at.isoformat() if verified.signed_at else None,
            verified_at=dt.datetime.now(dt.UTC).isoformat(),
        )
        _atomic_write(self.state_path, json.dumps(asdict(new_state), indent=1).encode())
        log.info("accepted WinGet source %s (signed %s, trust %s)", new_version, new_state.signed_at, self.policy.label)
        return OpenSource(verified, SourceIndex(self.index_path), self.base_url, msix_sha, etag)

    def adopt_shared(self, current: OpenSource | None) -> OpenSource | None:
        """Take the fleet's shared copy when it is newer than ours, verifying it like a download."""
        if self.shared is None:
            return current
        state = self.state()
        copy = self.shared.newer_than(state.version if state else None)
        if copy is None:
            return current
        try:
            adopted = self.accept(copy.data, f'"{copy.cdn_etag}"' if copy.cdn_etag else None, state)
        except WingetError as error:
            log.error("the shared WinGet source copy %s failed verification and is ignored: %s", copy.version, error)
            return current
        log.info("adopted the shared WinGet source %s", adopted.version)
        return adopted

    def open(self) -> OpenSource:
        """Fresh from the CDN when possible; the verified cached copy when the CDN is unreachable."""
        current = self.adopt_shared(self.open_cached())
        try:
            source = self.refresh(current)
        except WingetError as error:
            if error.code != "unverifiable_retry_later" or current is None:
                raise
            log.warning("WinGet CDN unavailable (%s); using the verified cached source %s", error, current.version)
            return current
        self.publish(source)
        return source

    def publish(self, source: OpenSource) -> None:
        if self.shared is not None and source.verified.signed:
            self.shared.publish(self.msix_path.read_bytes(), source.version, source.etag)
