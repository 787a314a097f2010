"""WinGet unit fixtures: the copied vectors, the optional unlicensed real-source vectors, a test PKI and a
signed source built once per session by the sandbox's builder (no server involved)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

import pytest

from greenlight.winget.trust import CODE_SIGNING_EKU, TrustPolicy, file_policy, microsoft_policy
from sandbox.winget_cdn.builder import BuildOptions, BuiltSource, build_source, read_manifest_tree
from sandbox.winget_cdn.signing import TestPki
from sandbox.winget_cdn.synthetic import sandbox_packages

VECTORS = Path(__file__).resolve().parents[2] / "data" / "winget"
EXPECTED: dict[str, dict] = json.loads((VECTORS / "expected_winget.json").read_text())
SEED = Path(__file__).resolve().parents[3] / "sandbox" / "winget_cdn" / "seed" / "manifests"
# shared/ sits beside the repository (on developers' machines and in CI's clean clone alike).
SHARED_VECTORS = Path(__file__).resolve().parents[4] / "shared" / "data" / "winget"
REAL_SOURCE_DIR = Path(os.environ.get("GREENLIGHT_WINGET_VECTORS", SHARED_VECTORS)) / "real-source-v1"


def vector_policy(**changes: object) -> TrustPolicy:
    """Production roots and checks, minus what only the WinGet source itself has (identity, Store EKU,
    mandatory timestamp) — for verifying arbitrary MSIX test vectors."""
    base = dataclasses.replace(
        microsoft_policy(),
        require_timestamp=False,
        expected_name=None,
        expected_family_name=None,
        leaf_ekus=(CODE_SIGNING_EKU,),
        label="vectors",
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="session")
def real_source_dir() -> Path:
    if not (REAL_SOURCE_DIR / "lyj0309-winget-sync_source.msix").exists():
        pytest.skip(f"real-source-v1 vectors (no licence to copy them) not found in {REAL_SOURCE_DIR}")
    return REAL_SOURCE_DIR


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def pki_root_file(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    path.write_bytes(pki.root_pem())
    return path


@pytest.fixture(scope="session")
def sandbox_policy(pki_root_file: Path) -> TrustPolicy:
    return file_policy(pki_root_file)


@pytest.fixture(scope="session")
def built(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> BuiltSource:
    """The sandbox's source (real seed manifests + synthetic packages), signed now by the test PKI."""
    documents = read_manifest_tree(SEED) + sandbox_packages()
    options = BuildOptions(base_url="https://127.0.0.1:9/winget", signing_time=dt.datetime.now(dt.UTC))
    return build_source(documents, tmp_path_factory.mktemp("source"), pki, options)
