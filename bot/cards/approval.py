"""The approver's card (Approve / Reject with a comment) and the decided card that replaces it everywhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cards.common import Card, adaptive_card, clip, execute_action, facts, heading, text, utc_text
from bot.cards.stage import StageView, stage_lines

if TYPE_CHECKING:
    from greenlight.models import Decision, Request

VERB_APPROVE = "approve"
VERB_REJECT = "reject"
COMMENT_MAX = 300


def _request_facts(request: Request) -> dict:
    return facts(
        [
            ("Requested by", clip(request.requester_name, 80) or "unknown"),
            ("Package", clip(request.package_id, 100)),
            ("Version", clip(request.package_version or "latest", 40)),
            ("Architecture", clip(request.architecture, 20)),
            ("Requested at", utc_text(request.created_at)),
        ]
    )


def approval_card(
    request: Request, notice: str | None = None, stage: StageView | None = None, viewer_name: str | None = None
) -> Card:
    """Approve / Reject for the request's current stage; `stage` shows which stage and who else was asked."""
    body: list[dict] = [
        heading(f"Approval needed: {clip(request.package_id, 100)}"),
        _request_facts(request),
        text("Justification", weight="Bolder", spacing="Medium"),
        text(clip(request.justification, 600) or "(none given)"),
    ]
    if stage is not None:
        body += stage_lines(stage, viewer_name=viewer_name or "")
    if notice:
        body.append(text(clip(notice, 200), color="Attention"))
    body.append(
        {
            "type": "Input.Text",
            "id": "comment",
            "label": "Comment (optional)",
            "placeholder": "Shown to the requester",
            "isMultiline": True,
            "maxLength": COMMENT_MAX,
        }
    )
    data = {"requestId": request.request_id, "stage": request.stage}
    actions = [
        execute_action("Approve", VERB_APPROVE, data, "positive"),
        execute_action("Reject", VERB_REJECT, data, "destructive"),
    ]
    return adaptive_card(body, actions)


def decision_line(decision: Decision) -> str:
    verb = "Approved" if decision.verdict == "approved" else "Rejected"
    return f"{verb} by {clip(decision.approver_name, 80) or 'an approver'} at {utc_text(decision.decided_at)}"


def decided_card(
    request: Request, decision: Decision, *, stage_label: str | None = None, note: str | None = None
) -> Card:
    """No buttons: the same card goes to every approver of the decided stage. `stage_label` names the stage when
    the request has several; `note` says what comes next (the next stage, or whom a stage still waits on)."""
    approved = decision.verdict == "approved"
    outcome = "approved" if approved else "rejected"
    title = f"{clip(stage_label, 80)} {outcome}" if stage_label else outcome
    body: list[dict] = [
        heading(f"{clip(request.package_id, 100)}: {title}"),
        _request_facts(request),
        text(clip(request.justification, 600) or "(no justification)", isSubtle=True),
        text(decision_line(decision), weight="Bolder", color="Good" if approved else "Attention", spacing="Medium"),
    ]
    if decision.comment:
        body.append(text(f"Comment: {clip(decision.comment, COMMENT_MAX)}"))
    if note:
        body.append(text(clip(note, 300), isSubtle=True))
    return adaptive_card(body)
