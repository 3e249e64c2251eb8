"""/slack/commands, /slack/events and /slack/interactions over real HTTP, in sandbox mode.

Requests are shaped and signed like Slack's; the flows' Slack actions go to the stand-in
mounted on the same server, whose ``messages()`` the tests read back.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from slack_requests import (
    FORM,
    command_form,
    event_envelope,
    interaction_form,
    message_shortcut,
    post_signed,
    view_submission,
)

FEEDBACK = """
name: feedback
on:
  slack.command:
    command: /feedback
    description: Save product feedback
    modal:
      title: Feedback
      callback_id: feedback_form
      fields:
        - {name: summary, label: Summary, type: long_text,
           validate: [{if: "value | length >= 5", message: "Say a bit more (5+ characters)."}]}
        - {name: area, label: Area, type: select, options: [Reporting, Billing], required: false}
steps:
  - id: answer
    use: slack.respond
    with:
      text: >-
        Saved: {{ event.text or event['values'].summary }}
        ({{ event['values'].area or 'no area' }})
"""

THREAD_REPLY = """
name: answer-questions
on:
  slack.event: {type: message, text: "\\\\?$"}
steps:
  - id: reply
    use: slack.reply
    with:
      text: "Noted, <@{{ event.user }}>."
"""

SAVE_MESSAGE = """
name: save-message
on:
  slack.shortcut: {callback_id: save_feedback, name: Save as feedback}
steps:
  - id: react
    use: slack.react
    with: {name: memo}
  - id: reply
    use: slack.reply
    with:
      text: "Saved {{ event.permalink }}"
"""


async def count(hub: Any, table: str) -> int:
    async with hub.store() as store, store.engines.read.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def runs(hub: Any) -> list[dict[str, Any]]:
    async with hub.client(headers=hub.admin) as c:
        r = await c.get("/api/runs")
        r.raise_for_status()
        return list(r.json()["runs"])


def sandbox(hub: Any) -> Any:
    return hub.app.state.slack_sandbox


async def test_command_with_text_runs_flow_and_responds(hub_factory) -> None:
    with hub_factory({"feedback.yaml": FEEDBACK}) as hub:
        response_url = hub.url + sandbox(hub).response_url("cmd-1")
        body = command_form("/feedback", "Export is slow #reporting", response_url=response_url)
        async with hub.client() as c:
            r = await post_signed(c, "/slack/commands", body, FORM)
            assert r.status_code == 200, r.text
            assert r.content == b""
            again = await post_signed(c, "/slack/commands", body, FORM)
            assert again.status_code == 200 and again.content == b""
        (run,) = await runs(hub)
        done = await hub.wait_for_run(run["id"])
        assert done["status"] == "succeeded", done
        responses = [m for m in sandbox(hub).messages() if m["kind"] == "response"]
        assert [(m["response_url_key"], m["text"]) for m in responses] == [
            ("cmd-1", "Saved: Export is slow #reporting (no area)")]
        assert await count(hub, "events") == 1


async def test_unknown_command_gets_help_and_ssl_check_is_answered(hub_factory) -> None:
    with hub_factory({"feedback.yaml": FEEDBACK}) as hub:
        async with hub.client() as c:
            r = await post_signed(c, "/slack/commands", command_form(
                "/retro", "went well", response_url=hub.url + "/sandbox/slack/response/x"), FORM)
            assert r.status_code == 200
            assert r.json()["response_type"] == "ephemeral"
            assert "No Passerelle flow handles /retro" in r.json()["text"]
            ssl = await c.post("/slack/commands", content=b"ssl_check=1&token=x",
                               headers={"Content-Type": FORM})
            assert ssl.status_code == 200 and ssl.content == b""
        assert await count(hub, "runs") == 0


@pytest.mark.parametrize("case", ["bad", "missing", "stale", "malformed", "other_secret"])
async def test_bad_signatures_are_refused_and_store_nothing(hub_factory, case: str) -> None:
    with hub_factory({"feedback.yaml": FEEDBACK}) as hub:
        body = command_form("/feedback", "hello", response_url=hub.url + "/r")
        async with hub.client() as c:
            if case == "missing":
                r = await c.post("/slack/commands", content=body, headers={"Content-Type": FORM})
            elif case == "bad":
                r = await post_signed(c, "/slack/commands", body, FORM,
                                      headers={"X-Slack-Signature": "v0=" + "0" * 64})
            elif case == "stale":
                r = await post_signed(c, "/slack/commands", body, FORM,
                                      timestamp=int(time.time()) - 301)
            elif case == "malformed":
                r = await post_signed(c, "/slack/commands", body, FORM,
                                      headers={"X-Slack-Request-Timestamp": "yesterday"})
            else:
                r = await post_signed(c, "/slack/commands", body, FORM, secret="not-the-secret")
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "unauthorized"
        assert "sandbox-signing-secret" not in r.text
        assert await count(hub, "events") == 0


async def test_a_nul_in_a_signed_command_is_refused_and_stores_nothing(hub_factory) -> None:
    with hub_factory({"feedback.yaml": FEEDBACK}) as hub:
        body = command_form("/feedback", "a\x00b", response_url=hub.url + "/r")
        async with hub.client() as c:
            r = await post_signed(c, "/slack/commands", body, FORM)
        assert r.status_code == 400, r.text
        assert "NUL" in r.json()["message"]
        assert await count(hub, "events") == 0


async def test_live_mode_without_signing_secret_is_refused(hub_factory) -> None:
    with hub_factory({}, slack_bot_token="xoxb-live-token-123") as hub:
        async with hub.client() as c:
            r = await post_signed(c, "/slack/events", event_envelope(
                {"type": "message", "text": "hi", "user": "U0ADA", "channel": "C0GENERAL",
                 "ts": "1.000001"}, event_id="Ev1"), "application/json")
        assert r.status_code == 503
        assert "SLACK_SIGNING_SECRET" in r.json()["message"]
        assert "xoxb-live-token-123" not in r.text
        assert await count(hub, "events") == 0


async def test_configured_signing_secret_replaces_the_sandbox_one(hub_factory) -> None:
    with hub_factory({}, slack_signing_secret="my-own-secret-456") as hub:
        body = event_envelope({"type": "app_mention", "user": "U0ADA", "text": "hi",
                               "channel": "C0GENERAL", "ts": "1.000001"}, event_id="EvS")
        async with hub.client() as c:
            refused = await post_signed(c, "/slack/events", body, "application/json")
            ok = await post_signed(c, "/slack/events", body, "application/json",
                                   secret="my-own-secret-456")
        assert refused.status_code == 401 and ok.status_code == 200
        assert await count(hub, "events") == 1


async def test_url_verification_answers_the_challenge(hub_factory) -> None:
    with hub_factory({}) as hub:
        body = b'{"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'  # noqa: E501
        async with hub.client() as c:
            r = await post_signed(c, "/slack/events", body, "application/json")
            unsigned = await c.post("/slack/events", content=body,
                                    headers={"Content-Type": "application/json"})
        assert r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
        assert unsigned.status_code == 401


async def test_event_dedupe_retry_and_own_bot(hub_factory) -> None:
    with hub_factory({"q.yaml": THREAD_REPLY}) as hub:
        question = {"type": "message", "channel": "C0FEEDBACK", "user": "U0ADA",
                    "text": "Can we export to CSV?", "ts": "1732230000.000100",
                    "channel_type": "channel"}
        async with hub.client() as c:
            first = await post_signed(c, "/slack/events", event_envelope(
                question, event_id="Ev01"), "application/json")
            retry = await post_signed(c, "/slack/events", event_envelope(
                question, event_id="Ev01"), "application/json",
                headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
            # A retry of an event whose first delivery never reached us is processed.
            lost = await post_signed(c, "/slack/events", event_envelope(
                {**question, "ts": "1732230000.000200"}, event_id="Ev02"), "application/json",
                headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"})
            own = await post_signed(c, "/slack/events", event_envelope(
                {**question, "user": "U0PASSBOT", "bot_id": "B0PASSBOT",
                 "ts": "1732230000.000300"}, event_id="Ev03"), "application/json")
            echo = await post_signed(c, "/slack/events", event_envelope(
                {"type": "message", "subtype": "message_changed", "channel": "C0FEEDBACK",
                 "hidden": True, "ts": "1732230000.000400",
                 "message": {"type": "message", "bot_id": "B0PASSBOT", "text": "Edited?",
                             "ts": "1732230000.000300"}}, event_id="Ev04"), "application/json")
        assert [r.status_code for r in (first, retry, lost, own, echo)] == [200] * 5
        all_runs = await runs(hub)
        assert len(all_runs) == 2
        for run in all_runs:
            assert (await hub.wait_for_run(run["id"]))["status"] == "succeeded"
        replies = [m for m in sandbox(hub).messages() if m["kind"] == "reply"]
        assert sorted(m["thread_ts"] for m in replies) == ["1732230000.000100",
                                                           "1732230000.000200"]
        assert {m["text"] for m in replies} == {"Noted, <@U0ADA>."}
        assert await count(hub, "events") == 4


async def test_empty_command_opens_modal_and_submission_runs(hub_factory) -> None:
    with hub_factory({"feedback.yaml": FEEDBACK}) as hub:
        response_url = hub.url + sandbox(hub).response_url("cmd-modal")
        async with hub.client() as c:
            r = await post_signed(c, "/slack/commands", command_form(
                "/feedback", "  ", response_url=response_url), FORM)
            assert r.status_code == 200 and r.content == b""
            (modal,) = [m for m in sandbox(hub).messages() if m["kind"] == "modal"]
            view = modal["view"]
            assert view["callback_id"] == "feedback_form"
            assert [b["block_id"] for b in view["blocks"]] == ["summary", "area"]
            assert await count(hub, "runs") == 0

            missing = await post_signed(c, "/slack/interactions", interaction_form(
                view_submission(view, {"summary": {"summary": {"type": "plain_text_input",
                                                               "value": ""}}})), FORM)
            assert missing.json() == {"response_action": "errors",
                                      "errors": {"summary": "Summary is required."}}
            short = await post_signed(c, "/slack/interactions", interaction_form(
                view_submission(view, {"summary": {"summary": {"type": "plain_text_input",
                                                               "value": "meh"}}})), FORM)
            assert short.json()["errors"] == {"summary": "Say a bit more (5+ characters)."}
            assert await count(hub, "runs") == 0

            values = {"summary": {"summary": {"type": "plain_text_input",
                                              "value": "CSV export times out"}},
                      "area": {"area": {"type": "static_select", "selected_option": {
                          "text": {"type": "plain_text", "text": "Reporting"},
                          "value": "Reporting"}}}}
            ok = await post_signed(c, "/slack/interactions",
                                   interaction_form(view_submission(view, values)), FORM)
            assert ok.status_code == 200 and ok.content == b""
        (run,) = await runs(hub)
        done = await hub.wait_for_run(run["id"])
        assert done["status"] == "succeeded", done
        event = done["event"]
        assert event["data"]["values"] == {"summary": "CSV export times out",
                                           "area": "Reporting"}
        assert event["data"]["context"]["channel"] == "C0FEEDBACK"
        assert event["actor"] == "U0ADA"
        (response,) = [m for m in sandbox(hub).messages() if m["kind"] == "response"]
        assert response["response_url_key"] == "cmd-modal"
        assert response["text"] == "Saved: CSV export times out (Reporting)"


async def test_message_shortcut_reacts_and_replies_with_permalink(hub_factory) -> None:
    with hub_factory({"save.yaml": SAVE_MESSAGE}) as hub:
        sb = sandbox(hub)
        posted = sb.call("chat.postMessage", {"channel": "C0FEEDBACK",
                                              "text": "Customer: export is slow"},
                         token="xoxb-test")
        message = {"type": "message", "user": "U0ADA", "ts": posted["ts"],
                   "text": "Customer: export is slow"}
        payload = message_shortcut("save_feedback", message=message,
                                   response_url=hub.url + sb.response_url("sc-1"))
        async with hub.client() as c:
            r = await post_signed(c, "/slack/interactions", interaction_form(payload), FORM)
        assert r.status_code == 200 and r.content == b""
        (run,) = await runs(hub)
        done = await hub.wait_for_run(run["id"])
        assert done["status"] == "succeeded", done
        link = f"https://sandbox.slack.com/archives/C0FEEDBACK/p{posted['ts'].replace('.', '')}"
        kinds = [(m["kind"], m.get("name") or m.get("text"), m.get("thread_ts"))
                 for m in sb.messages()[1:]]
        assert kinds == [("reaction", "memo", None), ("reply", f"Saved {link}", posted["ts"])]


ACKED = """
name: retro
on:
  slack.command: {command: /retro, text: "^(good|bad) ", usage_hint: "good|bad <note>",
                  ack: "Got it"}
steps:
  - use: slack.ephemeral
    with: {text: "Noted: {{ event.text }}"}
"""


async def test_ack_text_usage_hint_and_a_modal_that_cannot_open(hub_factory) -> None:
    with hub_factory({"retro.yaml": ACKED, "feedback.yaml": FEEDBACK}) as hub:
        url = hub.url + sandbox(hub).response_url("r")
        async with hub.client() as c:
            ok = await post_signed(c, "/slack/commands", command_form(
                "/retro", "good pairing", response_url=url), FORM)
            assert ok.json() == {"response_type": "ephemeral", "text": "Got it"}
            miss = await post_signed(c, "/slack/commands", command_form(
                "/retro", "meh", response_url=url), FORM)
            assert miss.json()["text"] == (
                "/retro did not match what its flows expect, so nothing was done. "
                "Usage: /retro good|bad <note>")
            expired = await post_signed(c, "/slack/commands", command_form(
                "/feedback", "", response_url=url, trigger_id="expired"), FORM)
            assert "could not open the form" in expired.json()["text"]
            assert "expired_trigger_id" in expired.json()["text"]
        (run,) = await runs(hub)
        assert (await hub.wait_for_run(run["id"]))["status"] == "succeeded"
        (note,) = sandbox(hub).messages()
        assert (note["kind"], note["user"], note["channel"], note["text"]) == (
            "ephemeral", "U0ADA", "C0FEEDBACK", "Noted: good pairing")



async def test_a_command_matches_its_flows_once_for_runs_and_ack(hub_factory,
                                                                 monkeypatch) -> None:
    # A flow's `if` is evaluated once per command: the ack answers for the runs it made.
    with hub_factory({"retro.yaml": ACKED}, worker=False) as hub:
        flows = hub.app.state.runtime.flows
        calls: list[str] = []
        real = flows.matching
        monkeypatch.setattr(flows, "matching", lambda event: calls.append(event.id) or real(
            event))
        async with hub.client() as c:
            ok = await post_signed(c, "/slack/commands", command_form(
                "/retro", "good one", response_url=hub.url + sandbox(hub).response_url("r")),
                FORM)
        assert ok.json()["text"] == "Got it" and len(calls) == 1
        assert len(await runs(hub)) == 1

SHORTCUT_MODAL = """
name: retro-from-message
on:
  slack.shortcut:
    callback_id: add_retro
    modal:
      title: Add to retro
      fields: [{name: kind, label: Kind, type: select, options: [good, bad]}]
steps:
  - use: slack.reply
    with: {text: "Added as {{ event['values'].kind }}: {{ event.context.message.permalink }}"}
"""


async def test_message_shortcut_modal_keeps_the_message_for_the_submission(hub_factory) -> None:
    with hub_factory({"retro.yaml": SHORTCUT_MODAL}) as hub:
        sb = sandbox(hub)
        posted = sb.call("chat.postMessage", {"channel": "C0RETRO", "text": "Deploys were slow"},
                         token="xoxb-test")
        message = {"type": "message", "user": "U0ADA", "ts": posted["ts"],
                   "text": "Deploys were slow"}
        payload = message_shortcut("add_retro", message=message, channel="C0RETRO",
                                   response_url=hub.url + sb.response_url("sc"))
        async with hub.client() as c:
            opened = await post_signed(c, "/slack/interactions", interaction_form(payload), FORM)
            assert opened.status_code == 200 and opened.content == b""
            (modal,) = [m for m in sb.messages() if m["kind"] == "modal"]
            assert await count(hub, "events") == 0
            values = {"kind": {"kind": {"type": "static_select",
                                        "selected_option": {"value": "bad"}}}}
            done = await post_signed(c, "/slack/interactions", interaction_form(
                view_submission(modal["view"], values, user="U0GRACE")), FORM)
            assert done.status_code == 200
        (run,) = await runs(hub)
        assert (await hub.wait_for_run(run["id"]))["status"] == "succeeded"
        (reply,) = [m for m in sb.messages() if m["kind"] == "reply"]
        link = f"https://sandbox.slack.com/archives/C0RETRO/p{posted['ts'].replace('.', '')}"
        assert (reply["channel"], reply["thread_ts"], reply["text"]) == (
            "C0RETRO", posted["ts"], f"Added as bad: {link}")
