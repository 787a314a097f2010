"""CKV_GL_RBAC_1: a role assignment has a deterministic guid(...) name (so a redeploy updates it instead of
failing with RoleAssignmentExists) and states its principalType (so a just-created identity that Entra has not
replicated yet does not fail the deployment with PrincipalNotFound)."""

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class RoleAssignmentShape(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Role assignments are named with guid() and declare principalType",
            id="CKV_GL_RBAC_1",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Authorization/roleAssignments",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if "condition" in conf and isinstance(conf.get("config"), dict):
            conf = conf["config"]  # `resource x '...' = if (...) {...}`: the body sits under "config"
        name = conf.get("name")
        # pycep parses `guid(a, b, c)` into {"function": {"type": "guid", ...}}; a literal name arrives as a string.
        if not (isinstance(name, dict) and (name.get("function") or {}).get("type") == "guid"):
            return CheckResult.FAILED
        props = conf.get("properties") or {}
        if not props.get("principalType"):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = RoleAssignmentShape()
