"""The Bolt-facing side of /cba-ask: unpack, call the service, post and DM (thin)."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.kernel.request import Reply, Turn, ViewResult, private_metadata
from commands.common.actors import persisted
from commands.common.errors import CbaError, Conflict, FieldErrors, UsageError
from commands.common.parsing import parse_id
from commands.questions import parse as parsing
from commands.questions import service, views
from storage.models import Answer, Member, Question

log = logging.getLogger(__name__)

# Message subtypes that are still someone's reply; edits, deletions, joins and bot posts are not.
ANSWER_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


# --- /cba-ask -------------------------------------------------------------------------------------


def handle_command(turn: Turn) -> Reply:
    request = parsing.parse(turn.text)
    if isinstance(request, parsing.Ask):
        return ask(turn, request)
    if isinstance(request, parsing.ListOpen):
        return show_list(turn, request.page)
    if isinstance(request, parsing.Search):
        return show_search(turn, request.words, request.page)
    return resolve(turn, request.question_id)


def ask(turn: Turn, request: parsing.Ask) -> Reply:
    settings = turn.deps.settings
    channel = settings.questions_channel
    if not channel:
        raise CbaError(
            ":warning: Questions cannot be posted yet: no questions channel is configured. "
            "Please ask an organiser to set CBA_QUESTIONS_CHANNEL."
        )
    question = service.ask(
        turn.session, turn.actor, request.text, anonymous=request.anonymous, now=turn.now, channel_id=channel
    )
    text, blocks = views.question_message(question, settings.zone)
    ts = _post_question(turn, channel, text, blocks)
    service.attach_message(question, channel, ts, _permalink(turn.client, channel, ts))
    routed = service.route(turn.session, question, turn.now)
    service.plan_nudge(turn.session, question, settings.question_nudge)

    recipients = [row.member.slack_id for row in routed if row.member.slack_id]
    dm_text, dm_blocks = views.alumni_dm(question)
    client = turn.client
    turn.later(lambda: _send_each(client, recipients, dm_text, dm_blocks))
    reply_text, reply_blocks = views.ask_reply(question, len(recipients))
    return Reply(reply_text, reply_blocks)


def _post_question(turn: Turn, channel: str, text: str, blocks: list[Block]) -> str:
    """Post to the questions channel, joining it if needed; if that fails, tell the organisers and refuse."""
    client = turn.client
    try:
        return str(client.chat_postMessage(channel=channel, text=text, blocks=blocks)["ts"])
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
    if error == "not_in_channel":
        try:
            client.conversations_join(channel=channel)
            return str(client.chat_postMessage(channel=channel, text=text, blocks=blocks)["ts"])
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
    log.warning("could not post a question to the questions channel: %s", error)
    notice = (
        f":warning: I could not post an alumni question to <#{channel}> (Slack said `{error}`). "
        "Please invite me to that channel, or check CBA_QUESTIONS_CHANNEL."
    )
    _send_each(client, service.organiser_ids(turn.session, turn.deps.settings.organisers), notice, None)
    raise Conflict(
        f":warning: Your question could not be posted to <#{channel}> (Slack said `{error}`). "
        "The organisers have been told; nothing was saved. Please try again later."
    )


def _permalink(client: WebClient, channel: str, ts: str) -> str | None:
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except SlackApiError as exc:
        log.warning("chat.getPermalink failed: %s", exc.response.get("error"))
        return None


def _send_each(client: WebClient, users: list[str], text: str, blocks: list[Block] | None) -> None:
    """DMs, one by one: one person's failure does not stop the others."""
    for user in users:
        try:
            if blocks:
                client.chat_postMessage(channel=user, text=text, blocks=blocks)
            else:
                client.chat_postMessage(channel=user, text=text)
        except SlackApiError as exc:
            log.warning("a question DM could not be delivered: %s", exc.response.get("error"))


def _asker_label(turn: Turn) -> views.AskerLabel:
    return views.asker_for(turn.actor.member.id, turn.actor.has("organiser"))


def show_list(turn: Turn, page: int) -> Reply:
    text, blocks = views.list_page(
        service.open_questions(turn.session, page), _asker_label(turn), turn.deps.settings.zone
    )
    return Reply(text, blocks)


def show_search(turn: Turn, words: str, page: int) -> Reply:
    text, blocks = views.search_page(
        service.search(turn.session, words, page), words, _asker_label(turn), turn.deps.settings.zone
    )
    return Reply(text, blocks)


def resolve(turn: Turn, question_id: int) -> Reply:
    question = service.resolve(turn.session, turn.actor, question_id, turn.now)
    _update_channel_message(turn, question)
    return Reply(f":white_check_mark: question #{question.id} is marked resolved.")


def _update_channel_message(turn: Turn, question: Question) -> None:
    if not question.channel_id or not question.message_ts:
        return
    channel, ts = question.channel_id, question.message_ts
    text, blocks = views.question_message(question, turn.deps.settings.zone)
    client = turn.client

    def update() -> None:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not update a question message: %s", exc.response.get("error"))

    turn.later(update)


# --- buttons --------------------------------------------------------------------------------------


def _action_value(turn: Turn) -> str:
    actions = turn.body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _question_from_button(turn: Turn) -> Question:
    question_id = parse_id(_action_value(turn), "question", parsing.usage())
    return service.get_question(turn.session, question_id)


def resolve_button(turn: Turn) -> Reply:
    question = _question_from_button(turn)
    return resolve(turn, question.id)


def answer_button(turn: Turn) -> None:
    question = _question_from_button(turn)
    service.check_may_answer(turn.actor, question)
    turn.client.views_open(trigger_id=turn.trigger_id, view=views.answer_modal(question, turn.channel_id))


def page_button(turn: Turn) -> Reply:
    try:
        value = json.loads(_action_value(turn))
        page = int(value.get("p", 0))
        words = str(value.get("q") or "")
    except (ValueError, TypeError, AttributeError):
        raise UsageError("That page is no longer available.", usage=parsing.usage()) from None
    reply = show_search(turn, words, page) if words else show_list(turn, page)
    reply.replace_original = True
    return reply


# --- answers --------------------------------------------------------------------------------------


def submit_answer(turn: Turn) -> ViewResult:
    meta = private_metadata(turn.body)
    question = service.get_question(turn.session, int(meta.get("question_id") or 0))
    values = ((turn.body.get("view") or {}).get("state") or {}).get("values") or {}
    raw = ((values.get(views.ANSWER_BLOCK) or {}).get(views.ANSWER_INPUT) or {}).get("value")
    try:
        text = service.check_answer_text(raw)
    except UsageError as exc:
        raise FieldErrors({views.ANSWER_BLOCK: exc.message}) from None
    service.check_may_answer(turn.actor, question)
    answer = service.add_answer(turn.session, question, turn.actor.member, text, source="button", now=turn.now)
    assert answer is not None  # no Slack ts yet, so never a duplicate
    author = turn.actor.member
    post = views.answer_thread_post(answer, author)
    channel, thread_ts, answer_id = question.channel_id, question.message_ts, answer.id
    client, sessions, asker = turn.client, turn.deps.sessions, _asker_slack_id(question)

    def publish() -> None:
        ts = permalink = None
        if channel and thread_ts:
            try:
                ts = str(client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=post)["ts"])
            except SlackApiError as exc:
                log.warning("could not post an answer in its thread: %s", exc.response.get("error"))
            if ts:
                permalink = _permalink(client, channel, ts)
                with sessions.begin() as session:
                    service.set_answer_message(session, answer_id, ts, permalink)
        answer.slack_ts, answer.permalink = ts, permalink
        _tell_asker(client, asker, question, answer, author)

    turn.later(publish)
    return ViewResult(reply=Reply(f":white_check_mark: Your answer to question #{question.id} is posted. Thank you!"))


def thread_reply(turn: Turn, event: dict[str, Any]) -> None:
    """A reply in a question's thread is an answer (once per message, whatever Slack redelivers)."""
    if event.get("subtype") not in ANSWER_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
        return
    channel, ts, thread_ts = event.get("channel"), event.get("ts"), event.get("thread_ts")
    if not channel or not ts or not thread_ts or ts == thread_ts or not event.get("user"):
        return
    question = service.question_for_thread(turn.session, str(channel), str(thread_ts))
    if question is None or service.is_asker(turn.actor, question):
        return  # not a question's thread, or the asker's own follow-up
    text = parsing.clean(str(event.get("text") or "")) or "(a file)"
    author = persisted(turn.session, turn.actor)
    answer = service.add_answer(
        turn.session,
        question,
        author,
        text,
        source="thread",
        now=turn.now,
        slack_ts=str(ts),
        permalink=_permalink(turn.client, str(channel), str(ts)),
    )
    if answer is None:
        return
    client, asker = turn.client, _asker_slack_id(question)
    turn.later(lambda: _tell_asker(client, asker, question, answer, author))


def _asker_slack_id(question: Question) -> str | None:
    asker = question.asker
    if asker is None or asker.erased_at is not None or not asker.slack_id:
        return None
    return asker.slack_id


def _tell_asker(
    client: WebClient, asker: str | None, question: Question, answer: Answer, author: Member | None
) -> None:
    """The asker hears of each answer by DM (anonymous askers too: the DM is theirs alone)."""
    if asker is None:
        return
    text, blocks = views.answer_dm(question, answer, author)
    _send_each(client, [asker], text, blocks)
