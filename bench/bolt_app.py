"""The Slack yardstick: a slack-bolt ``AsyncApp`` that verifies and only acks ``/feedback``.

Bolt's faster setting (``process_before_response=True``: the listener runs inside the request,
no background task) behind its FastAPI adapter. ``authorize`` answers locally, so no call
leaves the machine; the signing secret comes from ``SLACK_SIGNING_SECRET`` like Passerelle's.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult


async def authorize(**_: Any) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=None, team_id="T0BENCH", bot_token="xoxb-bench",
                           bot_id="B0BENCH", bot_user_id="U0BENCH")


bolt = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], authorize=authorize,
                process_before_response=True)


@bolt.command("/feedback")
async def feedback(ack: Any) -> None:
    await ack()


handler = AsyncSlackRequestHandler(bolt)
app = FastAPI()


@app.post("/slack/commands")
async def commands(request: Request) -> Any:
    return await handler.handle(request)
