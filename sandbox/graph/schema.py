"""Strict request-body validation, the way Graph answers: an unknown property or a wrong type is a 400.

Property lists follow docs-contrib `api-reference/{beta,v1.0}/resources/intune-apps-win32lobapp*.md` (see the format
reference §2.2–2.3, §2.8). Beta-only properties are rejected on v1.0, as Graph does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class BodyError(ValueError):
    """Becomes a Graph `BadRequest` error with this message."""


Validator = Callable[[Any, str], None]


def _string(value: Any, where: str) -> None:
    if value is not None and not isinstance(value, str):
        raise BodyError(f"{where}: expected a string")


def _required_string(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise BodyError(f"{where}: a non-empty string is required")


def _bool(value: Any, where: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise BodyError(f"{where}: expected true or false")


def _int(value: Any, where: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise BodyError(f"{where}: expected an integer")


def _enum(*allowed: str) -> Validator:
    def check(value: Any, where: str) -> None:
        if value is not None and value not in allowed:
            raise BodyError(f"{where}: {value!r} is not one of {', '.join(allowed)}")

    return check


def _flags(*allowed: str) -> Validator:
    def check(value: Any, where: str) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not all(part.strip() in allowed for part in value.split(",")):
            raise BodyError(f"{where}: {value!r} must be a comma list of {', '.join(allowed)}")

    return check


def _string_list(value: Any, where: str) -> None:
    if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise BodyError(f"{where}: expected a list of strings")


def _object(fields: dict[str, Validator], odata_type: str | None = None, required: tuple[str, ...] = ()) -> Validator:
    def check(value: Any, where: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise BodyError(f"{where}: expected an object")
        validate_object(value, fields, where, odata_type=odata_type, required=required)

    return check


def validate_object(
    body: dict[str, Any],
    fields: dict[str, Validator],
    where: str,
    *,
    odata_type: str | None = None,
    required: tuple[str, ...] = (),
) -> None:
    for key, value in body.items():
        if key == "@odata.type":
            if odata_type is not None and value != odata_type:
                raise BodyError(f"{where}: @odata.type must be {odata_type}, got {value!r}")
            continue
        if key not in fields:
            raise BodyError(f"{where}: Property '{key}' does not exist on type '{odata_type or where}'")
        fields[key](value, f"{where}.{key}")
    for key in required:
        if body.get(key) in (None, "", []):
            raise BodyError(f"{where}: '{key}' is required")


_OPERATOR = _enum(
    "notConfigured", "equal", "notEqual", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual"
)
_RULE_TYPE = _enum("detection", "requirement")
_RULES: dict[str, dict[str, Validator]] = {
    "#microsoft.graph.win32LobAppProductCodeRule": {
        "ruleType": _RULE_TYPE,
        "productCode": _required_string,
        "productVersionOperator": _OPERATOR,
        "productVersion": _string,
    },
    "#microsoft.graph.win32LobAppRegistryRule": {
        "ruleType": _RULE_TYPE,
        "check32BitOn64System": _bool,
        "keyPath": _required_string,
        "valueName": _string,
        "operationType": _enum("notConfigured", "exists", "doesNotExist", "string", "integer", "version"),
        "operator": _OPERATOR,
        "comparisonValue": _string,
    },
    "#microsoft.graph.win32LobAppFileSystemRule": {
        "ruleType": _RULE_TYPE,
        "check32BitOn64System": _bool,
        "path": _required_string,
        "fileOrFolderName": _required_string,
        "operationType": _enum(
            "notConfigured", "exists", "modifiedDate", "createdDate", "version", "sizeInMB", "doesNotExist"
        ),
        "operator": _OPERATOR,
        "comparisonValue": _string,
    },
    "#microsoft.graph.win32LobAppPowerShellScriptRule": {
        "ruleType": _RULE_TYPE,
        "displayName": _string,
        "enforceSignatureCheck": _bool,
        "runAs32Bit": _bool,
        "runAsAccount": _enum("system", "user"),
        "scriptContent": _required_string,
        "operationType": _enum("notConfigured", "string", "dateTime", "integer", "float", "version", "boolean"),
        "operator": _OPERATOR,
        "comparisonValue": _string,
    },
}


def _rules(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise BodyError(f"{where}: expected a list of rules")
    kinds: list[tuple[str, str]] = []
    for index, rule in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(rule, dict) or rule.get("@odata.type") not in _RULES:
            raise BodyError(f"{at}: @odata.type must be one of {', '.join(_RULES)}")
        validate_object(rule, _RULES[rule["@odata.type"]], at, odata_type=rule["@odata.type"], required=("ruleType",))
        if rule["ruleType"] == "requirement" and rule["@odata.type"].endswith("ProductCodeRule"):
            raise BodyError(f"{at}: a product code rule cannot be a requirement rule")
        kinds.append((rule["ruleType"], rule["@odata.type"]))
    detection = [kind for rule_type, kind in kinds if rule_type == "detection"]
    scripts = [kind for kind in detection if kind.endswith("PowerShellScriptRule")]
    if scripts and len(detection) > 1:
        raise BodyError(f"{where}: a script detection rule cannot be combined with other detection rules")


def _legacy_rules(value: Any, where: str) -> None:
    """Legacy beta lists (win32LobAppProductCodeDetection, ...): checked for shape only."""
    if value is None:
        return
    if not isinstance(value, list) or not all(
        isinstance(rule, dict) and str(rule.get("@odata.type", "")).startswith("#microsoft.graph.win32LobApp")
        for rule in value
    ):
        raise BodyError(f"{where}: expected a list of win32LobApp rule objects")


_RETURN_CODES_ITEM = _object(
    {"returnCode": _int, "type": _enum("success", "softReboot", "hardReboot", "retry", "failed")},
    "#microsoft.graph.win32LobAppReturnCode",
    required=("type",),
)


def _return_codes(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise BodyError(f"{where}: expected a list")
    for index, item in enumerate(value):
        _RETURN_CODES_ITEM(item, f"{where}[{index}]")
        if not isinstance(item, dict) or not isinstance(item.get("returnCode"), int):
            raise BodyError(f"{where}[{index}].returnCode is required")


_WINDOWS_RELEASES = (
    "1607", "1703", "1709", "1803", "1809", "1903", "1909", "2004", "2H20", "21H1",
    "Windows10_21H2", "Windows10_22H2", "Windows11_21H2", "Windows11_22H2", "Windows11_23H2", "Windows11_24H2",
)  # fmt: skip

WIN32_V1 = {
    "displayName": _required_string,
    "description": _string,
    "publisher": _required_string,
    "largeIcon": _object(
        {"type": _required_string, "value": _required_string}, "#microsoft.graph.mimeContent", required=("value",)
    ),
    "isFeatured": _bool,
    "privacyInformationUrl": _string,
    "informationUrl": _string,
    "owner": _string,
    "developer": _string,
    "notes": _string,
    "roleScopeTagIds": _string_list,
    "committedContentVersion": _string,
    "fileName": _string,
    "size": _int,
    "installCommandLine": _string,
    "uninstallCommandLine": _string,
    "applicableArchitectures": _flags("none", "x86", "x64", "arm", "neutral", "arm64"),
    "minimumFreeDiskSpaceInMB": _int,
    "minimumMemoryInMB": _int,
    "minimumNumberOfProcessors": _int,
    "minimumCpuSpeedInMHz": _int,
    "rules": _rules,
    "installExperience": _object(
        {
            "runAsAccount": _enum("system", "user"),
            "deviceRestartBehavior": _enum("basedOnReturnCode", "allow", "suppress", "force"),
            "maxRunTimeInMinutes": _int,
        },
        "#microsoft.graph.win32LobAppInstallExperience",
    ),
    "returnCodes": _return_codes,
    "msiInformation": _object(
        {
            "productCode": _string,
            "productVersion": _string,
            "upgradeCode": _string,
            "requiresReboot": _bool,
            "packageType": _enum("perMachine", "perUser", "dualPurpose"),
            "productName": _string,
            "publisher": _string,
        },
        "#microsoft.graph.win32LobAppMsiInformation",
    ),
    "setupFilePath": _string,
    "minimumSupportedWindowsRelease": _enum(*_WINDOWS_RELEASES),
}
WIN32_BETA = {
    **WIN32_V1,
    "displayVersion": _string,
    "allowAvailableUninstall": _bool,
    "allowedArchitectures": _flags("none", "x86", "x64", "arm64"),
    "minimumSupportedOperatingSystem": _object(
        {f"v10_{r}": _bool for r in ("1607", "1703", "1709", "1803", "1809", "1903", "1909", "2004", "2H20", "21H1")}
    ),
    "detectionRules": lambda value, where: _legacy_rules(value, where),
    "requirementRules": lambda value, where: _legacy_rules(value, where),
}
_READ_ONLY = ("id", "createdDateTime", "lastModifiedDateTime", "publishingState", "isAssigned", "uploadState")
WIN32_TYPE = "#microsoft.graph.win32LobApp"
_CREATE_REQUIRED = (
    "displayName",
    "publisher",
    "fileName",
    "setupFilePath",
    "installCommandLine",
    "uninstallCommandLine",
)


def validate_win32_app(body: Any, *, beta: bool, create: bool) -> None:
    if not isinstance(body, dict):
        raise BodyError("the request body must be a JSON object")
    if body.get("@odata.type") != WIN32_TYPE:
        raise BodyError(f"@odata.type must be {WIN32_TYPE}")
    for key in _READ_ONLY:
        if key in body:
            raise BodyError(f"Property '{key}' is read-only")
    fields = WIN32_BETA if beta else WIN32_V1
    validate_object(body, fields, "win32LobApp", odata_type=WIN32_TYPE, required=_CREATE_REQUIRED if create else ())
    if create:
        rules = body.get("rules") or []
        if not any(rule.get("ruleType") == "detection" for rule in rules) and not body.get("detectionRules"):
            raise BodyError("win32LobApp: at least one detection rule is required")
        if body.get("allowedArchitectures") and body.get("applicableArchitectures") not in (None, "none"):
            raise BodyError("applicableArchitectures must be 'none' when allowedArchitectures is set")


CONTENT_FILE = {
    "name": _required_string,
    "size": _int,
    "sizeEncrypted": _int,
    "sizeInBytes": _int,
    "sizeEncryptedInBytes": _int,
    "manifest": _string,
    "isDependency": _bool,
}
ASSIGNMENT_TARGETS = {
    "#microsoft.graph.groupAssignmentTarget": {
        "groupId": _required_string,
        "deviceAndAppManagementAssignmentFilterId": _string,
        "deviceAndAppManagementAssignmentFilterType": _enum("none", "include", "exclude"),
    },
    "#microsoft.graph.exclusionGroupAssignmentTarget": {
        "groupId": _required_string,
        "deviceAndAppManagementAssignmentFilterId": _string,
        "deviceAndAppManagementAssignmentFilterType": _enum("none", "include", "exclude"),
    },
    "#microsoft.graph.allLicensedUsersAssignmentTarget": {
        "deviceAndAppManagementAssignmentFilterId": _string,
        "deviceAndAppManagementAssignmentFilterType": _enum("none", "include", "exclude"),
    },
    "#microsoft.graph.allDevicesAssignmentTarget": {
        "deviceAndAppManagementAssignmentFilterId": _string,
        "deviceAndAppManagementAssignmentFilterType": _enum("none", "include", "exclude"),
    },
}
_SETTINGS = _object(
    {
        "notifications": _enum("showAll", "showReboot", "hideAll"),
        "restartSettings": _object(
            {
                "gracePeriodInMinutes": _int,
                "countdownDisplayBeforeRestartInMinutes": _int,
                "restartNotificationSnoozeDurationInMinutes": _int,
            },
            "#microsoft.graph.win32LobAppRestartSettings",
        ),
        "installTimeSettings": _object(
            {"useLocalTime": _bool, "startDateTime": _string, "deadlineDateTime": _string},
            "#microsoft.graph.mobileAppInstallTimeSettings",
        ),
        "deliveryOptimizationPriority": _enum("notConfigured", "foreground"),
        "autoUpdateSettings": _object(
            {"autoUpdateSupersededAppsState": _enum("notConfigured", "enabled")},
            "#microsoft.graph.win32LobAppAutoUpdateSettings",
        ),
    },
    "#microsoft.graph.win32LobAppAssignmentSettings",
)


def validate_assignment(body: Any, where: str) -> None:
    if not isinstance(body, dict):
        raise BodyError(f"{where}: expected an object")
    target = body.get("target")
    if not isinstance(target, dict) or target.get("@odata.type") not in ASSIGNMENT_TARGETS:
        raise BodyError(f"{where}.target: @odata.type must be one of {', '.join(ASSIGNMENT_TARGETS)}")
    fields: dict[str, Validator] = {
        "id": _string,
        "intent": _enum("required", "available", "uninstall", "availableWithoutEnrollment"),
        "source": _enum("direct", "policySets"),
        "sourceId": _string,
        "target": lambda value, at: validate_object(
            value, ASSIGNMENT_TARGETS[value["@odata.type"]], at, odata_type=value["@odata.type"]
        ),
        "settings": _SETTINGS,
    }
    validate_object(body, fields, where, odata_type="#microsoft.graph.mobileAppAssignment", required=("intent",))
    if target["@odata.type"].startswith("#microsoft.graph.exclusion") and body.get("settings") is not None:
        raise BodyError(f"{where}: exclusion targets carry settings: null")


GROUP = {
    "displayName": _required_string,
    "description": _string,
    "mailEnabled": _bool,
    "mailNickname": _required_string,
    "securityEnabled": _bool,
    "groupTypes": _string_list,
    "isAssignableToRole": _bool,
}
