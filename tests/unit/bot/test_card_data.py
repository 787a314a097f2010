"""bot.card_data: card action values every door would refuse become a 4xx invoke error, never a 500."""

from __future__ import annotations

import pytest

from bot import card_data
from bot.card_data import CardDataError


@pytest.mark.parametrize(
    "data",
    [
        {"requestId": ""},
        {"requestId": "abc/def"},
        {"requestId": "abc#def"},
        {"requestId": "abc\x00"},
        {"requestId": "abc\n"},
        {"requestId": 42},
        {"requestId": ["abc"]},
        {"requestId": {"$ne": ""}},
        {"requestId": "x" * 129},
        {"requestId": "-leading-dash"},
        {},
        None,
        "requestId",
    ],
)
def test_request_ids_no_door_accepts_are_a_400(data) -> None:
    with pytest.raises(CardDataError) as refused:
        card_data.request_id(data)
    status, code, message = refused.value.as_error()
    assert status == 400 and code in ("InvalidRequestId", "MissingValue", "BadRequest") and message


@pytest.mark.parametrize("value", ["0f1e2d3c4b5a49688776a5b4c3d2e1f0", "req-1", "a.b:c_d"])
def test_well_formed_request_ids_pass(value: str) -> None:
    assert card_data.request_id({"requestId": value}) == value


@pytest.mark.parametrize(
    "value", ["../../etc", "..", "a/b", "a\\b", "a b", "7zip.7zip\n", "x" * 129, "a\x00", "\ud800", 7, ""]
)
def test_package_ids_breaking_the_winget_rule_are_a_400(value) -> None:
    with pytest.raises(CardDataError) as refused:
        card_data.package_id({"packageId": value})
    assert refused.value.status == 400


@pytest.mark.parametrize("value", ["7zip.7zip", "Notepad++.Notepad++", "Microsoft.VisualStudioCode"])
def test_winget_identifiers_pass(value: str) -> None:
    assert card_data.package_id({"packageId": value}) == value


def test_text_is_stripped_bounded_and_free_of_control_characters() -> None:
    assert card_data.text({"comment": "  fine  "}, "comment", 300) == "fine"
    assert card_data.text({}, "comment", 300) == ""
    assert card_data.text({"justification": "a\nb"}, "justification", 2000, multiline=True) == "a\nb"
    for bad, kwargs in [
        ({"comment": "a\nb"}, {}),
        ({"comment": "x" * 301}, {}),
        ({"comment": 5}, {}),
        ({"justification": "a\x00"}, {"multiline": True}),
        ({}, {"required": True}),
    ]:
        name = next(iter(bad), "comment")
        with pytest.raises(CardDataError):
            card_data.text(bad, name, 300, **kwargs)
