"""The Slack stand-in driven over real HTTP by the real slack-sdk AsyncWebClient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox.slack import SlackSandbox
from tests.conftest import serve_app

TS = re.compile(r"^\d{10}\.\d{6}$")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Served:
    base_url: str
    sandbox: SlackSandbox
    clock: FakeClock

    def client(self, token: str = "xoxb-sandbox-test", **kwargs: Any) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=f"{self.base_url}/sandbox/slack/api/", **kwargs)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    clock = FakeClock()
    sandbox = SlackSandbox(clock=clock)
    app = FastAPI()
    app.include_router(sandbox.router(), prefix="/sandbox/slack")
    with serve_app(app) as url:
        yield Served(url, sandbox, clock)


@pytest.fixture
def slack(served: Served) -> Served:
    served.sandbox.reset()
    served.clock.advance(3600)
    return served


@pytest.fixture
def client(slack: Served) -> AsyncWebClient:
    return slack.client()


async def slack_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def test_auth_test_names_the_bot(client: AsyncWebClient, slack: Served) -> None:
    answer = await client.auth_test()
    assert answer["user_id"] == slack.sandbox.bot_user_id == "U0PASSBOT"
    assert (answer["bot_id"], answer["team_id"]) == ("B0PASSBOT", "T0SANDBOX")


async def test_post_message_answers_like_slack(client: AsyncWebClient, slack: Served) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    first = await client.chat_postMessage(channel="#general", text="hi", blocks=blocks)
    second = await client.chat_postMessage(channel="product-feedback", text="again")
    third = await client.chat_postMessage(channel="C0RELEASES", text="v1")

    assert first["channel"] == "C0GENERAL" and second["channel"] == "C0FEEDBACK"
    assert third["channel"] == "C0RELEASES"
    assert all(TS.match(a["ts"]) for a in (first, second, third))
    assert float(first["ts"]) < float(second["ts"]) < float(third["ts"])
    message = first["message"]
    assert (message["text"], message["blocks"], message["ts"]) == ("hi", blocks, first["ts"])
    assert (message["user"], message["bot_id"]) == ("U0PASSBOT", "B0PASSBOT")
    recorded = slack.sandbox.messages()
    assert [(m["kind"], m["channel"], m["text"]) for m in recorded] == [
        ("post", "C0GENERAL", "hi"),
        ("post", "C0FEEDBACK", "again"),
        ("post", "C0RELEASES", "v1"),
    ]
    assert recorded[0]["blocks"] == blocks and "blocks" not in recorded[1]


async def test_thread_reply_is_recorded_with_its_thread(
    client: AsyncWebClient, slack: Served
) -> None:
    parent = await client.chat_postMessage(channel="C0RETRO", text="retro")
    reply = await client.chat_postMessage(channel="C0RETRO", text="+1", thread_ts=parent["ts"])
    nested = await client.chat_postMessage(channel="C0RETRO", text="+2", thread_ts=reply["ts"])

    assert reply["message"]["thread_ts"] == parent["ts"]
    assert nested["message"]["thread_ts"] == parent["ts"]  # filed under the parent, as Slack does
    kinds = [(m["kind"], m.get("thread_ts")) for m in slack.sandbox.messages()]
    assert kinds == [("post", None), ("reply", parent["ts"]), ("reply", parent["ts"])]
    history = await client.conversations_history(channel="C0RETRO")
    assert [m["ts"] for m in history["messages"]] == [parent["ts"]]
    assert history["messages"][0]["reply_count"] == 2


async def test_ephemeral_is_recorded_for_its_user(client: AsyncWebClient, slack: Served) -> None:
    answer = await client.chat_postEphemeral(channel="C0GENERAL", user="U0ADA", text="psst")
    assert TS.match(answer["message_ts"])
    [recorded] = slack.sandbox.messages()
    assert (recorded["kind"], recorded["user"], recorded["text"]) == ("ephemeral", "U0ADA", "psst")
    error = await slack_error(
        client.chat_postEphemeral(channel="C0GENERAL", user="U0NOBODY", text="psst")
    )
    assert error.response["error"] == "user_not_in_channel"


async def test_update_needs_an_existing_message(client: AsyncWebClient, slack: Served) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="draft")
    updated = await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="final")
    assert (updated["ts"], updated["message"]["text"]) == (posted["ts"], "final")
    assert slack.sandbox.messages()[-1] | {"at": None} == {
        "kind": "update",
        "channel": "C0GENERAL",
        "ts": posted["ts"],
        "text": "final",
        "at": None,
    }
    error = await slack_error(client.chat_update(channel="C0GENERAL", ts="1.000001", text="x"))
    assert error.response["error"] == "message_not_found"


async def test_reactions(client: AsyncWebClient, slack: Served) -> None:
    posted = await client.chat_postMessage(channel="C0FEEDBACK", text="idea")
    await client.reactions_add(channel="C0FEEDBACK", timestamp=posted["ts"], name="memo")
    assert slack.sandbox.messages()[-1]["kind"] == "reaction"
    assert slack.sandbox.messages()[-1]["name"] == "memo"

    again = await slack_error(
        client.reactions_add(channel="C0FEEDBACK", timestamp=posted["ts"], name="memo")
    )
    assert again.response["error"] == "already_reacted"
    missing = await slack_error(
        client.reactions_add(channel="C0FEEDBACK", timestamp="1.000001", name="memo")
    )
    assert missing.response["error"] == "message_not_found"
    assert [m["kind"] for m in slack.sandbox.messages()] == ["post", "reaction"]


async def test_permalink(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0RELEASES", text="shipped")
    answer = await client.chat_getPermalink(channel="C0RELEASES", message_ts=posted["ts"])
    digits = posted["ts"].replace(".", "")
    assert answer["permalink"] == f"https://sandbox.slack.com/archives/C0RELEASES/p{digits}"


async def test_users(client: AsyncWebClient) -> None:
    found = await client.users_lookupByEmail(email="ada@example.com")
    assert (found["user"]["id"], found["user"]["real_name"]) == ("U0ADA", "Ada Lovelace")
    info = await client.users_info(user="U0GRACE")
    assert info["user"]["profile"]["email"] == "grace@example.com"
    error = await slack_error(client.users_lookupByEmail(email="nobody@example.com"))
    assert error.response["error"] == "users_not_found"


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        ("C0NOPE", "channel_not_found"),
        ("#nope", "channel_not_found"),
        ("C0NOTIN1", "not_in_channel"),
    ],
)
async def test_channel_errors(client: AsyncWebClient, channel: str, error: str) -> None:
    refused = await slack_error(client.chat_postMessage(channel=channel, text="hi"))
    assert refused.response["error"] == error
    assert refused.response.status_code == 200


async def test_joining_lets_the_bot_post(client: AsyncWebClient, slack: Served) -> None:
    joined = await client.conversations_join(channel="C0NOTIN2")
    assert joined["channel"]["is_member"] is True
    await client.chat_postMessage(channel="C0NOTIN2", text="hello")
    info = await client.conversations_info(channel="C0NOTIN2")
    assert info["channel"]["is_member"] is True
    assert [m["channel"] for m in slack.sandbox.messages()] == ["C0NOTIN2"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({}, "no_text"),
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "x", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"text": "x", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ({"text": "x", "blocks": "not json"}, "invalid_blocks"),
    ],
)
async def test_message_content_is_checked(
    client: AsyncWebClient, slack: Served, arguments: dict[str, Any], error: str
) -> None:
    if "text" in arguments:
        refused = await slack_error(client.chat_postMessage(channel="C0GENERAL", **arguments))
    else:  # slack-sdk warns before sending a message without text
        with pytest.warns(UserWarning, match="`text` argument is missing"):
            refused = await slack_error(client.chat_postMessage(channel="C0GENERAL", **arguments))
    assert refused.response["error"] == error
    assert slack.sandbox.messages() == []


async def test_forty_thousand_characters_and_fifty_blocks_pass(client: AsyncWebClient) -> None:
    blocks = [{"type": "divider"}] * 50
    answer = await client.chat_postMessage(channel="C0GENERAL", text="x" * 40_000, blocks=blocks)
    assert len(answer["message"]["blocks"]) == 50


async def test_invalid_and_missing_tokens(slack: Served) -> None:
    refused = await slack_error(slack.client(token="bad-token").auth_test())
    assert refused.response["error"] == "invalid_auth"
    async with httpx.AsyncClient(base_url=slack.base_url) as http:
        response = await http.post("/sandbox/slack/api/auth.test")
    assert response.json() == {"ok": False, "error": "not_authed"}


async def test_unknown_method(client: AsyncWebClient, slack: Served) -> None:
    refused = await slack_error(client.api_call("chat.teleport", json={"channel": "C0GENERAL"}))
    assert refused.response["error"] == "unknown_method"
    assert refused.response.status_code == 200


async def test_form_bodies_and_token_parameter(slack: Served) -> None:
    form = {
        "token": "xoxp-user",
        "channel": "C0GENERAL",
        "text": "from curl",
        "blocks": '[{"type": "divider"}]',
    }
    async with httpx.AsyncClient(base_url=slack.base_url) as http:
        response = await http.post("/sandbox/slack/api/chat.postMessage", data=form)
    assert response.json()["ok"] is True
    [recorded] = slack.sandbox.messages()
    assert (recorded["text"], recorded["blocks"]) == ("from curl", [{"type": "divider"}])


MODAL = {
    "type": "modal",
    "callback_id": "feedback_form",
    "title": {"type": "plain_text", "text": "Feedback"},
    "blocks": [{"type": "input", "block_id": "text", "label": {"type": "plain_text", "text": "?"}}],
}


async def test_views_open_and_update(client: AsyncWebClient, slack: Served) -> None:
    opened = await client.views_open(trigger_id="123.456.abc", view=MODAL)
    view_id = opened["view"]["id"]
    assert view_id.startswith("V") and opened["view"]["callback_id"] == "feedback_form"
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Thanks"}}
    updated = await client.views_update(view_id=view_id, view=changed)
    assert (updated["view"]["id"], updated["view"]["title"]["text"]) == (view_id, "Thanks")
    recorded = slack.sandbox.messages()
    assert [m["kind"] for m in recorded] == ["modal", "view_update"]
    assert recorded[0]["view"]["blocks"] == MODAL["blocks"]
    missing = await slack_error(client.views_update(view_id="V0NOPE", view=changed))
    assert missing.response["error"] == "not_found"


@pytest.mark.parametrize(
    ("trigger_id", "view", "error"),
    [
        ("expired", MODAL, "expired_trigger_id"),
        ("123.456.abc", {**MODAL, "type": "home"}, "invalid_arguments"),
        ("123.456.abc", {k: v for k, v in MODAL.items() if k != "title"}, "invalid_arguments"),
        ("123.456.abc", {k: v for k, v in MODAL.items() if k != "blocks"}, "invalid_arguments"),
        ("123.456.abc", {**MODAL, "blocks": [{}]}, "invalid_blocks"),
    ],
)
async def test_views_open_refusals(
    client: AsyncWebClient, slack: Served, trigger_id: str, view: dict[str, Any], error: str
) -> None:
    refused = await slack_error(client.views_open(trigger_id=trigger_id, view=view))
    assert refused.response["error"] == error
    assert slack.sandbox.messages() == []


async def test_views_publish_home(client: AsyncWebClient, slack: Served) -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    first = await client.views_publish(user_id="U0ADA", view=home)
    again = await client.views_publish(user_id="U0ADA", view=home)
    assert first["view"]["id"] == again["view"]["id"]
    assert [(m["kind"], m["user"]) for m in slack.sandbox.messages()] == [("home", "U0ADA")] * 2


async def test_post_message_is_rate_limited_per_channel(slack: Served) -> None:
    client = slack.client(retry_handlers=[])
    for n in range(3):  # the burst
        await client.chat_postMessage(channel="C0GENERAL", text=f"burst {n}")

    limited = await slack_error(client.chat_postMessage(channel="C0GENERAL", text="too fast"))
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "1"
    assert limited.response["error"] == "ratelimited"

    await client.chat_postMessage(channel="C0RETRO", text="other channel")  # own bucket
    slack.clock.advance(1.0)
    await client.chat_postMessage(channel="C0GENERAL", text="after a second")
    limited = await slack_error(client.chat_postMessage(channel="C0GENERAL", text="too fast"))
    assert limited.response.status_code == 429
    texts = [m["text"] for m in slack.sandbox.messages()]
    assert texts == ["burst 0", "burst 1", "burst 2", "other channel", "after a second"]


def test_rate_limits_can_be_turned_off() -> None:
    sandbox = SlackSandbox(rate_limits=False, clock=lambda: 0.0)
    for n in range(10):
        sandbox.call("chat.postMessage", {"channel": "C0GENERAL", "text": str(n)}, token="xoxb-x")
    assert len(sandbox.messages()) == 10


async def test_response_url_takes_five_posts(slack: Served) -> None:
    path = slack.sandbox.response_url()
    assert path.startswith("/sandbox/slack/response/")
    async with httpx.AsyncClient(base_url=slack.base_url) as http:
        answers = [
            await http.post(path, json={"text": f"n{n}", "response_type": "in_channel"})
            for n in range(6)
        ]
    assert [(a.status_code, a.text) for a in answers] == [(200, "ok")] * 5 + [(404, "used_url")]
    recorded = slack.sandbox.messages()
    key = path.rsplit("/", 1)[1]
    assert [(m["kind"], m["response_url_key"], m["text"]) for m in recorded] == [
        ("response", key, f"n{n}") for n in range(5)
    ]
    assert recorded[0]["response_type"] == "in_channel"


async def test_response_url_keys_and_expiry(slack: Served) -> None:
    path = slack.sandbox.response_url("T0SANDBOX/1/known")
    async with httpx.AsyncClient(base_url=slack.base_url) as http:
        unknown = await http.post("/sandbox/slack/response/made-up", json={"text": "hi"})
        empty = await http.post(path, json={"response_type": "ephemeral"})
        first = await http.post(path, json={"text": "in time", "replace_original": True})
        slack.clock.advance(30 * 60 + 1)
        late = await http.post(path, json={"text": "too late"})
    assert (unknown.status_code, unknown.text) == (200, "ok")
    assert (empty.status_code, empty.text) == (400, "no_text")
    assert (first.status_code, late.status_code, late.text) == (200, 404, "expired_url")
    keys = [(m["response_url_key"], m.get("replace_original")) for m in slack.sandbox.messages()]
    assert keys == [("made-up", None), ("T0SANDBOX/1/known", True)]


async def test_get_messages_lists_everything_in_order(
    client: AsyncWebClient, slack: Served
) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="one")
    await client.reactions_add(channel="C0GENERAL", timestamp=posted["ts"], name="eyes")
    await client.views_open(trigger_id="1.2.3", view=MODAL)
    async with httpx.AsyncClient(base_url=slack.base_url) as http:
        await http.post(slack.sandbox.response_url("k"), json={"text": "done"})
        listed = (await http.get("/sandbox/slack/messages")).json()
    assert listed == slack.sandbox.messages()
    assert [m["kind"] for m in listed] == ["post", "reaction", "modal", "response"]
    assert all(m["at"].endswith("+00:00") for m in listed)
