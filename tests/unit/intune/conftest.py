"""Paths to the Intune test data (real Microsoft-made .intunewin samples and WinGet manifests, MIT)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "intune"
SAMPLES = ("volodymyrsmirnov_IntuneWin__sample.intunewin", "redanthrax_intunewinlib__AESetup.intunewin")


@pytest.fixture(scope="session")
def intune_data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def expected_values() -> dict:
    return json.loads((DATA / "expected_values.json").read_text())
