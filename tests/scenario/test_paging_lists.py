"""Member lists page with "Next" too (SPEC §3 Block Kit): the coach's `/cba-slots list`, `/cba-book mine`
and a submission's feedback under `/cba-homework show`, pressed through the real pipeline; every entry
is shown once, and forged or stale page values answer usage and change nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack, validate_blocks
from commands.coaching.views import MINE_NEXT, SLOTS_NEXT
from commands.homework.views import FEEDBACK_NEXT
from storage.models import Cohort, Member, RoleGrant
from tests.conftest import ORGANISER, Clock
from tests.factories import database_snapshot, make_cohort, make_member
from tests.factories_coaching import make_booking, make_slot
from tests.factories_homework import make_assignment, make_feedback, make_submission

COACH = "U0PAGECOACH"
PARTICIPANT = "U0PAGEPART"
OTHER = "U0PAGEOTHER"  # another participant of the cohort
BOTH = "U0PAGEBOTH"  # a participant who also coaches
ALUMNUS = "U0PAGEALUM"
COHORT = "PAGE"
SLOT = re.compile(r"slot #(\d+):")
BOOKING = re.compile(r"booking #(\d+):")
FEEDBACK = re.compile(r"Note (\d{3})")
APOLOGY = "Sorry, something went wrong"


@pytest.fixture
def people(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> dict[str, int]:
    """The callers hold their roles in the database (the membership gate refuses anyone else)."""
    for slack_id in (COACH, PARTICIPANT, OTHER, BOTH, ALUMNUS):
        fake_slack.add_user(slack_id, slack_id)
    with sessions.begin() as session:
        cohort = make_cohort(session, COHORT, channel=None)
        members = {
            ORGANISER: make_member(session, ORGANISER, "Olga Organiser", "organiser"),
            COACH: make_member(session, COACH, "Carla Coach", "coach"),
            PARTICIPANT: make_member(session, PARTICIPANT, "Paula Participant", "participant", cohort=cohort),
            OTHER: make_member(session, OTHER, "Otto Other", "participant", cohort=cohort),
            BOTH: make_member(session, BOTH, "Bea Both", "participant", cohort=cohort),
            ALUMNUS: make_member(session, ALUMNUS, "Alma Alumna", "alumni"),
        }
        session.add(RoleGrant(member_id=members[BOTH].id, role="coach", cohort_id=None))
        return {COHORT: cohort.id} | {slack_id: member.id for slack_id, member in members.items()}


def _member(session: Session, people: dict[str, int], slack_id: str) -> Member:
    member = session.get(Member, people[slack_id])
    assert member is not None
    return member


def _next_button(blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Next"]
    assert len(buttons) <= 1
    return buttons[0] if buttons else None


def _press(slack: SlackDriver, fake: FakeSlack, user: str, action_id: str, value: str) -> dict[str, Any]:
    """Press a button; the answer that came back through the request's response_url."""
    before = len(fake.calls_to("response_url"))
    answer = slack.action(user, action_id, value=value)
    assert answer.status == 200
    calls = fake.calls_to("response_url")
    assert len(calls) == before + 1
    return calls[-1].args


def _walk(
    slack: SlackDriver, fake: FakeSlack, user: str, command: str, text: str, action_id: str
) -> list[list[dict[str, Any]]]:
    """Run the command, then press Next until there is none: every page's blocks."""
    first = slack.command(user, command, text)
    assert first.status == 200
    assert first.json["response_type"] == "ephemeral"
    pages = [first.json["blocks"]]
    button = _next_button(pages[0])
    while button is not None:
        assert button["action_id"] == action_id
        answer = _press(slack, fake, user, button["action_id"], button["value"])
        assert answer["replace_original"] in (True, "true")
        pages.append(answer["blocks"])
        button = _next_button(answer["blocks"])
    for page in pages:
        assert validate_blocks(page) == []
        assert len(page) <= 50
    return pages


def _found(pattern: re.Pattern[str], blocks: list[dict[str, Any]]) -> list[int]:
    return [int(n) for b in blocks if b["type"] == "section" for n in pattern.findall(b["text"]["text"])]


def _refused(
    slack: SlackDriver, fake: FakeSlack, sessions: sessionmaker[Session], user: str, name: str, value: str
) -> str:
    before = database_snapshot(sessions)
    answer = _press(slack, fake, user, name, value)
    assert APOLOGY not in answer["text"]
    assert not answer.get("blocks") or _next_button(answer["blocks"]) is None
    assert database_snapshot(sessions) == before
    return str(answer["text"])


FORGED = [
    "",
    "not json",
    "[40]",
    "{}",
    '{"o":-40}',
    '{"o":"40"}',
    '{"o":true}',
    '{"o":4e1}',
    '{"o":40,"x":1}',
    '{"o":99999999}',
    "[" * 5000,
]


class TestCoachSlotPages:
    @pytest.fixture
    def slots(self, sessions: sessionmaker[Session], clock: Clock, people: dict[str, int]) -> list[int]:
        """100 future slots of the coach, every third booked, a past one and another coach's."""
        with sessions.begin() as session:
            coach, pia, bea = (_member(session, people, k) for k in (COACH, PARTICIPANT, BOTH))
            ids = []
            for i in range(100):
                slot = make_slot(session, coach, clock.now + timedelta(days=1, hours=i))
                if i % 3 == 0:
                    make_booking(session, slot, pia)
                ids.append(slot.id)
            make_slot(session, coach, clock.now - timedelta(days=1))
            make_slot(session, bea, clock.now + timedelta(days=2))
        return ids

    def test_100_slots_come_in_pages_by_pressing_next_each_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, slots: list[int]
    ) -> None:
        pages = _walk(slack, fake_slack, COACH, "/cba-slots", "list", SLOTS_NEXT)
        listed = [_found(SLOT, page) for page in pages]
        assert [len(found) for found in listed] == [40, 40, 20]
        assert [slot for found in listed for slot in found] == slots
        texts = [json.dumps(page, ensure_ascii=False) for page in pages]
        assert all("Your slots from now on (100)" in text for text in texts)
        assert "Showing 1–40 of 100 slots" in texts[0]
        assert "Showing 41–80 of 100 slots" in texts[1]
        assert "Showing 81–100 of 100 slots" in texts[2]
        assert f"booked by <@{PARTICIPANT}>" in texts[0]
        assert texts[2].count("— open") == 13  # slots 80–99, every third booked

    def test_the_first_page_text_lists_what_it_shows(
        self, slack: SlackDriver, fake_slack: FakeSlack, slots: list[int]
    ) -> None:
        answer = slack.command(COACH, "/cba-slots", "")
        assert [int(n) for n in SLOT.findall(answer.text)] == slots[:40]

    def test_a_short_list_has_no_button(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
        people: dict[str, int],
    ) -> None:
        # A coach without slots who presses an old button is told the list is shorter now.
        assert "has 0 slots now" in _refused(slack, fake_slack, sessions, BOTH, SLOTS_NEXT, '{"o":40}')
        assert "You have no slots" in slack.command(BOTH, "/cba-slots", "list").text
        with sessions.begin() as session:
            make_slot(session, _member(session, people, BOTH), clock.now + timedelta(days=2))
        answer = slack.command(BOTH, "/cba-slots", "list")
        assert "Your slots from now on (1)" in answer.text
        assert _next_button(answer.json["blocks"]) is None
        assert "Showing" not in json.dumps(answer.json["blocks"])

    @pytest.mark.parametrize("value", FORGED)
    def test_forged_values_answer_usage(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], slots: list[int], value: str
    ) -> None:
        text = _refused(slack, fake_slack, sessions, COACH, SLOTS_NEXT, value)
        assert "Usage of `/cba-slots`" in text
        assert "no longer available" in text

    def test_an_offset_past_the_end_says_how_many_there_are_now(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], slots: list[int]
    ) -> None:
        text = _refused(slack, fake_slack, sessions, COACH, SLOTS_NEXT, '{"o":100}')
        assert "has 100 slots now" in text
        assert "Usage of `/cba-slots`" in text

    def test_only_coaches_page_slots(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], slots: list[int]
    ) -> None:
        for user in (PARTICIPANT, ORGANISER, ALUMNUS):
            text = _refused(slack, fake_slack, sessions, user, SLOTS_NEXT, '{"o":40}')
            assert "You need to be a coach" in text
            assert "slot #" not in text


class TestBookingPages:
    @pytest.fixture
    def bookings(self, sessions: sessionmaker[Session], clock: Clock, people: dict[str, int]) -> list[int]:
        """Bea holds 30 bookings with the coach, and 25 participants' bookings are on her own slots."""
        with sessions.begin() as session:
            coach, bea, pia, otto = (_member(session, people, k) for k in (COACH, BOTH, PARTICIPANT, OTHER))
            held = [
                make_booking(session, make_slot(session, coach, clock.now + timedelta(days=1, hours=i)), bea).id
                for i in range(30)
            ]
            coached = [
                make_booking(
                    session, make_slot(session, bea, clock.now + timedelta(days=3, hours=i)), pia if i % 2 else otto
                ).id
                for i in range(25)
            ]
            make_booking(session, make_slot(session, coach, clock.now - timedelta(days=1)), bea)  # past
        return held + coached

    def test_held_and_coached_bookings_page_with_next_each_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, bookings: list[int]
    ) -> None:
        pages = _walk(slack, fake_slack, BOTH, "/cba-book", "mine", MINE_NEXT)
        listed = [_found(BOOKING, page) for page in pages]
        assert [len(found) for found in listed] == [40, 15]
        assert [booking for found in listed for booking in found] == bookings
        texts = [json.dumps(page, ensure_ascii=False) for page in pages]
        assert "Your bookings (30)" in texts[0]
        assert "Bookings on your slots (25)" in texts[0]
        assert "Bookings on your slots (25, continued)" in texts[1]
        assert "Your bookings" not in texts[1]
        assert "Showing 41–55 of 55 bookings" in texts[1]
        # Each booking keeps its Cancel button.
        cancels = [b["accessory"]["value"] for page in pages for b in page if "accessory" in b]
        assert [int(value) for value in cancels] == bookings

    @pytest.mark.parametrize("value", FORGED)
    def test_forged_values_answer_usage(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        bookings: list[int],
        value: str,
    ) -> None:
        text = _refused(slack, fake_slack, sessions, BOTH, MINE_NEXT, value)
        assert "Usage of `/cba-book`" in text

    def test_a_stale_offset_and_a_caller_without_bookings(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], bookings: list[int]
    ) -> None:
        assert "has 55 bookings now" in _refused(slack, fake_slack, sessions, BOTH, MINE_NEXT, '{"o":55}')
        # Paula holds 12 of the bookings on Bea's slots: an offset past them is stale, not an error.
        assert "has 12 bookings now" in _refused(slack, fake_slack, sessions, PARTICIPANT, MINE_NEXT, '{"o":12}')
        first = _press(slack, fake_slack, PARTICIPANT, MINE_NEXT, '{"o":0}')
        assert len(_found(BOOKING, first["blocks"])) == 12
        assert _next_button(first["blocks"]) is None
        refused = _refused(slack, fake_slack, sessions, ALUMNUS, MINE_NEXT, '{"o":40}')
        assert "You need to be a participant or coach" in refused


class TestFeedbackPages:
    @pytest.fixture
    def submission(self, sessions: sessionmaker[Session], clock: Clock, people: dict[str, int]) -> int:
        """Paula's submission with 45 feedback notes, oldest first."""
        with sessions.begin() as session:
            pia, coach = _member(session, people, PARTICIPANT), _member(session, people, COACH)
            cohort = session.get(Cohort, people[COHORT])
            assert cohort is not None
            assignment = make_assignment(session, cohort, clock.now + timedelta(days=5))
            submission = make_submission(session, assignment, pia, clock.now - timedelta(days=1))
            for i in range(45):
                make_feedback(
                    session,
                    submission,
                    coach,
                    f"Note {i:03d}: " + "more detail " * 20,
                    clock.now + timedelta(minutes=i),
                )
            return submission.id

    def test_45_notes_come_in_pages_oldest_first_each_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, submission: int
    ) -> None:
        for user in (PARTICIPANT, COACH):
            pages = _walk(slack, fake_slack, user, "/cba-homework", f"show {submission}", FEEDBACK_NEXT)
            notes = [_found(FEEDBACK, page) for page in pages]
            assert [len(found) for found in notes] == [20, 20, 5]
            assert [note for found in notes for note in found] == list(range(45))
            texts = [json.dumps(page, ensure_ascii=False) for page in pages]
            assert all(f"submission #{submission}" in text for text in texts)
            assert "Showing 41–45 of 45 feedback" in texts[2]
            assert "not shown" not in "".join(texts)

    @pytest.mark.parametrize(
        "value",
        [*FORGED, '{"s":999999,"o":20}', '{"s":"1","o":20}', '{"o":20}', '{"s":1,"o":45}', '{"s":1,"o":20,"x":1}'],
    )
    def test_forged_values_answer_usage(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        submission: int,
        value: str,
    ) -> None:
        value = value.replace('"s":1,', f'"s":{submission},')
        text = _refused(slack, fake_slack, sessions, ORGANISER, FEEDBACK_NEXT, value)
        assert "Usage of `/cba-homework`" in text
        assert "Note 0" not in text

    def test_others_cannot_page_someone_elses_feedback(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], submission: int
    ) -> None:
        value = json.dumps({"s": submission, "o": 20})
        for user in (OTHER, ALUMNUS):
            text = _refused(slack, fake_slack, sessions, user, FEEDBACK_NEXT, value)
            assert "You need to be" in text
            assert "Note 0" not in text
