"""JSON Schemas of the API's bodies: the same documents validate requests and feed /api/openapi.json.

Two rules make the validator mean what the published document says:
- `pattern` is a whole-value match. JSON Schema patterns are ECMA-262, where `$` is the end of the string; Python's
  `re.search` lets `$` match before a final newline, which stored `7zip.7zip\n`. Every pattern here is anchored
  (`^...$`), so a full match is exactly its ECMA meaning.
- Free text carries a format, checked (not only annotated): `single-line-text` refuses control characters and
  unpaired surrogates; `multiline-text` allows tab and newline besides. OpenAPI lists both under
  `x-formats` with what they refuse.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from greenlight.identifiers import is_multiline_text, is_single_line_text

SINGLE_LINE_TEXT = "single-line-text"
MULTILINE_TEXT = "multiline-text"
FORMATS = {
    SINGLE_LINE_TEXT: "a string without control characters (U+0000-U+001F, U+007F-U+009F) or unpaired surrogates",
    MULTILINE_TEXT: "a string without control characters other than tab and newline, nor unpaired surrogates",
}

_ID = {"type": "string", "minLength": 1, "maxLength": 128, "format": SINGLE_LINE_TEXT}
_LINE = {"type": "string", "format": SINGLE_LINE_TEXT}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_OBJECT_ID = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
_STATUSES = [
    "Submitted",
    "PendingApproval",
    "Approved",
    "Publishing",
    "Published",
    "Completed",
    "Rejected",
    "Expired",
    "Cancelled",
    "Failed",
]

SCHEMAS: dict[str, dict[str, Any]] = {
    "CreateRequest": {
        "type": "object",
        "description": "Ask for a WinGet package to be published to your devices.",
        "required": ["package_id", "justification"],
        "additionalProperties": False,
        "properties": {
            "package_id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$",
                "description": "WinGet package identifier, e.g. 7zip.7zip",
            },
            "package_version": {
                "type": ["string", "null"],
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
                "description": "omit or null for the latest version",
            },
            "architecture": {
                "enum": ["x64", "x86", "arm64"],
                "description": "omit to use the most common architecture of the requester's Intune-managed devices",
            },
            "scope": {"enum": ["machine", "user"], "default": "machine"},
            "justification": {"type": "string", "minLength": 1, "maxLength": 500, "format": MULTILINE_TEXT},
            "on_behalf_of": {
                "type": "object",
                "description": "Admin callers only: the user the request is for",
                "required": ["oid", "name"],
                "additionalProperties": False,
                "properties": {"oid": _ID, "name": {**_LINE, "minLength": 1, "maxLength": 256}},
            },
        },
    },
    "Request": {
        "type": "object",
        "required": ["request_id", "status", "package_id", "requester_oid", "created_at", "updated_at"],
        "properties": {
            "request_id": _ID,
            "tenant_id": _ID,
            "requester_oid": _ID,
            "requester_name": {"type": "string"},
            "package_id": {"type": "string"},
            "package_version": {"type": ["string", "null"]},
            "architecture": {"type": "string"},
            "scope": {"type": "string"},
            "justification": {"type": "string"},
            "status": {"enum": _STATUSES},
            "stage": {"type": "integer"},
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
            "error": {
                "type": ["object", "null"],
                "description": "why the request failed",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "progress": {
                "type": ["object", "null"],
                "description": "how far the workflow got",
                "properties": {
                    "stage": {"type": "string"},
                    "percent": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                    "message": {"type": "string"},
                },
            },
            "app_id": {"type": ["string", "null"], "description": "the Intune app, once published"},
            "approval": {
                "type": ["object", "null"],
                "description": "while pending: the current stage of the approval plan and whom it waits on",
                "properties": {
                    "stage": {"type": "integer", "description": "position in the plan, from 0"},
                    "stages": {"type": "integer"},
                    "name": {"type": "string"},
                    "rule": {"enum": ["any", "all"]},
                    "approvers": {"type": "array", "items": {"type": "string"}},
                    "waiting_on": {"type": "array", "items": {"type": "string"}},
                    "escalated": {"type": "boolean"},
                },
            },
        },
    },
    "DecisionInput": {
        "type": "object",
        "description": "An approver's decision on a request.",
        "required": ["verdict"],
        "additionalProperties": False,
        "properties": {
            "verdict": {"enum": ["approve", "reject"]},
            "comment": {"type": "string", "maxLength": 300, "description": "shown to the requester"},
        },
    },
    "Decision": {
        "type": "object",
        "required": ["request_id", "stage", "verdict", "approver_oid", "decided_at"],
        "properties": {
            "request_id": _ID,
            "stage": {"type": "integer"},
            "verdict": {"enum": ["approved", "rejected"]},
            "approver_oid": _ID,
            "approver_name": {"type": "string"},
            "comment": {"type": "string"},
            "decided_at": _TIMESTAMP,
            "status": {"enum": _STATUSES, "description": "the request's status after the decision"},
        },
    },
    "RequestPage": {
        "type": "object",
        "required": ["items", "continuation"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Request"}},
            "continuation": {"type": ["string", "null"], "description": "pass as ?continuation= for the next page"},
        },
    },
    "AuditPage": {
        "type": "object",
        "required": ["month", "items", "continuation"],
        "properties": {
            "month": {"type": "string", "pattern": "^[0-9]{6}$"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["entry_id", "occurred_at", "actor", "action", "entity", "details"],
                    "properties": {
                        "entry_id": {"type": "string"},
                        "occurred_at": _TIMESTAMP,
                        "actor": {"type": "string"},
                        "action": {"type": "string"},
                        "entity": {"type": "string"},
                        "details": {"type": "object"},
                    },
                },
            },
            "continuation": {"type": ["string", "null"]},
        },
    },
    "Policy": {
        "type": "object",
        "description": "An approval policy: ordered stages, auto-approval, blocking and time limits.",
        "additionalProperties": False,
        "properties": {
            "stages": {
                "type": "array",
                "maxItems": 10,
                "items": {
                    "type": "object",
                    "required": ["name", "approvers"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 80},
                        "approvers": {
                            "type": "object",
                            "additionalProperties": False,
                            "description": "manager: the requester's manager; users/groups are then the fallback",
                            "properties": {
                                "users": {"type": "array", "maxItems": 100, "items": _OBJECT_ID},
                                "groups": {"type": "array", "maxItems": 20, "items": _OBJECT_ID},
                                "manager": {"type": "boolean"},
                            },
                        },
                        "rule": {"enum": ["any", "all"], "default": "any"},
                        "applies_if": {
                            "type": "object",
                            "description": "the stage applies only when the requester is (not) in the group",
                            "minProperties": 1,
                            "maxProperties": 1,
                            "additionalProperties": False,
                            "properties": {"requester_in_group": _OBJECT_ID, "requester_not_in_group": _OBJECT_ID},
                        },
                    },
                },
            },
            "auto_approve": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "always": {"type": "boolean"},
                    "requester_groups": {"type": "array", "maxItems": 20, "items": _OBJECT_ID},
                },
            },
            "blocked": {"type": "boolean", "description": "nobody may request the package"},
            "reminder_hours": {"type": ["integer", "null"], "minimum": 1, "maximum": 720},
            "escalate_after_hours": {"type": ["integer", "null"], "minimum": 1, "maximum": 2160},
            "escalate_to": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "users": {"type": "array", "maxItems": 100, "items": _OBJECT_ID},
                    "groups": {"type": "array", "maxItems": 20, "items": _OBJECT_ID},
                },
            },
            "expire_after_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 365},
        },
    },
    "PolicyView": {
        "type": "object",
        "required": ["package_id", "policy", "updated_at", "etag"],
        "properties": {
            "package_id": {"type": "string", "description": "a WinGet package id, or * for the tenant default"},
            "policy": {"type": "object", "description": "the canonical Policy document"},
            "updated_at": _TIMESTAMP,
            "etag": {"type": "string", "description": "send as If-Match to change or delete it"},
            "warnings": {
                "type": "array",
                "items": {"type": "string"},
                "description": "after a save: approver lists whose groups hold more people today than one stage may "
                "ask (100; their requests would fail too_many_approvers), each naming its field path",
            },
        },
    },
    "PolicyList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/PolicyView"}}},
    },
    "Health": {
        "type": "object",
        "required": ["status", "version", "components"],
        "properties": {
            "status": {"enum": ["ok", "down"]},
            "version": {"type": "string"},
            "components": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"enum": ["up", "down"]}, "detail": {"type": "string"}},
                },
            },
        },
    },
    "Problem": {
        "type": "object",
        "description": "RFC 7807 problem details (application/problem+json)",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "correlationId": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def _full_match_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_format_checker = FormatChecker()
_format_checker.checks(SINGLE_LINE_TEXT)(is_single_line_text)
_format_checker.checks(MULTILINE_TEXT)(is_multiline_text)
_Validator = validators.extend(Draft202012Validator, {"pattern": _full_match_pattern})


def validator_for(schema: dict[str, Any]) -> Any:
    """A validator with this module's meaning of `pattern` and of the text formats."""
    return _Validator(schema, format_checker=_format_checker)


_validators = {name: validator_for(schema) for name, schema in SCHEMAS.items() if "$ref" not in str(schema)}


def validate_body(schema_name: str, body: Any) -> list[str]:
    """Every violation as `path: message` (empty when valid)."""
    validator = _validators[schema_name]
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}" for e in errors]
