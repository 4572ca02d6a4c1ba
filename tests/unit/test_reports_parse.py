from __future__ import annotations

import pytest

from commands.common.errors import UsageError
from commands.reports.parse import parse_report, usage


@pytest.mark.parametrize(("text", "code"), [("", None), ("   ", None), ("cba2", "CBA2"), (" CBA-3 ", "CBA-3")])
def test_one_optional_cohort_code(text: str, code: str | None) -> None:
    assert parse_report(text) == code


@pytest.mark.parametrize("text", ["CBA2 CBA3", "<@U123|x>", "#cba2", "a" * 40])
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_report(text)
    assert caught.value.usage == usage()
    assert "`/cba-admin report [COHORT]` — engagement report" in usage()
