"""Block Kit for questions: channel post, DMs, the Answer modal, list and search pages (pure builders).

Every question and answer text passes through `escape()`: what a user typed never pings or links.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from commands.common.text import escape, truncate
from commands.common.timefmt import slack_date
from commands.questions.service import Page
from storage.models import Answer, Member, Question

ANSWER_ACTION = "question_answer"
RESOLVE_ACTION = "question_resolve"
PAGE_PREVIOUS_ACTION = "questions_page_previous"
PAGE_NEXT_ACTION = "questions_page_next"
ANSWER_VIEW = "question_answer_submit"
ANSWER_BLOCK = "answer"
ANSWER_INPUT = "text"
SECTION_LIMIT = 2900
ANONYMOUS = "an anonymous member"
FORMER_MEMBER = "former member"

AskerLabel = Callable[[Question], str]


def member_label(member: Member | None) -> str:
    """A mention, or "former member" once the person erased their data."""
    if member is None or member.erased_at is not None or not member.slack_id:
        return FORMER_MEMBER
    return f"<@{member.slack_id}>"


def asker_for(viewer_member_id: int | None, viewer_is_organiser: bool) -> AskerLabel:
    """How askers appear to one viewer: anonymous ones are named to organisers only (and "you" to themselves)."""

    def label(question: Question) -> str:
        if not question.anonymous:
            return member_label(question.asker)
        if viewer_member_id is not None and question.asker_id == viewer_member_id:
            return "you (anonymously)"
        if viewer_is_organiser:
            return f"{member_label(question.asker)} (anonymous to others)"
        return ANONYMOUS

    return label


def public_asker(question: Question) -> str:
    """How the asker appears to everyone but organisers."""
    return ANONYMOUS if question.anonymous else member_label(question.asker)


def quoted(text: str, limit: int = SECTION_LIMIT) -> str:
    """User text, escaped and shortened, as a block quote."""
    body = escape(text.strip())
    # Truncated after escaping and quoting, so the result always fits; a cut entity shows as plain text.
    return truncate("\n".join(f">{line}" for line in body.splitlines() or [""]), limit)


def _status_line(question: Question, zone: ZoneInfo) -> str:
    if question.status == "resolved" and question.resolved_at is not None:
        return f":white_check_mark: Resolved {slack_date(question.resolved_at, zone)}"
    return ":speech_balloon: Open · answer in this thread or with the *Answer* button"


def question_message(question: Question, zone: ZoneInfo) -> tuple[str, list[Block]]:
    """The post in the questions channel (also what chat.update shows once resolved)."""
    resolved = question.status == "resolved"
    title = (
        f"{':white_check_mark:' if resolved else ':question:'} *question #{question.id}* from {public_asker(question)}"
    )
    if resolved:
        title += " — *resolved*"
    buttons = [
        ButtonElement(text="Answer", action_id=ANSWER_ACTION, value=str(question.id), style="primary"),
    ]
    if not resolved:
        buttons.append(ButtonElement(text="Mark resolved", action_id=RESOLVE_ACTION, value=str(question.id)))
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=title)),
        SectionBlock(text=MarkdownTextObject(text=quoted(question.text))),
        ContextBlock(elements=[MarkdownTextObject(text=_status_line(question, zone))]),
        ActionsBlock(block_id=f"question-{question.id}", elements=buttons),
    ]
    state = "resolved " if resolved else ""
    text = f"{state}question #{question.id}: {escape(truncate(question.text, 200))}"
    return text, blocks


def ask_reply(question: Question, routed: int) -> tuple[str, list[Block]]:
    """The asker's ephemeral confirmation, from the database alone (the post follows), with "Mark resolved"."""
    where = f"<#{question.channel_id}>" if question.channel_id else "the questions channel"
    text = f":white_check_mark: Your question #{question.id} is being posted in {where}."
    if question.anonymous:
        text += " Your name is not shown."
    if routed:
        people = "alumni" if routed > 1 else "alumni member"
        text += f" I am asking {routed} {people} whose expertise matches."
    else:
        text += " No available alumni matches it right now: the organisers have been told and will find someone."
    text += " I will DM you its link once it is posted, and a DM for each answer."
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            elements=[ButtonElement(text="Mark resolved", action_id=RESOLVE_ACTION, value=str(question.id))],
        ),
    ]
    return text, blocks


def asked_count(routed: int) -> str:
    if not routed:
        return "No available alumni matches it right now: the organisers have been told and will find someone."
    people = "alumni" if routed > 1 else "alumni member"
    return f"I asked {routed} {people} whose expertise matches."


def posted_dm(question: Question, routed: int) -> str:
    """To the asker once the post is out, with how many alumni were asked."""
    if question.permalink:
        text = f":white_check_mark: Your question #{question.id} is posted: <{question.permalink}|View it>."
    else:
        where = f"<#{question.channel_id}>" if question.channel_id else "the questions channel"
        text = f":white_check_mark: Your question #{question.id} is posted in {where}."
    return f"{text} {asked_count(routed)}"


def no_match_organisers(question: Question) -> tuple[str, list[Block]]:
    """To the organisers when no alumni profile matches a question (never names an anonymous asker)."""
    where = f" in <#{question.channel_id}>" if question.channel_id else ""
    intro = (
        f":mag: *question #{question.id}*{where} from {public_asker(question)} matches no available alumni "
        "(who accept questions, are not away and are under their monthly capacity). Could you point someone to it?"
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        SectionBlock(text=MarkdownTextObject(text=quoted(question.text, 1500))),
    ]
    return f"question #{question.id} matches no alumni: could you point someone to it?", blocks


def post_failed_asker(question: Question, channel: str, error: str, routed: int) -> str:
    text = (
        f":warning: Your question #{question.id} could not be posted to <#{channel}> (Slack said `{escape(error)}`). "
        "The organisers have been told."
    )
    if routed:
        people = "alumni" if routed > 1 else "alumni member"
        text += f" I sent it to {routed} {people} directly; their answers still reach you by DM."
    return text


def post_failed_organisers(question: Question, channel: str, error: str) -> str:
    return (
        f":warning: I could not post question #{question.id} to <#{channel}> (Slack said `{escape(error)}`). "
        "Please invite me to that channel, or check CBA_QUESTIONS_CHANNEL."
    )


def reply_permalink(question: Question, channel: str, ts: str, thread_ts: str) -> str | None:
    """The link of a reply in the question's thread, built from the question's own link (no Slack call)."""
    if not question.permalink or "/archives/" not in question.permalink:
        return None
    base = question.permalink.split("/archives/", 1)[0]
    return f"{base}/archives/{channel}/p{ts.replace('.', '')}?thread_ts={thread_ts}&cid={channel}"


def alumni_dm(question: Question) -> tuple[str, list[Block]]:
    """The DM to a routed alumni: never names an anonymous asker."""
    link = f"\n<{question.permalink}|Open the thread>" if question.permalink else ""
    intro = f":wave: An alumni question that matches your expertise — *question #{question.id}* from {public_asker(question)}:"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        SectionBlock(text=MarkdownTextObject(text=quoted(question.text) + link)),
        ActionsBlock(
            elements=[ButtonElement(text="Answer", action_id=ANSWER_ACTION, value=str(question.id), style="primary")]
        ),
    ]
    return f"An alumni question for you: question #{question.id}", blocks


def _age(seconds: float) -> str:
    hours = int(seconds // 3600)
    if hours >= 48:
        return f"{hours // 24} days"
    if hours >= 2:
        return f"{hours} hours"
    return "a while"


def nudge_dm(question: Question, now: datetime) -> tuple[str, list[Block]]:
    """The one reminder, by DM to each routed alumnus, when nobody has answered yet (names nobody)."""
    age = _age((now - question.created_at).total_seconds())
    intro = (
        f":hourglass: *question #{question.id}* from {public_asker(question)} has had no answer for {age}. "
        "It matches your expertise: can you help?"
    )
    link = f"\n<{question.permalink}|Open the thread>" if question.permalink else ""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        SectionBlock(text=MarkdownTextObject(text=quoted(question.text, 1500) + link)),
        ActionsBlock(
            elements=[ButtonElement(text="Answer", action_id=ANSWER_ACTION, value=str(question.id), style="primary")]
        ),
    ]
    return f"question #{question.id} still has no answer: can you help?", blocks


def escalation_dm(question: Question, asked: list[Member], *, nudged: bool, now: datetime) -> tuple[str, list[Block]]:
    """To each organiser once a question stays unanswered after CBA_QUESTION_ESCALATION: the question, its link,
    who was asked. Organisers may know who was asked (hidden alumni too); an anonymous asker stays anonymous."""
    age = _age((now - question.created_at).total_seconds())
    where = f" in <#{question.channel_id}>" if question.channel_id else ""
    intro = (
        f":rotating_light: *question #{question.id}*{where} from {public_asker(question)} has had no answer for {age}."
    )
    if asked:
        who = ", ".join(member_label(member) for member in asked)
        again = " and reminded by DM" if nudged else ""
        intro += f"\nAsked{again}: {who}."
    else:
        intro += "\nNo alumni profile matched it: nobody was asked."
    intro += "\nCould you find someone to answer it, answer it yourself, or mark it resolved?"
    link = f"\n<{question.permalink}|Open the thread>" if question.permalink else ""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        SectionBlock(text=MarkdownTextObject(text=quoted(question.text, 1500) + link)),
        ActionsBlock(
            elements=[
                ButtonElement(text="Answer", action_id=ANSWER_ACTION, value=str(question.id), style="primary"),
                ButtonElement(text="Mark resolved", action_id=RESOLVE_ACTION, value=str(question.id)),
            ]
        ),
    ]
    return f"question #{question.id} is still unanswered after {age}: escalated to the organisers", blocks


def answer_thread_post(answer: Answer, author: Member | None) -> str:
    said = "answered" if answer.answering else "replied"
    return f":speech_balloon: {member_label(author)} {said}:\n{quoted(answer.text)}"


def answer_dm(question: Question, answer: Answer, author: Member | None) -> tuple[str, list[Block]]:
    """To the asker (also of an anonymous question): who answered or replied, with a link."""
    link = answer.permalink or question.permalink
    if answer.answering:
        where = f" <{link}|See the answer>" if link else ""
        text = f":speech_balloon: {member_label(author)} answered your question #{question.id}.{where}"
    else:
        where = f" <{link}|See the reply>" if link else ""
        text = f":speech_balloon: {member_label(author)} replied to your question #{question.id}.{where}"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        SectionBlock(text=MarkdownTextObject(text=quoted(answer.text, 1500))),
    ]
    if question.status == "open":
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Mark resolved", action_id=RESOLVE_ACTION, value=str(question.id))]
            )
        )
    return text, blocks


def answer_modal(question: Question, channel_id: str | None = None) -> View:
    meta: dict[str, object] = {"question_id": question.id}
    if channel_id:
        meta["channel_id"] = channel_id
    return View(
        type="modal",
        callback_id=ANSWER_VIEW,
        private_metadata=json.dumps(meta),
        title=PlainTextObject(text=f"Answer question #{question.id}"[:24]),
        submit=PlainTextObject(text="Send answer"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=quoted(question.text))),
            InputBlock(
                block_id=ANSWER_BLOCK,
                label=PlainTextObject(text="Your answer"),
                element=PlainTextInputElement(action_id=ANSWER_INPUT, multiline=True, max_length=3000),
            ),
        ],
    )


def _page_nav(page: Page, what: str, words: str = "") -> list[Block]:
    pages = max(1, -(-page.total // page.per_page))
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=f"Page {page.page + 1} of {pages} · {page.total} {what}")])
    ]
    buttons = []
    for enabled, action, label, target in (
        (page.has_previous, PAGE_PREVIOUS_ACTION, "Previous", page.page - 1),
        (page.has_next, PAGE_NEXT_ACTION, "Next", page.page + 1),
    ):
        if enabled:
            value = json.dumps({"v": "search" if words else "list", "p": target, "q": words[:200]})
            buttons.append(ButtonElement(text=label, action_id=action, value=value))
    if buttons:
        blocks.append(ActionsBlock(block_id="questions-pages", elements=buttons))
    return blocks


def _question_line(question: Question, asker: AskerLabel, zone: ZoneInfo) -> str:
    count = len(question.answers)
    answers = f"{count} answer{'' if count == 1 else 's'}"
    status = "resolved" if question.status == "resolved" else "open"
    if question.status != "resolved" and question.escalated_at is not None and question.answered_at is None:
        status += " · escalated to the organisers"
    link = f" · <{question.permalink}|thread>" if question.permalink else ""
    head = f"*question #{question.id}* · {asker(question)} · {slack_date(question.created_at, zone)} · {status} · {answers}{link}"
    return head + "\n" + quoted(question.text, 600)


def list_page(page: Page, asker: AskerLabel, zone: ZoneInfo) -> tuple[str, list[Block]]:
    if not page.questions:
        text = "There are no open questions. Ask one with `/cba-ask QUESTION`."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    text = f"Open questions ({page.total})"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{text}*"))]
    for question in page.questions:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_question_line(question, asker, zone))))
        blocks.append(DividerBlock())
    blocks += _page_nav(page, "open questions")
    return text, blocks


def search_page(page: Page, words: str, asker: AskerLabel, zone: ZoneInfo) -> tuple[str, list[Block]]:
    shown = escape(truncate(words, 100))
    if not page.questions:
        text = f"No past question matches “{shown}”. Ask it with `/cba-ask QUESTION`."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    text = f"Questions matching “{shown}” ({page.total})"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{text}*"))]
    for question in page.questions:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_question_line(question, asker, zone))))
        if question.answers:
            lines = []
            for answer in question.answers[:3]:
                link = f" (<{answer.permalink}|link>)" if answer.permalink else ""
                lines.append(f"↳ {member_label(answer.author)}{link}:\n{quoted(answer.text, 400)}")
            if len(question.answers) > 3:
                lines.append(f"…and {len(question.answers) - 3} more in the thread")
            blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT))))
        blocks.append(DividerBlock())
    blocks += _page_nav(page, "questions", words)
    return text, blocks
