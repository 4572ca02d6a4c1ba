"""Alumni availability and away periods end to end (SPEC 4.2, 4.5, 4.7, 4.8): signed requests through Bolt,
the fake Slack, the real scheduler tick and delivery engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.scheduler import tick
from commands.members import views as member_views
from commands.members.search import index_member
from storage.models import Member, QuestionRouting, Reminder
from tests.conftest import ORGANISER, Clock
from tests.factories import make_cohort, make_member, snapshot
from tests.factories_questions import QUESTIONS_CHANNEL, make_alumni, make_person, make_question, make_routing

ASKER = "U0ASKER"
P_AWAY = "U0PAWAY"
P_HOME = "U0PHOME"
COACH = "U0COACH"


def routed_to(sessions: sessionmaker[Session], question_id: int) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Member.slack_id)
                .join(QuestionRouting, QuestionRouting.member_id == Member.id)
                .where(QuestionRouting.question_id == question_id)
                .order_by(QuestionRouting.rank)
            )
        )


def member(sessions: sessionmaker[Session], slack_id: str) -> Member:
    with sessions() as session:
        found = session.scalars(select(Member).where(Member.slack_id == slack_id)).one()
        session.expunge(found)
        return found


# --- routing ---------------------------------------------------------------------------------------


class TestRouting:
    def test_away_no_questions_and_full_alumni_are_not_routed(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
        today = clock.now.date()
        with sessions.begin() as session:
            asker = make_person(session, fake_slack, ASKER, "Asker", "participant")
            expert = {"expertise": ["cluster funding"]}
            make_alumni(session, fake_slack, "U0OK", "Available", **expert)
            away = make_alumni(session, fake_slack, "U0AWAY", "On holiday", **expert)
            away.away_from, away.away_until = today - timedelta(days=2), today + timedelta(days=5)
            make_alumni(session, fake_slack, "U0NOQ", "No questions", accepts_questions=False, **expert)
            full = make_alumni(session, fake_slack, "U0FULL", "Full", **expert)
            full.question_capacity = 2
            zero = make_alumni(session, fake_slack, "U0ZERO", "Zero", **expert)
            zero.question_capacity = 0
            # Routed once 31 days ago with capacity 1: that month is over, so available again.
            veteran = make_alumni(session, fake_slack, "U0VET", "Veteran", **expert)
            veteran.question_capacity = 1
            # Away until yesterday: back today.
            back = make_alumni(session, fake_slack, "U0BACK", "Back", **expert)
            back.away_from, back.away_until = today - timedelta(days=9), today - timedelta(days=1)
            for days, who in ((3, full), (20, full), (31, veteran)):
                earlier = make_question(session, asker, f"earlier {days}", created_at=clock.now - timedelta(days=days))
                make_routing(session, earlier, who, at=clock.now - timedelta(days=days))

        answer = slack.command(ASKER, "/cba-ask", "Where do clusters find funding?")

        assert "I am asking 3 alumni" in answer.text
        question_id = 4  # after the three earlier ones
        assert sorted(routed_to(sessions, question_id)) == ["U0BACK", "U0OK", "U0VET"]
        for left_out in ("U0AWAY", "U0NOQ", "U0FULL", "U0ZERO"):
            assert fake_slack.dms_to(left_out) == [], left_out
        for asked in ("U0OK", "U0VET", "U0BACK"):
            [dm] = fake_slack.dms_to(asked)
            assert f"question #{question_id}" in json.dumps(dm.blocks)

    def test_when_everyone_matching_is_away_or_full_the_organisers_are_told_at_once(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
        with sessions.begin() as session:
            make_person(session, fake_slack, ASKER, "Asker", "participant")
            away = make_alumni(session, fake_slack, "U0AWAY", "On holiday", expertise=["funding"])
            away.away_from = away.away_until = clock.now.date()
        answer = slack.command(ASKER, "/cba-ask", "Any funding advice?")
        assert "No available alumni matches it right now: the organisers have been told" in answer.text
        assert routed_to(sessions, 1) == []
        assert any("matches no alumni" in m.text for m in fake_slack.dms_to(ORGANISER))

    def test_routing_spreads_a_month_of_questions_and_respects_capacity(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        """6 alumni who match equally (capacity 4 each: 24 routings in 30 days at most), 20 questions over
        30 days, 5 alumni wanted each: after every question nobody is more than one routing ahead of anyone
        else, nobody exceeds 4 in any 30 days, and once all are full the organisers are told."""
        fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
        alumni = [f"U0AL{n}" for n in range(1, 7)]
        with sessions.begin() as session:
            make_person(session, fake_slack, ASKER, "Asker", "participant")
            for n, slack_id in enumerate(alumni, start=1):
                make_alumni(session, fake_slack, slack_id, f"Alumnus {n}", expertise=["tourism"])
        asked_per_question: list[int] = []
        for n in range(20):
            answer = slack.command(ASKER, "/cba-ask", f"Tourism question number {n + 1}: what works?")
            assert answer.status == 200
            table = self._table(sessions, alumni)
            assert max(table.values()) - min(table.values()) <= 1, (n + 1, table)
            asked_per_question.append(len(routed_to(sessions, n + 1)))
            clock.advance(timedelta(hours=36))  # 20 questions in 30 days

        table = self._table(sessions, alumni)
        print("\nroutings per alumnus over 30 days:", dict(table))
        print("alumni asked per question:", asked_per_question)
        assert table == {slack_id: 4 for slack_id in alumni}
        assert asked_per_question == [5, 5, 5, 5, 4] + [0] * 15
        told = [m for m in fake_slack.dms_to(ORGANISER) if "matches no alumni" in m.text]
        assert len(told) == 15
        self._assert_capacity_in_every_window(sessions, capacity=4)

    def test_capacity_frees_up_as_the_30_day_window_moves_on(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        """3 alumni with capacity 2 and a question every 4 days for 120 days: each is asked again as soon as a
        routing leaves the 30-day window (days 0, 4, 32, 36, 64, 68, 96, 100), never more than 2 in any 30 days."""
        fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
        alumni = ["U0AL1", "U0AL2", "U0AL3"]
        with sessions.begin() as session:
            make_person(session, fake_slack, ASKER, "Asker", "participant")
            for slack_id in alumni:
                make_alumni(session, fake_slack, slack_id, slack_id, expertise=["tourism"]).question_capacity = 2
        for n in range(30):
            slack.command(ASKER, "/cba-ask", f"Tourism question {n + 1}?")
            clock.advance(timedelta(days=4))
        table = self._table(sessions, alumni)
        print("\nroutings per alumnus over 120 days:", dict(table))
        assert table == {slack_id: 8 for slack_id in alumni}
        self._assert_capacity_in_every_window(sessions, capacity=2)

    @staticmethod
    def _table(sessions: sessionmaker[Session], alumni: list[str]) -> Counter[str]:
        with sessions() as session:
            counted = Counter(
                session.scalars(
                    select(Member.slack_id).join(QuestionRouting, QuestionRouting.member_id == Member.id)
                ).all()
            )
        return Counter({slack_id: counted.get(slack_id, 0) for slack_id in alumni})

    @staticmethod
    def _assert_capacity_in_every_window(sessions: sessionmaker[Session], *, capacity: int) -> None:
        with sessions() as session:
            rows = session.execute(select(QuestionRouting.member_id, QuestionRouting.asked_at)).all()
        by_member: dict[int, list[datetime]] = {}
        for member_id, asked_at in rows:
            by_member.setdefault(member_id, []).append(asked_at)
        for member_id, times in by_member.items():
            for end in times:
                in_window = [t for t in times if end - timedelta(days=30) < t <= end]
                assert len(in_window) <= capacity, (member_id, sorted(times))


# --- reminders through the real scheduler -----------------------------------------------------------


@pytest.fixture
def cohort(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C0COHORT3", "cba3")
    with sessions.begin() as session:
        cohort = make_cohort(session)
        for slack_id, name in ((P_AWAY, "Ada Away"), (P_HOME, "Hugo Home")):
            make_member(session, slack_id, name, "participant", cohort=cohort)
            fake_slack.add_user(slack_id, name)
        make_member(session, COACH, "Cora Coach", "coach", cohort=cohort)
        fake_slack.add_user(COACH, "Cora Coach")


def _reminders(sessions: sessionmaker[Session]) -> dict[tuple[str, str], Counter[str]]:
    """(kind, recipient) -> statuses of its reminder rows."""
    found: dict[tuple[str, str], Counter[str]] = {}
    with sessions() as session:
        for kind, recipient, status in session.execute(
            select(Reminder.kind, Reminder.recipient, Reminder.status).where(
                Reminder.kind.in_(("event", "coaching", "homework"))
            )
        ):
            found.setdefault((kind, recipient), Counter())[status] += 1
    return found


def _dms(fake_slack: FakeSlack, user: str) -> int:
    channels = {user, fake_slack.dm_channel(user)}
    return sum(1 for call in fake_slack.calls_to("chat.postMessage") if call.args.get("channel") in channels)


@pytest.mark.usefixtures("cohort")
def test_an_away_member_gets_no_event_or_homework_reminder_but_their_coaching_reminders_still_go(
    bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
) -> None:
    slack.command(ORGANISER, "/cba-admin", "event add CBA3 online 2026-12-10 10:00-12:00 Kick-off")
    slack.command(ORGANISER, "/cba-homework", "new CBA3 2026-12-11 Action plan")
    slack.command(COACH, "/cba-slots", "add 2026-12-09 10:00 45m")
    slack.command(P_AWAY, "/cba-book", "1")
    # The absence is set after every reminder was planned: it is decided when each is due.
    answer = slack.command(P_AWAY, "/cba-profile", "set away 2026-12-08 2026-12-12")
    assert "You are away from 2026-12-08 to 2026-12-12" in answer.text
    fake_slack.reset_calls()

    due = [
        datetime(2026, 12, 3, 9, 0, tzinfo=UTC),  # event 7d: before the absence
        datetime(2026, 12, 8, 9, 0, tzinfo=UTC),  # coaching 24h
        datetime(2026, 12, 8, 22, 59, tzinfo=UTC),  # homework 3d (due 23:59 Brussels on the 11th)
        datetime(2026, 12, 9, 8, 0, tzinfo=UTC),  # coaching 1h
        datetime(2026, 12, 9, 9, 0, tzinfo=UTC),  # event 1d
        datetime(2026, 12, 10, 8, 0, tzinfo=UTC),  # event 1h
        datetime(2026, 12, 10, 22, 59, tzinfo=UTC),  # homework 1d
    ]
    for instant in due:
        clock.set(instant)
        tick(bot.deps)

    rows = _reminders(sessions)
    assert rows[("event", P_HOME)] == Counter({"sent": 3})
    assert rows[("event", P_AWAY)] == Counter({"sent": 1, "skipped": 2})  # the 7-day one came before
    assert rows[("event", "C0COHORT3")] == Counter({"sent": 3})  # the channel's reminders are unaffected
    assert rows[("homework", P_HOME)] == Counter({"sent": 2})
    assert rows[("homework", P_AWAY)] == Counter({"skipped": 2})
    assert rows[("coaching", P_AWAY)] == Counter({"sent": 2})  # a session they keep: reminded while away
    assert rows[("coaching", COACH)] == Counter({"sent": 2})
    assert (_dms(fake_slack, P_AWAY), _dms(fake_slack, P_HOME)) == (1 + 2, 3 + 2)
    with sessions() as session:
        reasons = set(
            session.scalars(
                select(Reminder.last_error).where(Reminder.recipient == P_AWAY, Reminder.status == "skipped")
            )
        )
    assert reasons == {"recipient away until 2026-12-12"}


@pytest.mark.usefixtures("cohort")
def test_an_absence_ended_early_lets_the_next_reminder_through(
    bot: Bot, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
) -> None:
    slack.command(ORGANISER, "/cba-admin", "event add CBA3 online 2026-12-10 10:00-12:00 Kick-off")
    slack.command(P_AWAY, "/cba-profile", "set away 2026-12-01 2026-12-31")
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    tick(bot.deps)
    slack.command(P_AWAY, "/cba-profile", "set away off")
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    tick(bot.deps)
    assert _reminders(sessions)[("event", P_AWAY)] == Counter({"skipped": 1, "sent": 1, "pending": 1})


# --- the profile fields ------------------------------------------------------------------------------


@pytest.fixture
def alumna(sessions: sessionmaker[Session], fake_slack: FakeSlack) -> None:
    with sessions.begin() as session:
        alma = make_alumni(session, fake_slack, "U0ALMA", "Alma Alumna", expertise=["funding"])
        pat = make_person(session, fake_slack, "U0PART", "Pat Participant", "participant")
        for found in (alma, pat):
            found.visible, found.visible_since = True, datetime(2026, 11, 1, tzinfo=UTC)
            index_member(session, found)


@pytest.mark.usefixtures("alumna")
class TestProfileFields:
    def test_set_and_clear_capacity(self, slack: SlackDriver, sessions: sessionmaker[Session]) -> None:
        answer = slack.command("U0ALMA", "/cba-profile", "set capacity 2")
        assert "Your capacity is now 2" in answer.text
        assert member(sessions, "U0ALMA").question_capacity == 2
        assert "Your capacity is now 0" in slack.command("U0ALMA", "/cba-profile", "set capacity 0").text
        answer = slack.command("U0ALMA", "/cba-profile", "set capacity default")
        assert "Your capacity is now 4 (the default)" in answer.text
        assert member(sessions, "U0ALMA").question_capacity is None

    @pytest.mark.parametrize(
        ("value", "says"),
        [
            ("51", "from 0 to 50"),
            ("-1", "from 0 to 50"),
            ("three", "not a capacity"),
            ("2.5", "not a capacity"),
            ("", "What should your capacity be?"),
        ],
    )
    def test_a_bad_capacity_is_refused_with_the_usage_and_changes_nothing(
        self, slack: SlackDriver, sessions: sessionmaker[Session], value: str, says: str
    ) -> None:
        with sessions() as session:
            before = snapshot(session)
        answer = slack.command("U0ALMA", "/cba-profile", f"set capacity {value}")
        assert says in answer.text
        assert "/cba-profile set capacity N" in answer.text  # the usage
        with sessions() as session:
            assert snapshot(session) == before

    def test_capacity_is_for_alumni(self, slack: SlackDriver, sessions: sessionmaker[Session]) -> None:
        answer = slack.command("U0PART", "/cba-profile", "set capacity 3")
        assert "alumni" in answer.text
        assert member(sessions, "U0PART").question_capacity is None

    def test_set_and_clear_away(self, slack: SlackDriver, sessions: sessionmaker[Session]) -> None:
        answer = slack.command("U0PART", "/cba-profile", "set away 2026-12-20 2027-01-06")
        assert "You are away from 2026-12-20 to 2027-01-06" in answer.text
        found = member(sessions, "U0PART")
        assert (found.away_from, found.away_until) == (date(2026, 12, 20), date(2027, 1, 6))
        # Ending today is not in the past; one day is FROM = TO.
        assert (
            "You are away on 2026-11-25"
            in slack.command("U0PART", "/cba-profile", "set away 2026-11-25 2026-11-25").text
        )
        answer = slack.command("U0PART", "/cba-profile", "set away off")
        assert "Your absence is cleared" in answer.text
        answer = slack.command("U0PART", "/cba-profile", "set away off")
        assert "Your absence was already off: nothing changed." in answer.text
        found = member(sessions, "U0PART")
        assert (found.away_from, found.away_until) == (None, None)

    @pytest.mark.parametrize(
        ("value", "says"),
        [
            ("2027-01-06 2026-12-20", "ends (2026-12-20) before it begins (2027-01-06)"),
            ("2026-11-01 2026-11-24", "ended on 2026-11-24, before today (2026-11-25)"),
            ("1999-12-30 2000-01-02", "out of range"),
            ("2026-12-20 2100-01-01", "out of range"),
            ("2026-12-20", "two dates"),
            ("2026-12-20 2026-12-24 2026-12-28", "two dates"),
            ("2026-02-30 2026-03-02", "not a real date"),
            ("soon later", "not a date"),
            ("", "What should your away be?"),
        ],
    )
    def test_a_bad_absence_is_refused_with_the_usage_and_changes_nothing(
        self, slack: SlackDriver, sessions: sessionmaker[Session], value: str, says: str
    ) -> None:
        with sessions() as session:
            before = snapshot(session)
        answer = slack.command("U0PART", "/cba-profile", f"set away {value}")
        assert says in answer.text
        assert "/cba-profile set away FROM TO" in answer.text
        with sessions() as session:
            assert snapshot(session) == before

    def test_help_lists_capacity_and_away(self, slack: SlackDriver) -> None:
        text = slack.command("U0ALMA", "/cba-profile", "help").text
        assert "set capacity N" in text
        assert "set away FROM TO" in text

    def test_the_card_says_away_until_while_away_and_only_the_owner_sees_a_planned_absence(
        self, slack: SlackDriver, clock: Clock
    ) -> None:
        slack.command("U0ALMA", "/cba-profile", "set away 2026-12-20 2027-01-06")
        assert (
            "Away (planned):* from 2026-12-20 to 2027-01-06"
            in slack.command("U0ALMA", "/cba-profile", "<@U0ALMA>").text
        )
        assert "Away" not in slack.command("U0PART", "/cba-profile", "<@U0ALMA>").text
        assert "away until" not in slack.command("U0PART", "/cba-directory", "funding").body
        clock.set(datetime(2026, 12, 21, 9, 0, tzinfo=UTC))
        assert "Away until 2027-01-06" in slack.command("U0PART", "/cba-profile", "<@U0ALMA>").text
        assert "away until 2027-01-06" in slack.command("U0PART", "/cba-directory", "funding").body
        clock.set(datetime(2027, 1, 7, 9, 0, tzinfo=UTC))
        assert "Away" not in slack.command("U0ALMA", "/cba-profile", "<@U0ALMA>").text

    def test_the_owners_card_shows_their_capacity(self, slack: SlackDriver) -> None:
        slack.command("U0ALMA", "/cba-profile", "set capacity 3")
        assert "up to 3 in 30 days" in slack.command("U0ALMA", "/cba-profile", "<@U0ALMA>").body
        assert "30 days" not in slack.command("U0PART", "/cba-profile", "<@U0ALMA>").body

    def test_export_has_the_fields_and_erasure_clears_them(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        slack.command("U0ALMA", "/cba-profile", "set capacity 3")
        slack.command("U0ALMA", "/cba-profile", "set away 2026-12-20 2027-01-06")
        slack.command("U0ALMA", "/cba-profile", "export")
        fake_slack.wait_for("files.completeUploadExternal")
        [exported] = [f for f in fake_slack.files if f.channel_id == fake_slack.dm_channel("U0ALMA")]
        profile = json.loads(exported.content)["profile"]
        assert (profile["question_capacity"], profile["away_from"], profile["away_until"]) == (
            3,
            "2026-12-20",
            "2027-01-06",
        )
        slack.action("U0ALMA", member_views.ERASE_CONFIRM, value="erase")
        with sessions() as session:
            erased = session.scalars(select(Member).where(Member.name == "former member")).one()
            assert (erased.question_capacity, erased.away_from, erased.away_until) == (None, None, None)


# --- the profile form ---------------------------------------------------------------------------------


def _modal_values(view: dict, **typed: object) -> dict:
    values: dict = {}
    for block in view["blocks"]:
        element = block["element"]
        block_id = block["block_id"]
        if element["type"] == "checkboxes":
            values[block_id] = {
                "value": {"type": "checkboxes", "selected_options": element.get("initial_options") or []}
            }
        elif element["type"] == "datepicker":
            picked = typed.get(block_id, element.get("initial_date"))
            values[block_id] = {"value": {"type": "datepicker", "selected_date": picked}}
        else:
            text = typed.get(block_id, element.get("initial_value") or "")
            values[block_id] = {"value": {"type": "plain_text_input", "value": text}}
    return values


@pytest.mark.usefixtures("alumna")
class TestProfileForm:
    def _open(self, slack: SlackDriver, fake_slack: FakeSlack, user: str) -> dict:
        slack.command(user, "/cba-profile")
        view = fake_slack.calls_to("views.open")[-1].args["view"]
        return json.loads(view) if isinstance(view, str) else view

    def test_alumni_set_capacity_and_away_in_the_form(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        view = self._open(slack, fake_slack, "U0ALMA")
        assert {"capacity", "away_from", "away_until"} <= {b["block_id"] for b in view["blocks"]}
        answer = slack.submit(
            "U0ALMA", view, _modal_values(view, capacity="1", away_from="2026-12-20", away_until="2027-01-06")
        )
        assert answer.status == 200
        found = member(sessions, "U0ALMA")
        assert (found.question_capacity, found.away_from, found.away_until) == (
            1,
            date(2026, 12, 20),
            date(2027, 1, 6),
        )
        # Opened again, the form shows them; emptied, the absence is cleared.
        view = self._open(slack, fake_slack, "U0ALMA")
        dates = {
            b["block_id"]: b["element"].get("initial_date")
            for b in view["blocks"]
            if b["element"]["type"] == "datepicker"
        }
        assert dates == {"away_from": "2026-12-20", "away_until": "2027-01-06"}
        slack.submit("U0ALMA", view, _modal_values(view, away_from=None, away_until=None))
        assert member(sessions, "U0ALMA").away_until is None

    def test_participants_see_no_capacity_and_bad_dates_come_back_on_the_field(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        view = self._open(slack, fake_slack, "U0PART")
        assert "capacity" not in {b["block_id"] for b in view["blocks"]}
        answer = slack.submit("U0PART", view, _modal_values(view, away_from="2027-01-06", away_until="2026-12-20"))
        assert answer.json["response_action"] == "errors"
        assert "before it begins" in answer.json["errors"]["away_until"]
        answer = slack.submit("U0PART", view, _modal_values(view, away_from="2026-11-01", away_until="2026-11-02"))
        assert "before today" in answer.json["errors"]["away_until"]
        assert member(sessions, "U0PART").away_from is None


# --- App Home ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("alumna")
def test_the_home_tab_shows_the_viewers_absence(slack: SlackDriver, fake_slack: FakeSlack, clock: Clock) -> None:
    slack.command("U0PART", "/cba-profile", "set away 2026-12-20 2027-01-06")
    fake_slack.wait_for("views.publish")
    home = json.dumps(fake_slack.home["U0PART"]["blocks"])
    assert "Planned absence:* 2026-12-20 to 2027-01-06" in home
    clock.set(datetime(2026, 12, 21, 9, 0, tzinfo=UTC))
    slack.event({"type": "app_home_opened", "user": "U0PART", "channel": "DU0PART", "tab": "home"})
    assert "You are away until 2027-01-06" in json.dumps(fake_slack.home["U0PART"]["blocks"])
    slack.command("U0PART", "/cba-profile", "set away off")
    home = json.dumps(fake_slack.home["U0PART"]["blocks"])
    assert "You are away" not in home
    assert "Planned absence" not in home


def test_routing_reads_the_absence_in_the_alumnus_own_time_zone(
    slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
) -> None:
    """At 12:00 UTC on 25 November it is already the 26th in Auckland, still the 25th in Brussels."""
    fake_slack.add_channel(QUESTIONS_CHANNEL, "ask-alumni")
    clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    with sessions.begin() as session:
        make_person(session, fake_slack, ASKER, "Asker", "participant")
        for slack_id, tz in (("U0AUCK", "Pacific/Auckland"), ("U0BRUS", "Europe/Brussels")):
            alumnus = make_alumni(session, fake_slack, slack_id, slack_id, expertise=["funding"])
            alumnus.tz = tz
            alumnus.away_from, alumnus.away_until = date(2026, 11, 26), date(2026, 11, 30)
    slack.command(ASKER, "/cba-ask", "Funding tips?")
    assert routed_to(sessions, 1) == ["U0BRUS"]
