"""The slack connector's one error mapping, and its event-context defaults."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from app.errors import PermanentError, RetryableError
from connectors.slack.client import sandbox_response_url
from connectors.slack.context import channel_of, message_of, response_url_of, user_of
from connectors.slack.errors import map_errors, slack_error


def refused(error: str, status: int = 200, headers: dict | None = None, **extra) -> SlackApiError:
    response = AsyncSlackResponse(client=None, http_verb="POST", api_url="https://slack.com/api/x",
                                  req_args={}, data={"ok": False, "error": error, **extra},
                                  headers=headers or {}, status_code=status)
    return SlackApiError("The request to the Slack API failed.", response)


def raised(exc: BaseException, **kw) -> BaseException:
    with pytest.raises((RetryableError, PermanentError)) as caught, \
            map_errors("chat.postMessage", **kw):
        raise exc
    return caught.value


def test_rate_limit_is_retryable_with_retry_after_and_pauses() -> None:
    paused: list[float] = []
    err = raised(refused("ratelimited", 429, {"Retry-After": "7"}), on_rate_limit=paused.append)
    assert isinstance(err, RetryableError) and err.retry_after == 7.0 and paused == [7.0]
    assert slack_error(err) == "ratelimited"


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel"])
def test_channel_errors_tell_to_invite_the_bot(code: str) -> None:
    err = raised(refused(code), channel="C0X")
    assert isinstance(err, PermanentError)
    assert code in str(err) and "/invite @Passerelle" in str(err) and "C0X" in str(err)


@pytest.mark.parametrize("code", ["invalid_auth", "not_authed", "token_revoked"])
def test_auth_errors_point_at_the_token(code: str) -> None:
    err = raised(refused(code))
    assert isinstance(err, PermanentError) and "SLACK_BOT_TOKEN" in str(err)


def test_missing_scope_names_it_and_server_errors_retry() -> None:
    err = raised(refused("missing_scope", needed="reactions:write"))
    assert isinstance(err, PermanentError) and "'reactions:write'" in str(err)
    assert isinstance(raised(refused("internal_error", 500)), RetryableError)
    assert isinstance(raised(aiohttp.ServerDisconnectedError()), RetryableError)
    assert isinstance(raised(TimeoutError()), RetryableError)
    assert isinstance(raised(refused("msg_too_long")), PermanentError)


def test_event_context_per_kind() -> None:
    command = {"channel_id": "C1", "user_id": "U1", "response_url": "https://h/1"}
    message = {"channel": "C2", "user": "U2", "ts": "2.0", "thread_ts": "1.0"}
    reaction = {"user": "U3", "item": {"type": "message", "channel": "C3", "ts": "3.0"}}
    shortcut = {"channel": {"id": "C4"}, "user": {"id": "U4"}, "message": {"ts": "4.0"},
                "response_url": "https://h/4"}
    view = {"user": {"id": "U5"}, "context": {"channel": "C5", "response_url": "https://h/5",
                                              "message": {"ts": "5.0"}}}
    assert [channel_of(e) for e in (command, message, reaction, shortcut, view)] == [
        "C1", "C2", "C3", "C4", "C5"]
    assert [user_of(e) for e in (command, message, reaction, shortcut, view)] == [
        "U1", "U2", "U3", "U4", "U5"]
    assert [message_of(e) for e in (command, message, reaction, shortcut, view)] == [
        (None, None), ("2.0", "1.0"), ("3.0", None), ("4.0", None), ("5.0", None)]
    assert [response_url_of(e) for e in (command, message, shortcut, view)] == [
        "https://h/1", None, "https://h/4", "https://h/5"]


def test_sandbox_keeps_response_urls_on_the_machine() -> None:
    base = "http://127.0.0.1:8000"
    assert sandbox_response_url("https://hooks.slack.com/commands/T1/2/x", base) == (
        "http://127.0.0.1:8000/sandbox/slack/response/hooks-slack-com-commands-T1-2-x")
    local = "http://localhost:9000/sandbox/slack/response/k"
    assert sandbox_response_url(local, base) == local
