"""Members through signed requests: /cba-profile, /cba-directory, /cba-admin role, team_join, privacy."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.scheduler import tick
from commands.members import views
from commands.members.slack_sync import learn_new_members
from storage.models import AuditEntry, Member, Reminder, RoleGrant
from tests.conftest import ORGANISER, Clock
from tests.factories import make_cohort, make_member
from tests.factories_members import find_in_database, make_profile, snapshot

MARIA = "U0MARIA"
JAN = "U0JAN"
HIDDEN = "U0HIDDEN"


@pytest.fixture
def people(session: Session, fake_slack: FakeSlack) -> dict[str, int]:
    cba2 = make_cohort(session, "CBA2", "Cluster Booster Academy 2", "C0CBA2")
    cba3 = make_cohort(session, "CBA3")
    maria = make_profile(
        session,
        MARIA,
        "Maria Rossi",
        "participant",
        cohort=cba3,
        email="maria@example.org",
        organisation="Torino Mobility Cluster",
        country="IT",
        region="Piedmont",
        sectors=["Mobility"],
        expertise=["Smart mobility", "Funding"],
        bio="Runs e-mobility pilots.",
    )
    jan = make_profile(
        session,
        JAN,
        "Jan Novák",
        "alumni",
        cohort=cba2,
        email="jan@example.org",
        organisation="Moravian Aerospace Cluster",
        country="CZ",
        sectors=["Aerospace"],
        expertise=["Internationalisation"],
    )
    hidden = make_profile(
        session,
        HIDDEN,
        "Hilde Verborgen",
        "alumni",
        cohort=cba2,
        visible=False,
        email="hilde@example.org",
        organisation="Ghent Mobility Hub",
        country="BE",
        sectors=["Mobility"],
        expertise=["Smart mobility"],
        bio="Prefers to stay out of the directory.",
    )
    make_profile(session, ORGANISER, "Olga Organiser", "organiser", visible=False)
    session.commit()
    for slack_id, name in ((MARIA, "Maria Rossi"), (JAN, "Jan Novák"), (HIDDEN, "Hilde Verborgen")):
        fake_slack.add_user(slack_id, name, email=f"{name.split()[0].lower()}@example.org")
    return {"maria": maria.id, "jan": jan.id, "hidden": hidden.id}


def member(sessions: sessionmaker[Session], slack_id: str) -> Member:
    with sessions() as session:
        found = session.scalar(select(Member).where(Member.slack_id == slack_id))
        assert found is not None
        return found


def assert_usage(answer: Any, command: str, *needles: str) -> None:
    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral"
    assert f"Usage of `{command}`" in answer.text
    for needle in needles:
        assert needle in answer.text


def all_text(answer: Any) -> str:
    return answer.text + json.dumps(answer.json.get("blocks") or [], ensure_ascii=False)


# --- /cba-profile ------------------------------------------------------------------------------


class TestProfileModal:
    def _open(self, slack: SlackDriver, fake_slack: FakeSlack) -> dict[str, Any]:
        answer = slack.command(MARIA, "/cba-profile")
        assert answer.status == 200
        opened = fake_slack.calls_to("views.open")
        assert len(opened) == 1
        return list(fake_slack.views.values())[-1]

    def test_opens_prefilled_with_the_callers_profile(
        self, slack: SlackDriver, fake_slack: FakeSlack, people: dict[str, int]
    ) -> None:
        view = self._open(slack, fake_slack)
        assert view["callback_id"] == views.PROFILE_MODAL
        initial = {
            b["block_id"]: b["element"].get("initial_value")
            for b in view["blocks"]
            if b["element"]["type"] == "plain_text_input"
        }
        assert initial["name"] == "Maria Rossi"
        assert initial["country"] == "IT"
        assert initial["expertise"] == "Smart mobility, Funding"
        visible = next(b for b in view["blocks"] if b["block_id"] == "visible")
        assert visible["element"]["initial_options"]

    @staticmethod
    def _values(**typed: str) -> dict[str, dict[str, dict[str, Any]]]:
        values: dict[str, dict[str, dict[str, Any]]] = {}
        for key, value in typed.items():
            if key in ("visible", "questions"):
                chosen = [{"value": "yes", "text": {"type": "plain_text", "text": "yes"}}] if value == "yes" else []
                values[key] = {"value": {"type": "checkboxes", "selected_options": chosen}}
            else:
                values[key] = {"value": {"type": "plain_text_input", "value": value}}
        return values

    def test_bad_fields_come_back_on_the_fields_and_change_nothing(
        self, slack: SlackDriver, fake_slack: FakeSlack, people: dict[str, int], session: Session
    ) -> None:
        view = self._open(slack, fake_slack)
        before = snapshot(session)
        answer = slack.submit(
            MARIA, view, self._values(name="Maria R", country="XX", linkedin="https://example.com/maria", visible="yes")
        )
        assert answer.json["response_action"] == "errors"
        assert set(answer.json["errors"]) == {"country", "linkedin"}
        assert "ISO 3166" in answer.json["errors"]["country"]
        assert snapshot(session) == before

    def test_a_good_submission_saves_and_indexes_the_profile(
        self, slack: SlackDriver, fake_slack: FakeSlack, people: dict[str, int], sessions: sessionmaker[Session]
    ) -> None:
        view = self._open(slack, fake_slack)
        answer = slack.submit(
            MARIA,
            view,
            self._values(
                name="Maria Rossi",
                organisation="Torino Mobility Cluster",
                country="it",
                region="Piemonte",
                sectors="Mobility, mobility , Logistics",
                expertise="Hydrogen",
                bio="Hydrogen buses <b>",
                linkedin="<https://www.linkedin.com/in/maria|linkedin>",
                eccp="https://clustercollaboration.eu/maria",
                visible="yes",
                questions="no",
            ),
        )
        assert answer.status == 200
        assert answer.body == ""
        saved = member(sessions, MARIA)
        assert (saved.country, saved.region, saved.sectors, saved.expertise) == (
            "IT",
            "Piemonte",
            ["Mobility", "Logistics"],
            ["Hydrogen"],
        )
        assert saved.linkedin == "https://www.linkedin.com/in/maria"
        assert saved.accepts_questions is False
        told = [c.args for c in fake_slack.calls_to("chat.postEphemeral")]
        assert told
        assert told[-1]["user"] == MARIA
        assert "profile is saved" in told[-1]["text"]
        found = slack.command(JAN, "/cba-directory", "hydrogen")
        assert "Maria Rossi" in all_text(found)


class TestProfileSet:
    @pytest.mark.parametrize(
        ("text", "column", "expected"),
        [
            ("name Maria Rossi-Bianchi", "name", "Maria Rossi-Bianchi"),
            ("organisation Piedmont Cluster", "organisation", "Piedmont Cluster"),
            ("country de", "country", "DE"),
            ("region Lombardy", "region", "Lombardy"),
            ("sectors ICT, Mobility,ict", "sectors", ["ICT", "Mobility"]),
            ("expertise Funding , Boards", "expertise", ["Funding", "Boards"]),
            ("bio I run <!channel> pilots", "bio", "I run <!channel> pilots"),
            ("linkedin <https://linkedin.com/in/maria>", "linkedin", "https://linkedin.com/in/maria"),
            (
                "eccp https://clustercollaboration.eu/profile/maria",
                "eccp",
                "https://clustercollaboration.eu/profile/maria",
            ),
            ("visible no", "visible", False),
            ("questions yes", "accepts_questions", True),
        ],
    )
    def test_sets_each_field(
        self,
        slack: SlackDriver,
        people: dict[str, int],
        sessions: sessionmaker[Session],
        text: str,
        column: str,
        expected: object,
    ) -> None:
        answer = slack.command(MARIA, "/cba-profile", f"set {text}")
        assert answer.json["response_type"] == "ephemeral"
        assert ":white_check_mark:" in answer.text
        assert "<!channel>" not in answer.text
        assert getattr(member(sessions, MARIA), column) == expected

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            ("set colour blue", "not a profile field"),
            ("set country ZZ", "ISO 3166"),
            ("set country Italy", "ISO 3166"),
            ("set linkedin https://example.com/maria", "LinkedIn"),
            ("set eccp not-a-link", "web link"),
            ("set visible maybe", "yes or no"),
            ("set name", "What should your name be"),
            ("set", "Which field"),
            ("frobnicate", "not something"),
            ("export now", "takes no other words"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self, slack: SlackDriver, people: dict[str, int], session: Session, text: str, needle: str
    ) -> None:
        before = snapshot(session)
        answer = slack.command(MARIA, "/cba-profile", text)
        assert_usage(answer, "/cba-profile", needle)
        assert snapshot(session) == before


class TestProfileCard:
    def test_shows_a_visible_members_card(self, slack: SlackDriver, people: dict[str, int]) -> None:
        answer = slack.command(JAN, "/cba-profile", f"<@{MARIA}|maria>")
        text = all_text(answer)
        assert "Maria Rossi" in text
        assert "participant (CBA3)" in text
        assert "Torino Mobility Cluster" in text
        assert "Smart mobility" in text

    def test_a_hidden_member_is_unknown_to_other_participants(self, slack: SlackDriver, people: dict[str, int]) -> None:
        answer = slack.command(MARIA, "/cba-profile", f"<@{HIDDEN}>")
        assert "There is no member" in answer.text
        assert "Hilde" not in all_text(answer)

    def test_a_hidden_member_sees_their_own_card_and_organisers_see_it(
        self, slack: SlackDriver, people: dict[str, int]
    ) -> None:
        for caller in (HIDDEN, ORGANISER):
            text = all_text(slack.command(caller, "/cba-profile", f"<@{HIDDEN}>"))
            assert "Hilde Verborgen" in text
            assert "hidden from the directory" in text

    def test_unknown_member_answers_usage_and_changes_nothing(
        self, slack: SlackDriver, people: dict[str, int], session: Session
    ) -> None:
        before = snapshot(session)
        answer = slack.command(MARIA, "/cba-profile", "<@U0NOBODY|nobody>")
        assert_usage(answer, "/cba-profile", "There is no member")
        assert snapshot(session) == before

    def test_user_text_is_escaped_on_the_card(self, slack: SlackDriver, people: dict[str, int]) -> None:
        slack.command(MARIA, "/cba-profile", "set bio Hi <!channel> & <@U0JAN>")
        text = all_text(slack.command(JAN, "/cba-profile", f"<@{MARIA}>"))
        assert "&lt;!channel&gt; &amp; &lt;@U0JAN&gt;" in text
        assert "<!channel>" not in text


class TestProfileExport:
    def test_sends_a_summary_and_a_json_file_by_dm(
        self, slack: SlackDriver, fake_slack: FakeSlack, people: dict[str, int], sessions: sessionmaker[Session]
    ) -> None:
        answer = slack.command(MARIA, "/cba-profile", "export")
        assert "direct message" in answer.text
        fake_slack.wait_for("files.completeUploadExternal")
        exported = [f for f in fake_slack.files if f.channel_id == fake_slack.dm_channel(MARIA)]
        assert len(exported) == 1
        assert exported[0].filename.endswith(".json")
        data = json.loads(exported[0].content)
        assert data["profile"]["email"] == "maria@example.org"
        assert data["profile"]["expertise"] == ["Smart mobility", "Funding"]
        assert data["roles"] == [
            {"role": "participant", "cohort": "CBA3", "granted_at": data["roles"][0]["granted_at"]}
        ]
        summary = [m.text for m in fake_slack.dms_to(MARIA) if "Everything CBA Bot stores" in m.text]
        assert len(summary) == 1
        assert "Torino Mobility Cluster" in summary[0]
        with sessions() as check:  # both went through the outbox, in the command's transaction
            rows = check.scalars(select(Reminder).where(Reminder.recipient == MARIA).order_by(Reminder.id)).all()
            assert [(row.method, row.status) for row in rows] == [
                ("chat.postMessage", "sent"),
                ("files.upload", "sent"),
            ]

    def test_the_file_arrives_once_when_slack_fails_once(
        self,
        bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        people: dict[str, int],
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        fake_slack.fail("files.completeUploadExternal", "internal_error", status=500, times=1)
        slack.command(MARIA, "/cba-profile", "export")
        assert fake_slack.files == []
        with sessions() as check:
            upload = check.scalars(select(Reminder).where(Reminder.method == "files.upload")).one()
            assert (upload.status, upload.attempts) == ("pending", 1)
        clock.advance(timedelta(minutes=1))  # past the retry's back-off
        tick(bot.deps)
        tick(bot.deps)
        exported = [f for f in fake_slack.files if f.channel_id == fake_slack.dm_channel(MARIA)]
        assert len(exported) == 1
        assert json.loads(exported[0].content)["profile"]["email"] == "maria@example.org"
        assert len(fake_slack.calls_to("files.completeUploadExternal")) == 2
        assert len([m for m in fake_slack.dms_to(MARIA) if "Everything CBA Bot stores" in m.text]) == 1
        with sessions() as check:
            upload = check.scalars(select(Reminder).where(Reminder.method == "files.upload")).one()
            assert (upload.status, upload.attempts) == ("sent", 2)


class TestProfileDelete:
    def test_asks_for_confirmation_first_and_changes_nothing(
        self, slack: SlackDriver, people: dict[str, int], session: Session
    ) -> None:
        before = snapshot(session)
        answer = slack.command(MARIA, "/cba-profile", "delete")
        assert "Erase your personal data?" in answer.text
        buttons = [e["action_id"] for b in answer.json["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert buttons == [views.ERASE_CONFIRM, views.ERASE_CANCEL]
        assert slack.action(MARIA, views.ERASE_CANCEL, value="keep").status == 200
        assert snapshot(session) == before

    def test_erasure_leaves_no_personal_data_and_keeps_counts(
        self,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        people: dict[str, int],
        session: Session,
        sessions: sessionmaker[Session],
        clock: Any,
    ) -> None:
        maria_id = people["maria"]
        # Past activity and a pending reminder addressed to her.
        session.add_all(
            [
                Reminder(
                    dedupe_key=f"event:event:1:1d:{MARIA}",
                    kind="event",
                    subject_type="event",
                    subject_id=1,
                    recipient=MARIA,
                    due_at=clock.now,
                    status="sent",
                    sent_at=clock.now,
                    slack_channel="D" + MARIA,
                ),
                Reminder(
                    dedupe_key=f"event:event:2:1d:{MARIA}",
                    kind="event",
                    subject_type="event",
                    subject_id=2,
                    recipient=MARIA,
                    due_at=clock.now + timedelta(days=1),
                    status="pending",
                ),
                # A message the bot sent someone else about her.
                Reminder(
                    dedupe_key="message:about-maria",
                    kind="message",
                    subject_type="message",
                    subject_id=0,
                    recipient=JAN,
                    due_at=clock.now,
                    status="sent",
                    sent_at=clock.now,
                    payload={"text": f"<@{MARIA}> (Maria Rossi) booked your slot.", "blocks": [], "args": {}},
                ),
            ]
        )
        session.commit()
        slack.command(MARIA, "/cba-profile", "set name Maria L. Rossi")  # her Home tab shows it: a refresh
        slack.command(MARIA, "/cba-profile", "set linkedin https://www.linkedin.com/in/maria-rossi-77")
        slack.command(MARIA, "/cba-profile", "set eccp https://clustercollaboration.eu/in/maria-77")
        # Her export went out through the outbox: the sent row held all of it until now.
        slack.command(MARIA, "/cba-profile", "export")
        assert len(fake_slack.files) == 1
        answer = slack.action(MARIA, views.ERASE_CONFIRM, value="erase")
        assert answer.status == 200

        needles = [
            "Maria Rossi",
            "Maria L. Rossi",
            "maria@example.org",
            "Runs e-mobility pilots",
            "linkedin.com/in/maria-rossi-77",
            "clustercollaboration.eu/in/maria-77",
            "Torino Mobility Cluster",
            "Funding",
            "Piedmont",
            MARIA,
        ]
        with sessions() as check:
            assert find_in_database(check, needles) == []
            erased = check.get(Member, maria_id)
            assert erased is not None
            assert erased.name == "former member"
            assert erased.erased_at is not None
            # Counts of past activity stay right: her row, role and reminders are still counted.
            assert check.scalar(select(func.count()).select_from(RoleGrant).where(RoleGrant.member_id == maria_id)) == 1
            statuses = sorted(check.scalars(select(Reminder.status).where(Reminder.kind == "event")))
            assert statuses == ["cancelled", "sent"]
            about_her = check.scalars(select(Reminder).where(Reminder.recipient == JAN)).one()
            assert (about_her.status, about_her.payload) == ("sent", None)
            sent_to_her = check.scalars(
                select(Reminder).where(Reminder.kind.not_in(("event", "answer")), Reminder.recipient != JAN)
            ).all()
            assert {row.method for row in sent_to_her} >= {"chat.postMessage", "files.upload", "views.publish"}
            assert {row.status for row in sent_to_her} == {"sent"}
            assert {row.recipient for row in sent_to_her} == {"erased"}
            entry = check.scalar(select(AuditEntry).where(AuditEntry.action == "member.erase"))
            assert entry is not None
            assert entry.actor_id == maria_id
        counts = slack.command(ORGANISER, "/cba-directory")
        assert "Maria" not in all_text(counts)
        assert "participant" not in counts.text.split("By cohort")[0]


# --- /cba-directory ----------------------------------------------------------------------------


class TestDirectorySearch:
    def test_words_match_name_organisation_and_tags(self, slack: SlackDriver, people: dict[str, int]) -> None:
        assert "Maria Rossi" in all_text(slack.command(JAN, "/cba-directory", "torino"))
        assert "Jan Novák" in all_text(slack.command(MARIA, "/cba-directory", "novak"))
        assert "Maria Rossi" in all_text(slack.command(JAN, "/cba-directory", "smart mob"))
        assert "No members match" in slack.command(JAN, "/cba-directory", "torino aerospace").text

    def test_filters(self, slack: SlackDriver, people: dict[str, int]) -> None:
        text = all_text(slack.command(JAN, "/cba-directory", "country:it role:participant cohort:cba3"))
        assert "Maria Rossi" in text
        assert "Jan" not in text
        text = all_text(slack.command(MARIA, "/cba-directory", 'expertise:"smart mobility" sector:mobility'))
        assert "Maria Rossi" in text
        assert "Jan" not in text
        assert "No members match" in slack.command(MARIA, "/cba-directory", "cohort:CBA9").text

    def test_cards_carry_a_view_profile_button_that_shows_the_card(
        self, slack: SlackDriver, people: dict[str, int]
    ) -> None:
        answer = slack.command(JAN, "/cba-directory", "torino")
        button = next(b["accessory"] for b in answer.json["blocks"] if b.get("accessory"))
        assert button["action_id"] == views.VIEW_PROFILE
        assert button["text"]["text"] == "View profile"
        assert slack.action(JAN, views.VIEW_PROFILE, value=button["value"]).status == 200

    def test_view_profile_button_rechecks_visibility(
        self, slack: SlackDriver, fake_slack: FakeSlack, people: dict[str, int]
    ) -> None:
        url = fake_slack.new_response_url()
        slack.action(MARIA, views.VIEW_PROFILE, value=str(people["hidden"]), response_url=url)
        shown = json.dumps([c.args for c in fake_slack.calls if c.method != "auth.test"])
        assert "Hilde" not in shown
        assert "There is no member" in shown

    def test_paginates_with_next_and_previous_within_block_limits(
        self, slack: SlackDriver, people: dict[str, int], session: Session, fake_slack: FakeSlack
    ) -> None:
        cohort = make_cohort(session, "CBA3")
        for n in range(30):
            make_profile(
                session, f"U0MANY{n:03d}", f"Member {n:03d}", "participant", cohort=cohort, organisation=f"Cluster {n}"
            )
        session.commit()
        first = slack.command(MARIA, "/cba-directory", "member")
        assert "30 members match" in first.text
        assert len(first.json["blocks"]) <= 50
        nav = next(b for b in first.json["blocks"] if b["type"] == "actions")
        assert [e["text"]["text"] for e in nav["elements"]] == ["Next"]
        assert "Member 000" in all_text(first)
        assert "Member 008" not in all_text(first)
        url = fake_slack.new_response_url()
        slack.action(MARIA, views.PAGE_NEXT, value=nav["elements"][0]["value"], response_url=url)
        posted = [c.args for c in fake_slack.calls if c.method == "response_url"][-1]
        assert "Member 008" in json.dumps(posted)
        assert "Member 000" not in json.dumps(posted)
        labels = [e["text"]["text"] for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert labels == ["Previous", "Next"]

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            ("colour:blue", "is not a filter"),
            ("country:XX", "ISO 3166"),
            ("role:wizard", "is not a role"),
            ("cohort:", "needs a value"),
            ("expertise:!!", "is not a tag"),
        ],
    )
    def test_bad_filters_answer_usage_and_change_nothing(
        self, slack: SlackDriver, people: dict[str, int], session: Session, text: str, needle: str
    ) -> None:
        before = snapshot(session)
        assert_usage(slack.command(MARIA, "/cba-directory", text), "/cba-directory", needle)
        assert snapshot(session) == before


class TestHiddenMembers:
    def test_never_in_another_participants_search_or_counts(self, slack: SlackDriver, people: dict[str, int]) -> None:
        for query in ("mobility", "hilde", "country:BE", "sector:mobility", "role:alumni", "cohort:CBA2"):
            assert "Hilde" not in all_text(slack.command(MARIA, "/cba-directory", query)), query
        counts = slack.command(MARIA, "/cba-directory")
        assert "2 members in the directory" in counts.text
        assert "BE" not in counts.text
        assert "alumni 1" in counts.text
        assert "Hidden" not in counts.text

    def test_an_organiser_sees_them_and_who_is_hidden(self, slack: SlackDriver, people: dict[str, int]) -> None:
        assert "Hilde Verborgen" in all_text(slack.command(ORGANISER, "/cba-directory", "mobility"))
        counts = slack.command(ORGANISER, "/cba-directory")
        assert "BE 1" in counts.text
        assert "alumni 2" in counts.text
        assert f"<@{HIDDEN}>" in counts.text

    def test_counts_name_roles_cohorts_and_countries(self, slack: SlackDriver, people: dict[str, int]) -> None:
        text = slack.command(JAN, "/cba-directory").text
        assert "participant 1" in text
        assert "CBA3 1" in text
        assert "CBA2 1" in text
        assert "IT 1" in text
        assert "CZ 1" in text


# --- /cba-admin role ---------------------------------------------------------------------------


class TestRoles:
    def test_grants_a_role_with_a_cohort_and_audits_it(
        self, slack: SlackDriver, people: dict[str, int], sessions: sessionmaker[Session]
    ) -> None:
        answer = slack.command(ORGANISER, "/cba-admin", f"role <@{JAN}|jan> coach CBA3")
        assert "now holds the coach role in CBA3" in answer.text
        with sessions() as check:
            roles = set(check.scalars(select(RoleGrant.role).where(RoleGrant.member_id == people["jan"])))
            assert roles == {"alumni", "coach"}
            entry = check.scalar(select(AuditEntry).where(AuditEntry.action == "role.grant"))
            assert entry is not None
            assert entry.details == {"role": "coach", "cohort": "CBA3"}
        assert "coach (CBA3)" in all_text(slack.command(MARIA, "/cba-profile", f"<@{JAN}>"))

    def test_grants_to_a_workspace_user_the_bot_did_not_know(
        self, slack: SlackDriver, fake_slack: FakeSlack, people: dict[str, int], sessions: sessionmaker[Session]
    ) -> None:
        fake_slack.add_user("U0NEWCOACH", "Nina Coach", email="nina@example.org")
        fake_slack.reset_calls()
        answer = slack.command(ORGANISER, "/cba-admin", "role <@U0NEWCOACH> coach")
        assert "<@U0NEWCOACH> now holds the coach role" in answer.text
        assert fake_slack.calls_to("users.info") == []  # nothing asked of Slack while the request was open
        learn_new_members(slack.deps)  # the scheduler's tick learns who they are
        nina = member(sessions, "U0NEWCOACH")
        assert (nina.name, nina.email) == ("Nina Coach", "nina@example.org")
        assert "Nina Coach" in all_text(slack.command(ORGANISER, "/cba-directory", "nina"))

    def test_removes_a_role(self, slack: SlackDriver, people: dict[str, int], sessions: sessionmaker[Session]) -> None:
        answer = slack.command(ORGANISER, "/cba-admin", f"role remove <@{JAN}> alumni")
        assert "no longer holds the alumni role" in answer.text
        with sessions() as check:
            assert (
                check.scalar(select(func.count()).select_from(RoleGrant).where(RoleGrant.member_id == people["jan"]))
                == 0
            )
            assert check.scalar(select(AuditEntry.action).where(AuditEntry.action == "role.remove")) == "role.remove"

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            (f"role <@{JAN}>", "Which role?"),
            ("role", "Whose role?"),
            (f"role <@{JAN}> wizard", "is not a role"),
            (f"role <@{JAN}> participant CBA9", "There is no cohort CBA9"),
            ("role maria coach", "is not a member"),
            (f"role remove <@{MARIA}> coach", "does not hold the coach role"),
            (f"role remove <@{MARIA}>", "Which role?"),
            ("role remove <@U0GHOST> coach", "There is no member"),
        ],
    )
    def test_bad_input_answers_usage_and_changes_nothing(
        self, slack: SlackDriver, people: dict[str, int], session: Session, text: str, needle: str
    ) -> None:
        before = snapshot(session)
        assert_usage(slack.command(ORGANISER, "/cba-admin", text), "/cba-admin", needle)
        assert snapshot(session) == before


class TestRoleMatrix:
    @pytest.mark.parametrize("role", ["participant", "alumni", "coach"])
    @pytest.mark.parametrize(
        "text", [f"role <@{MARIA}> coach", f"role <@{MARIA}> organiser CBA3", f"role remove <@{MARIA}> participant"]
    )
    def test_only_organisers_change_roles(
        self, slack: SlackDriver, session: Session, people: dict[str, int], role: str, text: str
    ) -> None:
        caller = f"U0{role.upper()[:6]}X"
        make_profile(session, caller, f"A {role}", role)
        session.commit()
        before = snapshot(session)
        answer = slack.command(caller, "/cba-admin", text)
        assert answer.json["response_type"] == "ephemeral"
        assert "You need to be an organiser" in answer.text
        assert snapshot(session) == before


# --- onboarding --------------------------------------------------------------------------------


class TestWelcome:
    def _event(self) -> dict[str, Any]:
        return {
            "type": "team_join",
            "user": {
                "id": "U0NEWBIE",
                "name": "newbie",
                "real_name": "Nora Newbie",
                "profile": {"email": "nora@example.org"},
            },
        }

    def test_a_new_member_gets_one_welcome_dm_whatever_slacks_retries(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        fake_slack.add_user("U0NEWBIE", "Nora Newbie", email="nora@example.org")
        for retry in (None, 1, 2):
            assert slack.event(self._event(), event_id="Ev0JOIN1", retry_num=retry).status == 200
        dms = fake_slack.dms_to("U0NEWBIE")
        assert len(dms) == 1
        assert "Nora Newbie" in dms[0].text
        # Not in the roster yet: told whom to ask, and no button (it would be refused).
        assert "not registered in the Cluster Booster Academy yet" in dms[0].text
        assert f"<@{ORGANISER}>" in dms[0].text
        assert [b for b in dms[0].blocks if b["type"] == "actions"] == []
        assert member(sessions, "U0NEWBIE").name == "Nora Newbie"
        assert fake_slack.calls_to("users.info") == []

    def test_stores_what_the_event_carries_without_asking_slack(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        event = self._event()
        event["user"]["tz"] = "Europe/Lisbon"
        slack.event(event, event_id="Ev0JOIN3")
        newbie = member(sessions, "U0NEWBIE")
        assert (newbie.name, newbie.email, newbie.tz) == ("Nora Newbie", "nora@example.org", "Europe/Lisbon")
        assert newbie.tz_checked_at is not None
        # The welcome, and no users.info or other call (auth.test is Bolt's own, once per client).
        assert [call.method for call in fake_slack.calls if call.method != "auth.test"] == ["chat.postMessage"]

    def test_one_welcome_when_slack_retries_while_the_first_delivery_failed(
        self,
        bot: Bot,
        slack: SlackDriver,
        fake_slack: FakeSlack,
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        fake_slack.add_user("U0NEWBIE", "Nora Newbie", email="nora@example.org")
        fake_slack.fail("chat.postMessage", "service_unavailable", status=503, times=1)
        slack.event(self._event(), event_id="Ev0JOIN4")
        assert fake_slack.dms_to("U0NEWBIE") == []
        # Slack retries the event (same ID), and later sends the join again under a new ID.
        slack.event(self._event(), event_id="Ev0JOIN4", retry_num=1)
        slack.event(self._event(), event_id="Ev0JOIN5")
        clock.advance(timedelta(minutes=1))  # past the back-off of the failed attempt
        tick(bot.deps)
        tick(bot.deps)
        dms = fake_slack.dms_to("U0NEWBIE")
        assert len(dms) == 1
        assert "Nora Newbie" in dms[0].text
        assert len(fake_slack.calls_to("chat.postMessage")) == 2  # the failed attempt and its retry
        with sessions() as check:
            welcome = check.scalars(select(Reminder).where(Reminder.recipient == "U0NEWBIE")).one()
            assert (welcome.status, welcome.attempts) == ("sent", 2)

    def test_a_registered_newcomer_gets_the_profile_button_and_it_opens_the_modal(
        self, slack: SlackDriver, fake_slack: FakeSlack, sessions: sessionmaker[Session]
    ) -> None:
        with sessions.begin() as session:  # on the roster already, with a role, before joining the workspace
            make_member(session, "U0NEWBIE", "Nora Newbie", "participant")
        fake_slack.add_user("U0NEWBIE", "Nora Newbie", email="nora@example.org")
        slack.event(self._event(), event_id="Ev0JOIN2")
        dms = fake_slack.dms_to("U0NEWBIE")
        assert "not registered" not in dms[0].text
        button = next(e for b in dms[0].blocks if b["type"] == "actions" for e in b["elements"])
        assert button["action_id"] == views.OPEN_PROFILE
        slack.action("U0NEWBIE", views.OPEN_PROFILE, value="open", channel_id="DU0NEWBIE")
        opened = list(fake_slack.views.values())
        assert opened
        assert opened[-1]["callback_id"] == views.PROFILE_MODAL
        name = next(b for b in opened[-1]["blocks"] if b["block_id"] == "name")
        assert name["element"]["initial_value"] == "Nora Newbie"
