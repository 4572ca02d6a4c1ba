"""`cba-bot console` used as a person would: lines typed in, the screen read back.

No feature has buttons or modals yet, so the test adds a small `/cba-try` feature through
`run_console(extend=...)`: Bolt listeners on the very app the console drives.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.console.console import run_console
from bot.console.render import render_blocks
from bot.demo import load_demo
from bot.features import build_registry
from bot.kernel.deps import Deps
from bot.kernel.settings import Settings
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
STRATEGY = {"text": {"type": "plain_text", "text": "Strategy"}, "value": "strategy"}
FUNDING = {"text": {"type": "plain_text", "text": "Funding"}, "value": "funding"}


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _button(label: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "text": _plain(label), "action_id": action_id, "value": value}


OFFER: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Pick a fruit, <@U0DEMOPA01>:"}},
    {
        "type": "actions",
        "block_id": "fruits",
        "elements": [
            _button("Apple", "try_apple", "apple"),
            _button("Pear", "try_pear", "pear"),
            _button("Tell us more", "try_form", "form"),
        ],
    },
]

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "try_modal",
    "private_metadata": "from-the-test",
    "title": _plain("Tell us more"),
    "submit": _plain("Send"),
    "close": _plain("Cancel"),
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": _plain("Title"),
            "hint": _plain("Five letters or more"),
            "element": {"type": "plain_text_input", "action_id": "title_input"},
        },
        {
            "type": "input",
            "block_id": "topic",
            "label": _plain("Topic"),
            "element": {"type": "static_select", "action_id": "topic_select", "options": [STRATEGY, FUNDING]},
        },
        {
            "type": "input",
            "block_id": "when",
            "label": _plain("When"),
            "element": {"type": "datepicker", "action_id": "date", "initial_date": "2026-12-01"},
        },
    ],
}


def _database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        load_demo(session, NOW, build_registry())
    engine.dispose()
    return url


def _try_feature(submissions: list[dict[str, Any]]) -> Callable[[App, Deps], None]:
    """/cba-try: a message with three buttons; the third opens a modal that wants a long title."""

    def extend(app: App, deps: Deps) -> None:
        @app.command("/cba-try")
        def offer(ack: Ack) -> None:
            ack(text="Pick a fruit", blocks=OFFER)

        def answer(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            ack()
            action = body["actions"][0]
            respond(text=f"{action['action_id']} answered: {action['value']}")

        app.action("try_apple")(answer)
        app.action("try_pear")(answer)

        @app.action("try_form")
        def open_form(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=MODAL)

        @app.view("try_modal")
        def submitted(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            view = body["view"]
            submissions.append({"values": view["state"]["values"], "meta": view["private_metadata"]})
            title = view["state"]["values"]["title"]["title_input"]["value"] or ""
            if len(title) < 5:
                ack(response_action="errors", errors={"title": "Too short: five letters or more"})
                return
            ack()
            client.chat_postMessage(channel=body["user"]["id"], text=f"Saved *{title}*")

    return extend


def _run(tmp_path: Path, typed: list[str], **kwargs: Any) -> tuple[int, str]:
    stdout = io.StringIO()
    status = run_console(
        Settings(database_url=_database(tmp_path)),
        as_name=kwargs.pop("as_name", None),
        stdin=io.StringIO("\n".join(typed) + "\n"),
        stdout=stdout,
        **kwargs,
    )
    return status, stdout.getvalue()


def test_a_session_with_help_buttons_a_modal_and_another_user(tmp_path: Path) -> None:
    submissions: list[dict[str, Any]] = []
    typed = [
        "/cba-help",
        "/cba-try",
        "2",  # Pear
        "3",  # Tell us more: the modal opens
        "Hi",  # Title: too short, the app will say so
        "5",  # Topic: there is no option 5
        "2",  # Topic: Funding
        "tomorrow",  # When: not a date
        "",  # When: keep 2026-12-01
        "y",
        "A proper title",  # Title again, after the app refused it
        "",  # Submit? yes
        "/as Lucia",
        "/quit",
        "/cba-help",  # never read: /quit ended the session
    ]
    status, out = _run(tmp_path, typed, extend=_try_feature(submissions))

    assert status == 0
    assert "\x1b" not in out
    assert "/cba-book" in out
    # The message, its mention made readable and its buttons numbered.
    assert "Pick a fruit, @Lucia Garcia:" in out
    assert "[1] Apple  [2] Pear  [3] Tell us more" in out
    assert "try_pear answered: pear" in out
    assert "try_apple answered" not in out
    # The modal, filled field by field.
    assert "+ Tell us more +" in out
    assert "Choose a number from 1 to 2." in out
    assert "Enter a date as YYYY-MM-DD" in out
    assert "! Too short: five letters or more" in out
    assert [s["values"]["title"]["title_input"]["value"] for s in submissions] == ["Hi", "A proper title"]
    assert submissions[-1] == {
        "values": {
            "title": {"title_input": {"type": "plain_text_input", "value": "A proper title"}},
            "topic": {"topic_select": {"type": "static_select", "selected_option": FUNDING}},
            "when": {"date": {"type": "datepicker", "selected_date": "2026-12-01"}},
        },
        "meta": "from-the-test",
    }
    assert "-- DM to you --\nSaved *A proper title*" in out
    # Another user, then the end.
    assert out.startswith("CBA Bot console")
    assert "anna.berg> /cba-help" in out
    assert "You are now Lucia Garcia" in out
    assert "lucia.garcia> /quit" in out
    assert out.count("-- only you see this, in #general (answer to /cba-help) --") == 1


def test_cancelled_modal_odd_input_and_end_of_input(tmp_path: Path) -> None:
    submissions: list[dict[str, Any]] = []
    typed = [
        "/who",
        "/cba-try",
        "3",  # the modal opens
        "",  # Title is required
        "/cancel",
        "3",  # again
        "Long enough",
        "1",
        "",
        "n",  # Submit? no
        "hello",
        "/nope",
        "9",
        "/as nobody",
        "/cba-nope",
    ]
    status, out = _run(tmp_path, typed, extend=_try_feature(submissions), as_name="marco")

    assert status == 0
    assert "marco.rossi> /who" in out
    assert "   Lucia Garcia    U0DEMOPA01   participant" in out
    assert "This field is required." in out
    assert out.count("(modal closed)") == 2
    assert submissions == []
    assert "There is no button [9] on screen." in out
    assert "No one called 'nobody'" in out
    assert "(the app does not handle /cba-nope)" in out


def test_render_blocks_reads_like_slack() -> None:
    names = {"U1": "Anna Berg", "C1": "cba3"}
    blocks = [
        {"type": "header", "text": _plain("Your bookings")},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "<@U1> in <#C1|cba3> on <!date^1764752400^{date}|3 Dec> &lt;ok&gt;"},
            "fields": [{"type": "mrkdwn", "text": "*Coach*\n<https://meet.example.com|Join>"}],
            "accessory": _button("Cancel", "cancel", "5"),
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "times in Europe/Brussels"}]},
        {"type": "divider"},
        {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "a chart"},
    ]
    lines, choices = render_blocks(blocks, names, start=4)

    assert lines[:4] == [
        "YOUR BOOKINGS",
        "@Anna Berg in #cba3 on 3 Dec <ok>",
        "  *Coach* Join (https://meet.example.com)",
        "  [4] Cancel",
    ]
    assert lines[4].endswith("times in Europe/Brussels")
    assert lines[-1] == "[image: a chart]"
    assert [(c.number, c.action_id, c.value, c.block_id) for c in choices] == [(4, "cancel", "5", "block1")]


def test_on_an_empty_database_the_console_user_organises_and_a_stranger_is_not_registered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    upgrade(url)
    typed = ["/cba-admin cohort add CBA9 Cluster Booster Academy 9", "/as U0STRANGER1", "/cba-directory", "/quit"]
    stdout = io.StringIO()
    status = run_console(
        Settings(database_url=url), as_name=None, stdin=io.StringIO("\n".join(typed) + "\n"), stdout=stdout
    )
    out = stdout.getvalue()

    assert status == 0
    assert "You are Console User (U0CONSOLE1; organiser)" in out
    assert "CBA9" in out
    assert "You need to be" not in out
    # Someone with no role is told whom to ask: the console user, the only organiser.
    assert "You are not registered in the Cluster Booster Academy yet" in out
    assert "ask an organiser to add you: @Console User" in out


def test_the_demo_waiter_gets_the_slot_a_cancellation_frees(tmp_path: Path) -> None:
    """The demo leaves Tomas on the waitlist for Marco's next slot: Lucia's cancellation holds it for him."""
    url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        load_demo(session, datetime.now(UTC), build_registry())  # the console runs on the real clock
    engine.dispose()
    stdout = io.StringIO()
    typed = ["/as Lucia", "/cba-book cancel 1", "/as Tomas", "/home", "/quit"]
    status = run_console(
        Settings(database_url=url), as_name=None, stdin=io.StringIO("\n".join(typed) + "\n"), stdout=stdout
    )
    out = stdout.getvalue()
    assert status == 0
    assert "-- DM to Tomas Kovac (only they see it) --\n:tada: A coaching slot freed up for you" in out
    assert "[Book]  [No thanks]" in out
    assert "You are on the waitlist for the next free slot of Marco Rossi (position 1)" in out
