"""CKV_GL_FLEX_1: a function app on Flex Consumption sets none of the site properties Flex rejects or ignores
(docs/reference/azure-deployment.md §2.4) and declares its runtime in functionAppConfig."""

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

FLEX_UNSUPPORTED_SITE_CONFIG = (
    "alwaysOn",
    "ftpsState",
    "linuxFxVersion",
    "functionAppScaleLimit",
    "preWarmedInstanceCount",
    "use32BitWorkerProcess",
    "vnetRouteAllEnabled",
    "vnetImagePullEnabled",
    "vnetContentShareEnabled",
)


class FlexSiteShape(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Flex Consumption function app avoids unsupported site properties and pins its runtime",
            id="CKV_GL_FLEX_1",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("Microsoft.Web/sites",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if "condition" in conf and isinstance(conf.get("config"), dict):
            conf = conf["config"]  # conditional resource: the body sits under "config"
        props = conf.get("properties") or {}
        function_config = props.get("functionAppConfig")
        if not isinstance(function_config, dict):
            return CheckResult.UNKNOWN  # not a Flex app: nothing to say
        site_config = props.get("siteConfig") or {}
        if any(key in site_config or key in props for key in FLEX_UNSUPPORTED_SITE_CONFIG):
            return CheckResult.FAILED
        runtime = function_config.get("runtime") or {}
        if not runtime.get("name") or not runtime.get("version"):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = FlexSiteShape()
