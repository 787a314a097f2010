"""One sandbox Graph tenant's local test endpoints (`/graph/_sandbox/...`): fault switches, the directory it plays,
and everything it holds, for assertions. State and switches are per tenant, so each test can have its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SandboxTenant:
    sandbox: Any  # scripts.localstack.SandboxEndpoints
    tenant_id: str

    def _post(self, path: str, body: dict[str, Any]) -> None:
        response = httpx.post(
            f"{self.sandbox.graph_url}/_sandbox/{path}",
            json={"tenant": self.tenant_id, **body},
            verify=str(self.sandbox.ca_file),
        )
        response.raise_for_status()

    def faults(self, **switches: Any) -> None:
        self._post("faults", switches)

    def org(self, **body: Any) -> None:
        """Managers and groups of the directory (`managers={oid: manager}`, `groups={gid: [members]}`, …)."""
        self._post("directory", body)

    def state(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.sandbox.graph_url}/_sandbox/state",
            params={"tenant": self.tenant_id},
            verify=str(self.sandbox.ca_file),
        )
        response.raise_for_status()
        return response.json()

    def calls(self) -> int:
        """Graph calls the tenant has answered so far."""
        return self.state()["faults"]["calls"]
