"""The request form: the package, an architecture choice and a justification, then Submit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cards.common import Card, adaptive_card, clip, execute_action, facts, heading, text

if TYPE_CHECKING:
    from greenlight.winget.catalog import CatalogEntry

VERB_SUBMIT_REQUEST = "submitRequest"
ARCHITECTURES = ("x64", "x86", "arm64")
JUSTIFICATION_MAX = 500


def request_form_card(
    entry: CatalogEntry,
    architectures: Sequence[str] = ARCHITECTURES,
    description: str | None = None,
    error: str | None = None,
) -> Card:
    body: list[dict] = [
        heading(f"Request {clip(entry.name, 80) or entry.package_id}"),
        facts(
            [
                ("Package", clip(entry.package_id, 100)),
                ("Publisher", clip(entry.publisher, 80)),
                ("Version", clip(entry.version, 40)),
            ]
        ),
    ]
    if description:
        body.append(text(clip(description, 400), isSubtle=True))
    if error:
        body.append(text(clip(error, 200), color="Attention"))
    choices = [{"title": arch, "value": arch} for arch in architectures] or [{"title": "x64", "value": "x64"}]
    body += [
        {
            "type": "Input.ChoiceSet",
            "id": "architecture",
            "label": "Architecture",
            "style": "compact",
            "value": choices[0]["value"],
            "choices": choices,
            "isRequired": True,
            "errorMessage": "Choose an architecture",
        },
        {
            "type": "Input.Text",
            "id": "justification",
            "label": "Why do you need it?",
            "placeholder": "What you will use it for, so an approver can decide quickly",
            "isMultiline": True,
            "maxLength": JUSTIFICATION_MAX,
            "isRequired": True,
            "errorMessage": "A short justification is required",
        },
    ]
    actions = [execute_action("Submit request", VERB_SUBMIT_REQUEST, {"packageId": entry.package_id}, "positive")]
    return adaptive_card(body, actions)
