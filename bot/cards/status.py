"""Request status: one request with a progress bar, and short lists (`my requests`, `pending`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cards.approval import decision_line
from bot.cards.common import Card, adaptive_card, clip, execute_action, facts, heading, text, utc_text
from bot.cards.stage import StageView, stage_lines
from greenlight.requests.progress import Progress

if TYPE_CHECKING:
    from greenlight.models import Decision, Request

VERB_REVIEW = "review"
VERB_CANCEL = "cancel"
MAX_LIST_ITEMS = 15


def progress_bar(percent: int) -> dict:
    """Adaptive Cards has no progress element: two weighted columns, the done part in the 'good' style."""
    percent = max(0, min(100, percent))
    columns = []
    if percent > 0:
        columns.append({"type": "Column", "width": percent, "style": "good", "minHeight": "8px", "items": []})
    if percent < 100:
        columns.append({"type": "Column", "width": 100 - percent, "style": "emphasis", "minHeight": "8px", "items": []})
    return {"type": "ColumnSet", "spacing": "Small", "columns": columns}


def request_status_card(
    request: Request,
    progress: Progress | None = None,
    decision: Decision | None = None,
    *,
    stage: StageView | None = None,
    cancellable: bool = False,
) -> Card:
    """The requester's card: status, progress, where the approval stands (`stage`), and a Cancel button while the
    request may still be cancelled (`cancellable`: the requester's own card, before publishing starts)."""
    body: list[dict] = [
        heading(f"{clip(request.package_id, 100)} — {request.status}"),
        facts(
            [
                ("Request", request.request_id),
                ("Version", clip(request.package_version or "latest", 40)),
                ("Architecture", clip(request.architecture, 20)),
                ("Updated", utc_text(request.updated_at)),
            ]
        ),
    ]
    if progress is not None:
        percent = f"{progress.percent}%" if progress.percent is not None else ""
        label = " · ".join(p for p in (clip(progress.stage, 60), percent) if p)
        if label:
            body.append(text(label, size="Small", spacing="Medium"))
        if progress.percent is not None:
            body.append(progress_bar(progress.percent))
        if progress.message:
            body.append(text(clip(progress.message, 300), isSubtle=True, size="Small"))
    if decision is not None:
        body.append(text(decision_line(decision), weight="Bolder"))
        if decision.comment:
            body.append(text(f"Comment: {clip(decision.comment, 300)}"))
    if stage is not None:
        body += stage_lines(stage)
    if request.error:
        body.append(text(clip(request.error, 300), color="Attention"))
    actions = []
    if cancellable:
        actions.append(execute_action("Cancel request", VERB_CANCEL, {"requestId": request.request_id}, "destructive"))
    return adaptive_card(body, actions)


def request_list_card(title: str, requests: Sequence[Request], empty_text: str, *, reviewable: bool = False) -> Card:
    """A compact list; approvers' lists (`reviewable`) get a Review button that opens the approval card."""
    body: list[dict] = [heading(title)]
    if not requests:
        body.append(text(empty_text))
    for request in requests[:MAX_LIST_ITEMS]:
        line = f"**{clip(request.package_id, 80)}** — {request.status}"
        sub = f"{clip(request.requester_name, 60)} · {utc_text(request.created_at)} · {request.request_id}"
        items: list[dict] = [text(line), text(sub, isSubtle=True, size="Small", spacing="None")]
        columns: list[dict] = [{"type": "Column", "width": "stretch", "items": items}]
        if reviewable:
            action = execute_action("Review", VERB_REVIEW, {"requestId": request.request_id})
            columns.append(
                {
                    "type": "Column",
                    "width": "auto",
                    "verticalContentAlignment": "Center",
                    "items": [{"type": "ActionSet", "actions": [action]}],
                }
            )
        body.append({"type": "ColumnSet", "separator": True, "columns": columns})
    if len(requests) > MAX_LIST_ITEMS:
        body.append(text(f"…and {len(requests) - MAX_LIST_ITEMS} more.", isSubtle=True))
    return adaptive_card(body)
