"""Home tab builders and the "Ask alumni" form, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commands.common.errors import FieldErrors, not_registered_text
from commands.home import parse, views
from commands.homework.service import Mine, Progress
from storage.models import Assignment, Member, Submission

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class TestListing:
    def test_short_lists_are_shown_whole(self) -> None:
        assert views.listing([1, 2], str) == "1\n2"

    def test_more_than_the_limit_ends_with_a_count(self) -> None:
        text = views.listing(list(range(20)), str, more_hint="`/cba-x`", limit=3)
        assert text.splitlines() == ["0", "1", "2", "_…and 17 more — `/cba-x`_"]

    def test_long_lines_stay_within_a_section(self) -> None:
        text = views.listing(["x" * 2000] * 8, str)
        assert len(text) <= 3000
        assert text.endswith("more_")


def _mine(due_at: datetime, *late: bool) -> Mine:
    member = Member(id=1, name="Pia")
    assignment = Assignment(id=7, cohort_id=1, title="Plan", description="", due_at=due_at)
    submissions = [Submission(version=i + 1, late=flag) for i, flag in enumerate(late)]
    return Mine(assignment, Progress(member, submissions))


@pytest.mark.parametrize(
    ("mine", "state"),
    [
        (_mine(NOW + timedelta(days=1)), "not submitted yet"),
        (_mine(NOW - timedelta(days=1)), "missing"),
        (_mine(NOW - timedelta(days=1), False), "submitted on time"),
        (_mine(NOW - timedelta(days=1), True, True), "submitted late"),
        (_mine(NOW - timedelta(days=1), True, False), "submitted on time"),
    ],
)
def test_homework_state(mine: Mine, state: str) -> None:
    assert views.homework_state(mine, NOW).endswith(state)


def test_the_home_of_someone_not_registered_says_whom_to_ask_and_has_no_buttons() -> None:
    view = views.not_registered_view(not_registered_text(["U0ORG1", "U0ORG2"])).to_dict()
    assert view["type"] == "home"
    assert "not registered in the Cluster Booster Academy yet" in view["blocks"][1]["text"]["text"]
    assert "<@U0ORG1>, <@U0ORG2>" in view["blocks"][1]["text"]["text"]
    assert all(block["type"] != "actions" for block in view["blocks"])


class TestAskForm:
    def _values(self, text: str | None, anonymous: bool = False) -> dict[str, dict[str, dict[str, object]]]:
        selected = [{"value": "yes"}] if anonymous else []
        return {
            "q": {"text": {"type": "plain_text_input", "value": text}},
            "a": {"anonymous": {"type": "checkboxes", "selected_options": selected}},
        }

    def test_reads_text_and_flag(self) -> None:
        form = parse.read_ask_form(self._values("  How do clusters share staff?  ", True), "q", "a")
        assert form == parse.AskForm("How do clusters share staff?", True)

    @pytest.mark.parametrize("text", [None, "", "short", "x" * 2501])
    def test_refuses_bad_lengths_on_the_field(self, text: str | None) -> None:
        with pytest.raises(FieldErrors) as caught:
            parse.read_ask_form(self._values(text), "q", "a")
        assert list(caught.value.errors) == ["q"]
