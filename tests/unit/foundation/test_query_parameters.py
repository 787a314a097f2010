"""functions.query: what each kind of parameter accepts, and that OpenAPI says exactly that (same declaration)."""

from __future__ import annotations

import pytest

from functions.problems import ApiProblem
from functions.query import Boolean, Choice, Integer, Text, parse_query
from functions.schemas import validate_body, validator_for

PAGE = Integer("page_size", 1, 200, default=50)
MONTH = Text("month", 6, 6, pattern="^[0-9]{4}(0[1-9]|1[0-2])$")


@pytest.mark.parametrize("raw", ["²", "2¹", "٣", "１", "+1", "-1", "0", "201", " 5", "1.0", "9" * 5000, "0x10"])
def test_integer_refuses_anything_but_bounded_ascii_digits_naming_the_parameter(raw: str) -> None:
    with pytest.raises(ApiProblem) as refused:
        PAGE.parse(raw)
    assert refused.value.status == 400 and "page_size" in str(refused.value.detail)


@pytest.mark.parametrize(("raw", "value"), [(None, 50), ("", 50), ("1", 1), ("200", 200), ("007", 7)])
def test_integer_accepts_its_range_and_defaults_when_absent(raw: str | None, value: int) -> None:
    assert PAGE.parse(raw) == value


@pytest.mark.parametrize("raw", ["2026¹²", "202613", "2026\n", "202612\n", "２０２６１２"])
def test_a_pattern_is_a_whole_value_match(raw: str) -> None:
    with pytest.raises(ApiProblem, match="month"):
        MONTH.parse(raw)


@pytest.mark.parametrize("raw", ["a\x00", "a\nb", "\x85", "\ud800", "x" * 201])
def test_text_refuses_control_characters_surrogates_and_length(raw: str) -> None:
    with pytest.raises(ApiProblem):
        Text("q").parse(raw)


def test_required_text_refuses_blank_after_stripping() -> None:
    with pytest.raises(ApiProblem, match="q"):
        Text("q", strip=True, required=True).parse("   ")


def test_choice_and_boolean_accept_exactly_their_values() -> None:
    status = Choice("status", ("Submitted", "Approved"))
    assert status.parse("Approved") == "Approved" and status.parse(None) is None
    with pytest.raises(ApiProblem, match="status"):
        status.parse("approved")
    mine = Boolean("mine")
    assert mine.parse("true") is True and mine.parse("false") is False and mine.parse(None) is False
    with pytest.raises(ApiProblem, match="mine"):
        mine.parse("yes")


def test_parse_query_returns_every_declared_parameter_and_ignores_others() -> None:
    assert parse_query({"page_size": "7", "other": "x"}, [PAGE, MONTH]) == {"page_size": 7, "month": None}


@pytest.mark.parametrize(
    ("parameter", "raw", "as_json"),
    [
        (PAGE, "1", 1),
        (PAGE, "200", 200),
        (PAGE, "201", 201),
        (PAGE, "0", 0),
        (MONTH, "202612", "202612"),
        (MONTH, "202613", "202613"),
        (MONTH, "202612\n", "202612\n"),
        (Text("q", 1, 5), "abcde", "abcde"),
        (Text("q", 1, 5), "abcdef", "abcdef"),
    ],
)
def test_openapi_schema_and_parser_agree(parameter, raw: str, as_json) -> None:
    """What the published schema allows is what the parser accepts (pattern as a whole-value match, as ECMA-262
    reads `$`)."""
    schema = parameter.openapi()["schema"]
    published = validator_for(schema).is_valid(as_json)
    try:
        parameter.parse(raw)
        accepted = True
    except ApiProblem:
        accepted = False
    assert accepted == published


def test_body_patterns_are_anchored_so_a_full_match_is_their_published_meaning() -> None:
    from functions.schemas import SCHEMAS

    patterns = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMAS)
    assert patterns and all(p.startswith("^") and p.endswith("$") for p in patterns)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("package_id", "7zip.7zip\n"),
        ("package_version", "1.0\n"),
        ("justification", "a\x00"),
        ("justification", "\udc80"),
    ],
)
def test_body_validator_refuses_final_newlines_and_control_characters(field: str, value: str) -> None:
    errors = validate_body("CreateRequest", {"package_id": "7zip.7zip", "justification": "ok", field: value})
    assert errors and errors[0].startswith(field)
