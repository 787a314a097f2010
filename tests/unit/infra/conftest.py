"""Shared paths for the infrastructure tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
BICEP_DIR = REPO_ROOT / "infra" / "bicep"
CHECKS_DIR = REPO_ROOT / "infra" / "checkov"
SCRIPTS_DIR = REPO_ROOT / "infra" / "scripts"


@pytest.fixture(scope="session")
def bicep_files() -> dict[str, str]:
    """Every .bicep file under infra/bicep, by path relative to that folder."""
    return {str(p.relative_to(BICEP_DIR)): p.read_text(encoding="utf-8") for p in sorted(BICEP_DIR.rglob("*.bicep"))}
