"""Every card builder: valid against the official Adaptive Card 1.5 schema and within the 28 KB budget,
with realistic long names and with adversarially long inputs."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest

from bot.cards import (
    CARD_BUDGET_BYTES,
    CardTooLarge,
    Progress,
    approval_card,
    card_size,
    decided_card,
    ensure_within_budget,
    request_form_card,
    request_list_card,
    request_status_card,
    search_results_card,
)
from bot.cards.stage import StageView
from greenlight.models import Decision, Request, RequestStatus
from tests.unit.bot.card_schema import schema_errors

LONG_NAME = "Microsoft Visual Studio Enterprise 2022 (Preview) — Long-Term Servicing Channel, Arm64 and x64 Hosts"
LONG_ID = "Microsoft.VisualStudio.2022.Enterprise.Preview.LongTermServicingChannel"
LONG_PUBLISHER = "Microsoft Corporation (Developer Division, Redmond, Washington, United States)"
LONG_PERSON = "Bartholomew Alexander Montgomery-Fitzgerald Ōkubo-Søndergaard"
JUSTIFICATION = (
    "I maintain the native build of our Windows client (C++/WinRT, ~2M lines) and need the Enterprise edition's "
    "IntelliTrace and code-map features to investigate the crash in the printing subsystem reported by three "
    "customers this week; the Community edition is not licensed for commercial use in our organisation. "
) * 2
HUGE = "Ж" * 20_000  # far past any clip limit, multi-byte in UTF-8


@dataclass(frozen=True)
class Entry:
    package_id: str
    name: str
    publisher: str
    version: str
    moniker: str | None = None


def make_request(**changes) -> Request:
    base = dict(
        tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
        request_id="9f6c2d1e4b3a48d9a1c0e7f5b2d4c6a8",
        requester_oid="1d5e4c3b-2a19-4f8e-9d7c-6b5a4e3d2c1b",
        requester_name=LONG_PERSON,
        package_id=LONG_ID,
        package_version="17.14.36203.30-preview.7.0",
        architecture="arm64",
        scope="machine",
        justification=JUSTIFICATION,
        status=RequestStatus.PENDING_APPROVAL,
        created_at=dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC),
        updated_at=dt.datetime(2026, 11, 22, 9, 31, tzinfo=dt.UTC),
    )
    base.update(changes)
    return Request(**base)


def make_decision(verdict: str = "approved", **changes) -> Decision:
    base = dict(
        request_id="9f6c2d1e4b3a48d9a1c0e7f5b2d4c6a8",
        stage=0,
        approver_oid="8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
        approver_name="Anastasia Konstantinopoulou-Vanderbilt",
        verdict=verdict,
        comment="Approved for the printing investigation; please uninstall the preview when the fix has shipped.",
        decided_at=dt.datetime(2026, 11, 22, 10, 5, tzinfo=dt.UTC),
    )
    base.update(changes)
    return Decision(**base)


ENTRIES = [Entry(f"{LONG_ID}.{i}", f"{LONG_NAME} #{i}", LONG_PUBLISHER, f"17.14.{i}.0") for i in range(25)]
HUGE_ENTRY = Entry("Huge.Package", HUGE, HUGE, HUGE)

BUILDERS = {
    "search results (25 long matches)": lambda: search_results_card("visual studio enterprise preview", ENTRIES),
    "search results (none)": lambda: search_results_card("no such thing", []),
    "search results (huge texts)": lambda: search_results_card(HUGE, [HUGE_ENTRY] * 12),
    "request form": lambda: request_form_card(ENTRIES[0], description="An IDE. " * 40),
    "request form with error": lambda: request_form_card(ENTRIES[0], error="Keep the justification short. " * 20),
    "request form (huge texts)": lambda: request_form_card(HUGE_ENTRY, description=HUGE, error=HUGE),
    "approval": lambda: approval_card(make_request()),
    "approval (huge texts)": lambda: approval_card(
        make_request(requester_name=HUGE, justification=HUGE, package_version=HUGE), notice=HUGE
    ),
    "decided: approved": lambda: decided_card(make_request(status=RequestStatus.APPROVED), make_decision()),
    "decided: rejected, huge comment": lambda: decided_card(
        make_request(status=RequestStatus.REJECTED), make_decision("rejected", comment=HUGE, approver_name=HUGE)
    ),
    "status with progress": lambda: request_status_card(
        make_request(status=RequestStatus.PUBLISHING),
        Progress.from_dict({"stage": "Uploading to Intune", "percent": 62, "message": "Block 31 of 50 " * 10}),
    ),
    "status at 0% and decision": lambda: request_status_card(
        make_request(), Progress("Queued", 0, ""), decision=make_decision()
    ),
    "status without a percent": lambda: request_status_card(
        make_request(status=RequestStatus.PUBLISHING), Progress("Verifying", None, "Checking the signature")
    ),
    "status at 100% with error": lambda: request_status_card(
        make_request(status=RequestStatus.FAILED, error=HUGE), Progress("Done", 100, HUGE)
    ),
    "approval with a stage, huge names": lambda: approval_card(
        make_request(), stage=StageView(HUGE, "all", (HUGE,) * 40, (HUGE,) * 40, True), viewer_name=HUGE
    ),
    "decided: stage 1 of 2, next stage": lambda: decided_card(
        make_request(), make_decision(), stage_label="Stage 1 of 2 (" + HUGE + ")", note=HUGE
    ),
    "status with a stage and Cancel": lambda: request_status_card(
        make_request(), stage=StageView("Stage 2 of 2: IT", "all", (HUGE,) * 3, (HUGE,) * 30), cancellable=True
    ),
    "my requests (40)": lambda: request_list_card("Your requests", [make_request()] * 40, "none"),
    "pending (40, reviewable)": lambda: request_list_card("Waiting", [make_request()] * 40, "none", reviewable=True),
    "pending (empty)": lambda: request_list_card("Waiting", [], "Nothing is waiting.", reviewable=True),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_card_is_valid_adaptive_card_1_5(name: str) -> None:
    card = BUILDERS[name]()
    assert card["version"] == "1.5"
    assert schema_errors(card) == []


@pytest.mark.parametrize("name", list(BUILDERS))
def test_card_fits_the_28_kb_budget(name: str) -> None:
    assert card_size(BUILDERS[name]()) <= CARD_BUDGET_BYTES


def test_schema_check_rejects_an_invalid_card() -> None:
    """The validator is not vacuous: an unknown element and a misspelled property both fail."""
    card = approval_card(make_request())
    card["body"].append({"type": "TextBlok", "text": "typo"})
    assert schema_errors(card)
    card = approval_card(make_request())
    card["actions"][0]["verbb"] = "approve"
    assert schema_errors(card)


def test_budget_guard_refuses_an_oversized_card() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x" * 30_000}]}
    with pytest.raises(CardTooLarge, match="over the 28672-byte budget"):
        ensure_within_budget(card)


def _actions(card: dict) -> list[dict]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Action."):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("body", []))
    walk(card.get("actions", []))
    return [a for a in found if a["type"] == "Action.Execute"]


def test_approval_card_offers_execute_actions_with_submit_fallback_carrying_only_ids() -> None:
    actions = _actions(approval_card(make_request()))
    assert [a["verb"] for a in actions] == ["approve", "reject"]
    for action in actions:  # the stage the card was sent for: a click on an older stage's card is told so
        assert action["data"] == {"verb": action["verb"], "requestId": "9f6c2d1e4b3a48d9a1c0e7f5b2d4c6a8", "stage": 0}
        assert action["fallback"]["type"] == "Action.Submit"
        assert action["fallback"]["data"] == action["data"]


def test_a_stage_view_shows_the_stage_rule_who_else_was_asked_and_whom_it_waits_on() -> None:
    view = StageView("Stage 2 of 2: IT Approvers", "all", ("Isaiah Langer",), ("Adele Vance", "Isaiah Langer"))
    texts = _texts(approval_card(make_request(), stage=view, viewer_name="Adele Vance"))
    assert "Stage 2 of 2: IT Approvers (all of them must approve)" in texts
    assert "Also asked: Isaiah Langer" in texts and "Waiting on: Isaiah Langer" in texts


def test_the_requesters_card_offers_cancel_only_when_cancellable() -> None:
    with_button = _actions(request_status_card(make_request(), cancellable=True))
    assert [(a["verb"], a["data"]) for a in with_button] == [
        ("cancel", {"verb": "cancel", "requestId": "9f6c2d1e4b3a48d9a1c0e7f5b2d4c6a8"})
    ]
    assert _actions(request_status_card(make_request())) == []


def _texts(card: dict) -> list[str]:
    return [item["text"] for item in card["body"] if item.get("type") == "TextBlock"]


def test_decided_card_names_the_approver_and_time_and_has_no_buttons() -> None:
    card = decided_card(make_request(status=RequestStatus.APPROVED), make_decision())
    text = json.dumps(card, ensure_ascii=False)
    assert "Approved by Anastasia Konstantinopoulou-Vanderbilt at 2026-11-22 10:05 UTC" in text
    assert _actions(card) == [] and "actions" not in card


def test_search_results_show_at_most_ten_with_one_request_button_each() -> None:
    card = search_results_card("studio", ENTRIES)
    actions = _actions(card)
    assert [a["data"]["packageId"] for a in actions] == [e.package_id for e in ENTRIES[:10]]
    assert all(a["verb"] == "requestForm" for a in actions)
    assert "Showing the first 10" in json.dumps(card)


def test_progress_bar_widths_follow_the_percent() -> None:
    card = request_status_card(make_request(), Progress.from_dict({"stage": "Upload", "percent": 62}))
    bars = [b for b in card["body"] if b["type"] == "ColumnSet"]
    assert [c["width"] for c in bars[0]["columns"]] == [62, 38]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"stage": "x", "percent": 250, "message": "m"}, Progress("x", 100, "m")),
        ({"stage": "x", "percent": -5}, Progress("x", 0, "")),
        ({"percent": "not a number"}, Progress("", None, "")),
        ({"stage": "Verifying", "percent": None, "message": "m"}, Progress("Verifying", None, "m")),
        (None, None),
        ("Uploading", None),
    ],
)
def test_progress_from_a_stored_row_or_custom_status_is_tolerant(status, expected) -> None:
    assert Progress.from_dict(status) == expected


def test_a_progress_without_percent_shows_no_bar() -> None:
    card = request_status_card(make_request(), Progress("Verifying", None, "Checking the signature"))
    assert not [b for b in card["body"] if b["type"] == "ColumnSet"]
    assert "Verifying" in json.dumps(card) and "Checking the signature" in json.dumps(card)


def test_the_request_form_asks_no_architecture() -> None:
    card = request_form_card(ENTRIES[0])
    assert [i["id"] for i in card["body"] if i["type"].startswith("Input.")] == ["justification"]
