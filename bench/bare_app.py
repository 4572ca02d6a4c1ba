"""The baseline: a Bolt app that only acknowledges, behind the same WSGI server as the bot."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.server import SLACK_PATH, make_server


def main(port: int, secret: str, commands: list[str], threads: int, listener_threads: int) -> None:
    # Bolt authorises each request with auth.test (cached), so the baseline talks to the same fake Slack.
    app = App(
        client=WebClient(token="xoxb-bare", base_url=os.environ["SLACK_API_URL"]),
        signing_secret=secret,
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(max_workers=listener_threads),
    )

    def only_ack(ack: Ack) -> None:
        ack()

    for command in commands:
        app.command(command)(only_ack)

    from slack_bolt.adapter.wsgi import SlackRequestHandler

    handler = SlackRequestHandler(app, path=SLACK_PATH)

    def wsgi(environ: dict, start_response):  # type: ignore[no-untyped-def, type-arg]
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return handler(environ, start_response)

    # Same server and sizes as `cba-bot run` (bot/server.py), so only the app differs.
    make_server(wsgi, host="127.0.0.1", port=port, threads=threads).run()  # type: ignore[arg-type]


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3].split(","), int(sys.argv[4]), int(sys.argv[5]))
