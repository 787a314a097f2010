"""The request form: the package and a justification, then Submit.

No architecture choice: the request gets the most common architecture of the requester's Intune-managed devices
(greenlight.requests.devices), which employees rarely know themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cards.common import Card, adaptive_card, clip, execute_action, facts, heading, text
from greenlight.requests.rules import JUSTIFICATION_MAX

if TYPE_CHECKING:
    from greenlight.winget.catalog import CatalogEntry

VERB_SUBMIT_REQUEST = "submitRequest"
__all__ = ["JUSTIFICATION_MAX", "VERB_SUBMIT_REQUEST", "request_form_card"]


def request_form_card(entry: CatalogEntry, description: str | None = None, error: str | None = None) -> Card:
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
    body += [
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
