"""Query parameters: one declaration per parameter both parses the request and describes it in OpenAPI.

    PAGE_SIZE = Integer("page_size", 1, 200, default=50, description="entries per page")
    @api_endpoint(roles=..., query=(PAGE_SIZE, ...))
    def route(req, query): query["page_size"]  # an int from 1 to 200

Every refusal is a 400 problem naming the parameter. Numbers are ASCII digits only (`str.isdigit()` also accepts
`²`, which int() refuses), bounded in length before they are converted; text is bounded and free of control
characters and unpaired surrogates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from functions.problems import ApiProblem
from functions.schemas import SINGLE_LINE_TEXT
from greenlight.identifiers import is_single_line_text

_ASCII_DIGITS = re.compile(r"[0-9]{1,9}")  # nine digits: int() is cheap and exact, and no bound is larger


class QueryParameter:
    """Base of the kinds below: `parse(raw)` returns the value (or the default when absent)."""

    name: str
    description: str
    default: Any

    def parse(self, raw: str | None) -> Any:
        if raw is None or raw == "":
            return self.default
        return self.convert(raw)

    def convert(self, raw: str) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def openapi(self) -> dict[str, Any]:
        required = bool(getattr(self, "required", False))
        document = {
            "name": self.name,
            "in": "query",
            "required": required,
            "description": self.description,
            "schema": self.schema(),
        }
        if not required:
            document["allowEmptyValue"] = True  # `?name=` means the same as leaving it out (see `parse`)
        return document

    def refuse(self, must: str) -> ApiProblem:
        return ApiProblem(400, f"Invalid {self.name}", f"{self.name} must be {must}", "invalid-query")


@dataclass(frozen=True)
class Integer(QueryParameter):
    name: str
    minimum: int
    maximum: int
    default: int | None = None
    description: str = ""

    def convert(self, raw: str) -> int:
        if not _ASCII_DIGITS.fullmatch(raw) or not self.minimum <= int(raw) <= self.maximum:
            raise self.refuse(f"a whole number from {self.minimum} to {self.maximum}")
        return int(raw)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class Choice(QueryParameter):
    name: str
    choices: tuple[str, ...]
    default: str | None = None
    description: str = ""

    def convert(self, raw: str) -> str:
        if raw not in self.choices:
            raise self.refuse(f"one of {', '.join(self.choices)}")
        return raw

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": list(self.choices)}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class Boolean(QueryParameter):
    name: str
    default: bool = False
    description: str = ""

    def convert(self, raw: str) -> bool:
        if raw not in ("true", "false"):
            raise self.refuse("true or false")
        return raw == "true"

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean", "default": self.default}


@dataclass(frozen=True)
class Text(QueryParameter):
    """A single line of text, `min_length` to `max_length` characters, optionally matching `pattern` whole."""

    name: str
    min_length: int = 1
    max_length: int = 200
    pattern: str | None = None
    default: str | None = None
    description: str = ""
    strip: bool = False  # surrounding whitespace is not part of the value (search text)
    required: bool = False

    def parse(self, raw: str | None) -> str | None:
        if raw is not None and self.strip:
            raw = raw.strip()
        if self.required and not raw:
            raise self.refuse(f"given: {self.min_length} to {self.max_length} characters")
        return super().parse(raw)

    def convert(self, raw: str) -> str:
        if not self.min_length <= len(raw) <= self.max_length or not is_single_line_text(raw):
            raise self.refuse(f"{self.min_length} to {self.max_length} characters without control characters")
        if self.pattern is not None and not re.fullmatch(self.pattern, raw):
            raise self.refuse(f"of the form {self.pattern}")
        return raw

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "minLength": self.min_length, "maxLength": self.max_length}
        if self.pattern is not None:
            schema["pattern"] = self.pattern  # a pattern of ASCII classes already rules out control characters
        else:
            schema["format"] = SINGLE_LINE_TEXT
        return schema


def parse_query(params: Mapping[str, str], declared: Iterable[QueryParameter]) -> dict[str, Any]:
    """The declared parameters' values by name; parameters not declared are ignored."""
    return {parameter.name: parameter.parse(params.get(parameter.name)) for parameter in declared}
