"""The Slack stand-in replayed against request/response pairs written from Slack's docs.

Each case names its page. Errors come back as HTTP 200 with `{"ok": false, "error": ...}`,
except rate limiting: HTTP 429 with `Retry-After` (https://api.slack.com/apis/rate-limits).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.sandbox.slack import SlackSandbox
from tests.conftest import serve_app

POST = "https://api.slack.com/methods/chat.postMessage"
LIMITS = "https://api.slack.com/apis/rate-limits"
AUTH = "https://api.slack.com/authentication/token-types"
BOT = {"Authorization": "Bearer xoxb-fidelity"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[tuple[httpx.Client, Clock]]:
    clock = Clock()
    app = FastAPI()
    app.include_router(SlackSandbox(rate_limits=True, clock=clock).router(),
                       prefix="/sandbox/slack")
    with serve_app(app) as url, httpx.Client(base_url=f"{url}/sandbox/slack/api",
                                             timeout=30) as client:
        yield client, clock


CASES: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    (POST, {"channel": "C0NOSUCH", "text": "hi"}, BOT, "channel_not_found"),
    (POST, {"channel": "C0NOTIN1", "text": "hi"}, BOT, "not_in_channel"),
    (POST, {"channel": "C0GENERAL", "text": "x" * 40_001}, BOT, "msg_too_long"),
    (POST, {"channel": "C0GENERAL", "blocks": "not json"}, BOT, "invalid_blocks"),
    (POST, {"channel": "C0GENERAL", "blocks": [{"type": "divider"}] * 51}, BOT,
     "invalid_blocks"),
    (POST, {"channel": "C0GENERAL", "blocks": [{"text": "no type"}]}, BOT, "invalid_blocks"),
    (POST, {"channel": "C0GENERAL"}, BOT, "no_text"),
    (POST, {"channel": "C0GENERAL", "text": "hi"}, {}, "not_authed"),  # AUTH
    (POST, {"channel": "C0GENERAL", "text": "hi"}, {"Authorization": "Bearer abc"},
     "invalid_auth"),  # AUTH
    (POST, {"channel": "C0GENERAL", "text": "hi"},
     {"Authorization": "Bearer xoxp-sandbox-U0NOBODY"}, "invalid_auth"),  # AUTH
]


@pytest.mark.parametrize(("doc", "args", "headers", "error"), CASES,
                         ids=[f"{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_chat_post_message_errors(slack: tuple[httpx.Client, Clock], doc: str,
                                  args: dict[str, Any], headers: dict[str, str],
                                  error: str) -> None:
    client, _ = slack
    answer = client.post("/chat.postMessage", json=args, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["ok"] is False and answer.json()["error"] == error


def test_ratelimited_with_retry_after(slack: tuple[httpx.Client, Clock]) -> None:
    # LIMITS: chat.postMessage allows about one message per second per channel, short bursts.
    client, clock = slack
    answers = [client.post("/chat.postMessage", json={"channel": "C0GENERAL", "text": "hi"},
                           headers=BOT) for _ in range(5)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert limited[0].json() == {"ok": False, "error": "ratelimited"}
    assert int(limited[0].headers["Retry-After"]) >= 1
    clock.now += 5
    again = client.post("/chat.postMessage", json={"channel": "C0GENERAL", "text": "hi"},
                        headers=BOT)
    assert again.status_code == 200 and again.json()["ok"] is True


def test_person_token_posts_as_the_person(slack: tuple[httpx.Client, Clock]) -> None:
    # POST: a user token posts as that user (no bot_id in the stored message).
    client, _ = slack
    answer = client.post("/chat.postMessage", json={"channel": "C0FEEDBACK", "text": "hi"},
                         headers={"Authorization": "Bearer xoxp-sandbox-U0GRACE"}).json()
    assert answer["ok"] is True and answer["message"]["user"] == "U0GRACE"
    assert "bot_id" not in answer["message"]
    history = client.post("/conversations.history", json={"channel": "C0FEEDBACK"},
                          headers=BOT).json()
    assert [m["ts"] for m in history["messages"]] == [answer["ts"]]
