"""Search results: one row per catalog package, each with its own Request button."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cards.common import Card, adaptive_card, clip, execute_action, heading, text

if TYPE_CHECKING:
    from greenlight.winget.catalog import CatalogEntry

MAX_RESULTS = 10
VERB_REQUEST_FORM = "requestForm"


def _row(entry: CatalogEntry) -> dict:
    title = clip(entry.name, 80) or entry.package_id
    details = f"{clip(entry.publisher, 60)} · {clip(entry.package_id, 100)} · {clip(entry.version, 30)}"
    return {
        "type": "ColumnSet",
        "separator": True,
        "spacing": "Medium",
        "columns": [
            {
                "type": "Column",
                "width": "stretch",
                "items": [
                    text(title, weight="Bolder"),
                    text(details, isSubtle=True, size="Small", spacing="None"),
                ],
            },
            {
                "type": "Column",
                "width": "auto",
                "verticalContentAlignment": "Center",
                "items": [
                    {
                        "type": "ActionSet",
                        "actions": [
                            execute_action("Request", VERB_REQUEST_FORM, {"packageId": entry.package_id}),
                        ],
                    }
                ],
            },
        ],
    }


def search_results_card(query: str, entries: Sequence[CatalogEntry]) -> Card:
    """Up to MAX_RESULTS packages; more matches get a hint to narrow the search instead of a longer card."""
    shown = list(entries[:MAX_RESULTS])
    body: list[dict] = [heading(f"Results for “{clip(query, 60)}”")]
    if not shown:
        body.append(text("No packages match. Try a shorter name, the publisher, or the WinGet id (e.g. 7zip.7zip)."))
    body.extend(_row(entry) for entry in shown)
    if len(entries) > MAX_RESULTS:
        body.append(text(f"Showing the first {MAX_RESULTS}. Refine the search to see others.", isSubtle=True))
    return adaptive_card(body)
