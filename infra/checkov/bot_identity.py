"""CKV_GL_BOT_1: the Azure Bot authenticates as a managed identity or single tenant, never multi-tenant, and
refuses local (key) auth. Multi-tenant bot creation is deprecated, and a secret-based bot would need a password."""

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

_ALLOWED_APP_TYPES = ("UserAssignedMSI", "SingleTenant")


class BotServiceIdentity(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Azure Bot uses a user-assigned managed identity (or single tenant) and disables local auth",
            id="CKV_GL_BOT_1",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.BotService/botServices",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if "condition" in conf and isinstance(conf.get("config"), dict):
            conf = conf["config"]  # conditional resource: the body sits under "config"
        props = conf.get("properties") or {}
        if str(props.get("msaAppType", "MultiTenant")) not in _ALLOWED_APP_TYPES:
            return CheckResult.FAILED
        if str(props.get("disableLocalAuth", "false")).lower() != "true":
            return CheckResult.FAILED
        return CheckResult.PASSED


check = BotServiceIdentity()
