"""What every sandbox sub-application is told about where it lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    base_url: str  # https://127.0.0.1:PORT, no trailing slash
    state_dir: Path  # the sandbox's own files (keys, built sources); under .local/ or a test's tmp dir
    options: dict[str, str] = field(default_factory=dict)  # free-form switches, e.g. from --option k=v

    def url(self, prefix: str, path: str = "") -> str:
        return f"{self.base_url}/{prefix.strip('/')}/{path.lstrip('/')}".rstrip("/")
