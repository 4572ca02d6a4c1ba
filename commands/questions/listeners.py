"""The Bolt-facing side of /cba-ask: unpack, call the service, queue what is said (thin).

Nothing here calls Slack but `views.open` for the Answer modal (after the commit: it needs the trigger);
posts, DMs and edits are outbox rows (commands.questions.posting).
"""

from __future__ import annotations

from typing import Any

from bot.kernel import outbox
from bot.kernel.request import Reply, Turn, ViewResult, private_metadata
from commands.common.actors import persisted
from commands.common.errors import CbaError, FieldErrors, UsageError
from commands.common.parsing import button_data, button_page, parse_id
from commands.questions import parse as parsing
from commands.questions import posting, service, views
from storage.models import Question

# Message subtypes that are still someone's reply; edits, deletions, joins and bot posts are not.
ANSWER_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def _refresh_homes(turn: Turn, question: Question) -> None:
    """The asker's Home lists their open questions, the routed alumni's the open ones for their expertise;
    both with the number of answers."""
    organisers = turn.deps.settings.organisers
    for member in [question.asker, *service.routed_members(turn.session, question.id)]:
        if member is not None:
            outbox.publish_home(turn.session, member, now=turn.now, organisers=organisers)


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
    """Store, route and queue the question's post in the request's transaction; answer from the database.

    Also used by the Home tab's "Ask alumni" form (commands.home).
    """
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
    routed = service.route(turn.session, question, turn.now, turn.deps.settings.zone)
    service.plan_nudges(turn.session, question, routed, settings.question_nudge)
    posting.queue_post(turn.session, question, turn.now, settings.zone)
    _refresh_homes(turn, question)
    if not routed:
        organisers = service.organiser_ids(turn.session, settings.organisers)
        posting.tell_organisers_no_match(turn.session, question, organisers, turn.now)
    reply_text, reply_blocks = views.ask_reply(question, len(routed))
    return Reply(reply_text, reply_blocks)


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
    posting.refresh_post(turn.session, question, turn.now, turn.deps.settings.zone)
    _refresh_homes(turn, question)
    return Reply(f":white_check_mark: question #{question.id} is marked resolved.")


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
    trigger, client, modal = turn.trigger_id, turn.client, views.answer_modal(question, turn.channel_id)

    def open_it() -> None:  # views.open needs the trigger: directly, right after the commit
        client.views_open(trigger_id=trigger, view=modal)

    turn.later(open_it)


def page_button(turn: Turn) -> Reply:
    try:
        value = button_data(_action_value(turn))
        page = button_page(value.get("p", 0))
        if page is None:
            raise ValueError("not a page")
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
    author = turn.actor.member
    answering = service.answers_question(turn.actor)
    answer = service.add_answer(
        turn.session, question, author, text, answering=answering, source="button", now=turn.now
    )
    assert answer is not None  # no Slack ts yet, so never a duplicate
    # In the thread once the question is posted; the asker's DM follows the thread post (its link).
    if posting.queue_answer_post(turn.session, question, answer, author, turn.now) is None:
        posting.tell_asker_of_answer(turn.session, question, answer, turn.now)
    _refresh_homes(turn, question)
    what = "answer" if answering else "reply"
    return ViewResult(reply=Reply(f":white_check_mark: Your {what} to question #{question.id} is posted. Thank you!"))


def thread_reply(turn: Turn, event: dict[str, Any]) -> None:
    """A reply in a question's thread is stored and relayed to the asker (once per message, whatever Slack
    redelivers); it answers the question only from an alumnus, coach or organiser."""
    if event.get("subtype") not in ANSWER_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
        return
    channel, ts, thread_ts = event.get("channel"), event.get("ts"), event.get("thread_ts")
    if not channel or not ts or not thread_ts or ts == thread_ts or not event.get("user"):
        return
    if not turn.actor.roles:
        return  # someone not registered in the Academy: their reply is not an answer (SPEC 3, Membership)
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
        answering=service.answers_question(turn.actor),
        source="thread",
        now=turn.now,
        slack_ts=str(ts),
        permalink=views.reply_permalink(question, str(channel), str(ts), str(thread_ts)),
    )
    if answer is not None:
        posting.tell_asker_of_answer(turn.session, question, answer, turn.now)
        _refresh_homes(turn, question)
