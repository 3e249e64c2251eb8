"""slack.get_message against the Slack stand-in over HTTP."""

from __future__ import annotations

import pytest

from app.errors import PermanentError
from connectors.base import ActionContext
from connectors.slack import SlackConnector
from connectors.slack.inputs import GetMessageInput


async def test_reads_the_message_a_reaction_points_at(hub_factory) -> None:
    with hub_factory({}) as hub:
        sandbox = hub.app.state.slack_sandbox
        first = sandbox.call("chat.postMessage", {"channel": "C0GENERAL", "text": "first"},
                             token="xoxb-user")
        second = sandbox.call("chat.postMessage", {"channel": "C0GENERAL", "text": "second"},
                              token="xoxb-user")
        slack = SlackConnector(hub.settings)
        try:
            event = {"type": "reaction_added", "user": "U0ADA", "reaction": "memo",
                     "item": {"type": "message", "channel": "C0GENERAL", "ts": first["ts"]}}
            ctx = ActionContext(run_id="r", flow="f", step_id="s", event=event)
            out = await slack.get_message(GetMessageInput(), ctx)
            assert out["text"] == "first" and out["ts"] == first["ts"]
            assert out["permalink"].endswith(f"/C0GENERAL/p{first['ts'].replace('.', '')}")
            out = await slack.get_message(GetMessageInput(channel="C0GENERAL",
                                                          ts=second["ts"]), ctx)
            assert out["text"] == "second"
            with pytest.raises(PermanentError, match=r"no message 1\.000000"):
                await slack.get_message(GetMessageInput(channel="C0GENERAL", ts="1.000000"),
                                        ctx)
        finally:
            await slack.aclose()
