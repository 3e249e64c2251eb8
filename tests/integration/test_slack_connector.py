"""The slack connector end to end: flows on a real server, the real slack-sdk client, and the
Slack stand-in answering over HTTP (including its errors and 429s)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from slack_sdk.web.async_client import AsyncWebClient

from app.errors import PermanentError, RetryableError
from app.sandbox.slack import SlackSandbox
from connectors.base import ActionContext
from connectors.slack import SlackConnector
from connectors.slack.inputs import LookupUserInput, PostInput, RespondInput
from tests.conftest import serve_app

TOKEN = "make-secret-for-slack-tests"

ALL_ACTIONS = """
name: announce
on:
  webhook: make
steps:
  - id: post
    use: slack.post
    with: {channel: C0RELEASES, text: "Release {{ event.version }} is out"}
  - id: thread
    use: slack.reply
    with: {channel: "{{ steps.post.channel }}", thread_ts: "{{ steps.post.ts }}",
           text: "Changelog inside"}
  - id: edit
    use: slack.update
    with: {channel: "{{ steps.post.channel }}", ts: "{{ steps.post.ts }}",
           text: "Release {{ event.version }} is out :tada:"}
  - id: check
    use: slack.react
    with: {channel: "{{ steps.post.channel }}", ts: "{{ steps.post.ts }}",
           name: ":white_check_mark:"}
  - id: check_again
    use: slack.react
    with: {channel: "{{ steps.post.channel }}", ts: "{{ steps.post.ts }}",
           name: white_check_mark}
  - id: who
    use: slack.lookup_user
    with: {email: "{{ event.author }}"}
  - id: tell
    use: slack.ephemeral
    with: {channel: C0RELEASES, user: "{{ steps.who.id }}", text: "Only you see this"}
  - id: answer
    use: slack.respond
    with: {response_url: "{{ event.response_url }}", text: "Announced",
           response_type: in_channel}
"""

POST_TO = """
name: post-to
on:
  webhook: make
steps:
  - id: post
    use: slack.post
    with: {channel: "{{ event.channel }}", text: "hello"}
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", TOKEN)


async def send(hub: Any, body: dict[str, Any]) -> str:
    async with hub.client() as c:
        r = await c.post("/hooks/make", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 202, r.text
    (run_id,) = r.json()["runs"]
    return str(run_id)


async def test_every_action_against_the_stand_in(hub_factory, env) -> None:
    with hub_factory({"announce.yaml": ALL_ACTIONS}) as hub:
        run_id = await send(hub, {
            "version": "1.2", "author": "ada@example.com",
            # Outside the machine: redirected to the stand-in in sandbox mode.
            "response_url": "https://hooks.slack.com/commands/T0SANDBOX/42/abc"})
        run = await hub.wait_for_run(run_id)
        assert run["status"] == "succeeded", run
        out = {s["id"]: s["output"] for s in run["steps"]}
        ts = out["post"]["ts"]
        assert out["post"]["channel"] == "C0RELEASES"
        assert out["post"]["permalink"] == (
            f"https://sandbox.slack.com/archives/C0RELEASES/p{ts.replace('.', '')}")
        assert out["thread"]["thread_ts"] == ts
        assert out["check"]["already_reacted"] is False
        assert out["check_again"]["already_reacted"] is True
        assert out["who"]["id"] == "U0ADA" and out["who"]["email"] == "ada@example.com"
        assert out["answer"] == {"ok": True, "response_type": "in_channel", "uses": 1}
        got = [(m["kind"], m.get("text") or m.get("name"), m.get("thread_ts"), m.get("user"))
               for m in hub.app.state.slack_sandbox.messages()]
        assert got == [
            ("post", "Release 1.2 is out", None, None),
            ("reply", "Changelog inside", ts, None),
            ("update", "Release 1.2 is out :tada:", ts, None),  # the parent of a thread
            ("reaction", "white_check_mark", None, None),
            ("ephemeral", "Only you see this", None, "U0ADA"),
            ("response", "Announced", None, None),
        ]
        response = hub.app.state.slack_sandbox.messages()[-1]
        assert response["response_url_key"] == "hooks-slack-com-commands-T0SANDBOX-42-abc"
        assert response["response_type"] == "in_channel"


@pytest.mark.parametrize(("channel", "error"), [("C0NOPE", "channel_not_found"),
                                                ("C0NOTIN1", "not_in_channel")])
async def test_channel_errors_fail_the_run_with_the_invite_hint(hub_factory, env, channel,
                                                                 error) -> None:
    with hub_factory({"post.yaml": POST_TO}) as hub:
        run = await hub.wait_for_run(await send(hub, {"channel": channel}))
        assert run["status"] == "failed"
        assert error in run["error"]
        assert "/invite @Passerelle" in run["error"]
        assert run["attempt"] == 1  # permanent: not retried


async def test_rate_limited_post_goes_to_retrying(hub_factory, env) -> None:
    with hub_factory({"post.yaml": POST_TO}, sandbox_rate_limits=True) as hub:
        sandbox = hub.app.state.slack_sandbox
        # Freeze the stand-in's clock so the channel's burst, once spent, never refills.
        sandbox._clock = lambda: 5000.0
        sandbox.reset()
        for n in range(3):
            sandbox.call("chat.postMessage", {"channel": "C0GENERAL", "text": f"burst {n}"},
                         token="xoxb-test")
        run = await hub.wait_for_run(await send(hub, {"channel": "C0GENERAL"}),
                                     statuses=("retrying", "failed", "succeeded"))
        assert run["status"] == "retrying", run
        assert "rate limited" in run["error"]
        assert run["next_attempt_at"] is not None
        assert len(sandbox.messages()) == 3


# -- the connector called directly, against a stand-in on a frozen clock ---------------------


class FrozenClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def standin(make_settings: Any) -> Iterator[tuple[SlackSandbox, FrozenClock, Any]]:
    clock = FrozenClock()
    sandbox = SlackSandbox(clock=clock)
    app = FastAPI()
    app.include_router(sandbox.router(), prefix="/sandbox/slack")
    with serve_app(app) as url:
        yield sandbox, clock, make_settings(sandbox_url=url)


def ctx(**event: Any) -> ActionContext:
    return ActionContext(run_id="r1", flow="f", step_id="s", event=event,
                         trigger={"received_at": "2099-01-01T00:00:00+00:00"})


async def test_429_maps_to_retryable_with_retry_after(standin) -> None:
    _, clock, settings = standin
    raw = AsyncWebClient(token="xoxb-x", base_url=f"{settings.sandbox_url}/sandbox/slack/api/")
    for _ in range(3):
        await raw.chat_postMessage(channel="C0RETRO", text="burst")
    connector = SlackConnector(settings)
    try:
        with pytest.raises(RetryableError) as caught:
            await connector.post(PostInput(channel="C0RETRO", text="one more"), ctx())
        assert caught.value.retry_after == 1.0
        clock.now += 2  # the stand-in's bucket refills; the connector waits out its pause
        out = await connector.post(PostInput(channel="C0RETRO", text="one more"), ctx())
        assert out["channel"] == "C0RETRO"
    finally:
        await connector.aclose()


async def test_respond_uses_the_event_url_at_most_five_times(standin) -> None:
    sandbox, _, settings = standin
    url = f"{settings.sandbox_url}{sandbox.response_url('five')}"
    connector = SlackConnector(settings)
    try:
        for n in range(1, 6):
            out = await connector.respond(RespondInput(text=f"#{n}"), ctx(response_url=url))
            assert out["uses"] == n
        with pytest.raises(PermanentError, match="already used 5 times"):
            await connector.respond(RespondInput(text="#6"), ctx(response_url=url))
        with pytest.raises(PermanentError, match="no response_url"):
            await connector.respond(RespondInput(text="?"), ctx(channel="C0GENERAL"))
    finally:
        await connector.aclose()
    assert [m["text"] for m in sandbox.messages()] == ["#1", "#2", "#3", "#4", "#5"]


async def test_respond_checks_the_http_status(standin) -> None:
    sandbox, clock, settings = standin
    url = f"{settings.sandbox_url}{sandbox.response_url('old')}"
    clock.now += 31 * 60  # the stand-in now answers 404 expired_url
    connector = SlackConnector(settings)
    try:
        with pytest.raises(PermanentError, match="used up or expired"):
            await connector.respond(RespondInput(text="late", response_url=url), ctx())
    finally:
        await connector.aclose()
    assert sandbox.messages() == []


async def test_lookup_user_is_cached_and_unknown_users_are_permanent(standin) -> None:
    sandbox, _, settings = standin
    connector = SlackConnector(settings)
    try:
        first = await connector.lookup_user(LookupUserInput(id="U0GRACE"), ctx())
        assert first["email"] == "grace@example.com"
        with pytest.raises(PermanentError, match=r"no Slack user with email nobody@example\.com"):
            await connector.lookup_user(LookupUserInput(email="nobody@example.com"), ctx())
        sandbox._ws.users.pop("U0GRACE")  # gone from Slack, still in the cache
        assert await connector.lookup_user(LookupUserInput(id="U0GRACE"), ctx()) == first
    finally:
        await connector.aclose()
