"""Block Kit builders: escaped user text, anonymity, Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.console.fakeslack import validate_blocks, validate_view
from commands.questions import views
from commands.questions.service import Page
from storage.models import Answer, Member, Question

ZONE = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NASTY = "Hi <!channel> <!here> <@U123> <http://x|y> & more"


def question(text: str = NASTY, *, anonymous: bool = False, status: str = "open") -> Question:
    asker = Member(id=1, slack_id="U0ASKER", name="Paula Private")
    q = Question(
        id=7,
        asker_id=1,
        anonymous=anonymous,
        text=text,
        created_at=NOW,
        channel_id="C0Q",
        message_ts="1.2",
        permalink="https://x.slack.com/archives/C0Q/p12",
        status=status,
        resolved_at=NOW if status == "resolved" else None,
        nudged=False,
    )
    q.asker = asker
    return q


def dump(blocks: list) -> str:
    return json.dumps([b.to_dict() for b in blocks])


class TestQuestionMessage:
    def test_shows_the_asker_the_text_escaped_and_both_buttons(self) -> None:
        text, blocks = views.question_message(question(), ZONE)
        body = dump(blocks)
        assert "<@U0ASKER>" in body
        assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;http://x|y&gt; &amp; more" in body
        assert "<!channel>" not in body + text
        assert "question_answer" in body
        assert "question_resolve" in body
        assert validate_blocks([b.to_dict() for b in blocks]) == []

    def test_anonymous_questions_do_not_name_the_asker(self) -> None:
        text, blocks = views.question_message(question(anonymous=True), ZONE)
        body = dump(blocks) + text
        assert "U0ASKER" not in body
        assert "Paula" not in body
        assert views.ANONYMOUS in body

    def test_resolved_question_has_no_resolve_button(self) -> None:
        _text, blocks = views.question_message(question(status="resolved"), ZONE)
        body = dump(blocks)
        assert "resolved" in body
        assert "question_resolve" not in body

    def test_the_longest_question_of_markup_still_fits_a_section(self) -> None:
        _text, blocks = views.question_message(question("<>&\n" * 625), ZONE)
        assert validate_blocks([b.to_dict() for b in blocks]) == []


class TestAskerLabels:
    def test_organisers_see_anonymous_askers_others_do_not(self) -> None:
        q = question(anonymous=True)
        assert views.asker_for(99, viewer_is_organiser=False)(q) == views.ANONYMOUS
        assert "<@U0ASKER>" in views.asker_for(99, viewer_is_organiser=True)(q)
        assert views.asker_for(1, viewer_is_organiser=False)(q) == "you (anonymously)"

    def test_an_erased_member_is_a_former_member(self) -> None:
        assert views.member_label(Member(slack_id=None, name="")) == "former member"
        assert views.member_label(Member(slack_id="U1", erased_at=NOW)) == "former member"
        assert views.member_label(None) == "former member"


class TestModalAndPages:
    def test_answer_modal_is_valid_and_carries_the_question(self) -> None:
        view = views.answer_modal(question(), "C0Q").to_dict()
        assert validate_view(view) == []
        assert json.loads(view["private_metadata"]) == {"question_id": 7, "channel_id": "C0Q"}

    def test_a_full_search_page_stays_within_limits(self) -> None:
        questions = []
        for n in range(5):
            q = question("<b>" * 800)
            q.id = n + 1
            q.answers = [Answer(id=i, text="<x>" * 1000, author=None) for i in range(6)]
            questions.append(q)
        text, blocks = views.search_page(Page(questions, 1, 30), "<!here> " * 40, views.public_asker, ZONE)
        assert validate_blocks([b.to_dict() for b in blocks]) == []
        shown = [{k: v for k, v in b.to_dict().items() if k != "elements"} for b in blocks]
        body = json.dumps(shown) + text  # button values are data for the bot, never displayed
        assert "<!here>" not in body
        assert "&lt;!here&gt;" in body
        assert "former member" in body
        nav = [b.to_dict() for b in blocks if b.to_dict().get("block_id") == "questions-pages"][0]
        assert [e["text"]["text"] for e in nav["elements"]] == ["Previous", "Next"]
        assert all(len(e["value"]) <= 2000 for e in nav["elements"])


class TestNudgeAndEscalation:
    def test_the_nudge_dm_escapes_the_text_links_the_thread_and_hides_an_anonymous_asker(self) -> None:
        text, blocks = views.nudge_dm(question(anonymous=True), NOW.replace(day=27))
        body = dump(blocks) + text
        assert "2 days" in body
        assert "https://x.slack.com/archives/C0Q/p12" in body
        assert "&lt;!channel&gt;" in body
        assert "<!channel>" not in body
        assert "U0ASKER" not in body
        assert "Paula" not in body
        assert validate_blocks([b.to_dict() for b in blocks]) == []

    def test_the_escalation_dm_names_who_was_asked_with_the_question_and_its_link(self) -> None:
        asked = [Member(id=2, slack_id="U0JAN", name="Jan"), Member(id=3, slack_id="U0HIDDEN", name="Hugo")]
        text, blocks = views.escalation_dm(question(anonymous=True), asked, nudged=True, now=NOW.replace(day=29))
        body = dump(blocks) + text
        assert "question #7" in text
        assert "4 days" in body
        assert "Asked and reminded by DM: <@U0JAN>, <@U0HIDDEN>." in body
        assert "https://x.slack.com/archives/C0Q/p12" in body
        assert "&lt;!channel&gt;" in body
        assert "<!channel>" not in body
        assert "U0ASKER" not in body  # anonymous in the organisers' DM too
        assert validate_blocks([b.to_dict() for b in blocks]) == []

    def test_the_escalation_dm_says_when_nobody_was_asked(self) -> None:
        _text, blocks = views.escalation_dm(question(), [], nudged=False, now=NOW)
        assert "nobody was asked" in dump(blocks)
