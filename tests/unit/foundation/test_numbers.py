"""Numbers from outside (headers, manifests): digits that str.isdigit() accepts but int() refuses are no crash."""

from __future__ import annotations

import pytest

from greenlight.graph.client import retry_after_seconds
from greenlight.intune.mapping import windows_release
from greenlight.numbers import ascii_int, declares_more_than, is_ascii_number


@pytest.mark.parametrize("text", ["²", "1²", "١٢", "１２", "-1", "+1", " 1", "", "1" * 19])
def test_only_bounded_ascii_digits_are_numbers(text: str) -> None:
    assert not is_ascii_number(text) and ascii_int(text) is None


def test_ascii_numbers_read_as_ints() -> None:
    assert ascii_int("007") == 7 and ascii_int("9" * 18) == int("9" * 18)


@pytest.mark.parametrize(
    ("text", "expected"), [("65537", True), ("65536", False), ("9" * 5000, True), ("²", False), (None, False)]
)
def test_a_declared_length_is_compared_however_long(text: str | None, expected: bool) -> None:
    assert declares_more_than(text, 65536) is expected


@pytest.mark.parametrize("value", ["²", "9" * 5000, "٣"])
def test_graph_retry_after_that_is_not_a_number_is_ignored(value: str) -> None:
    assert retry_after_seconds(value) is None


@pytest.mark.parametrize("version", ["10.0.²", "10.0." + "9" * 5000, "10.0.١٧٧٦٣"])
def test_a_manifest_minimum_os_version_with_odd_digits_maps_without_crashing(version: str) -> None:
    assert isinstance(windows_release(version), str)
