"""Talking to Slack: one ``AsyncWebClient`` on one aiohttp session, paced below Slack's limits.

``chat.postMessage`` is limited per channel (about one message per second); every other
method by its tier (per workspace, per minute). Buckets are per process; a 429 pauses the
bucket it came from for ``Retry-After`` seconds, so the other runs of this process wait too.
In sandbox mode the same client talks to the stand-in mounted at ``/sandbox/slack``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from app.metrics import RATE_LIMIT_WAIT
from app.settings import Settings
from connectors.base import PermanentError
from connectors.ratelimit import Buckets, counted
from connectors.slack.errors import api_error, map_errors

SANDBOX_TOKEN = "xoxb-sandbox"
# Slack's documented tiers, in calls per minute.
TIER_PER_MINUTE = {2: 20, 3: 50, 4: 100}
METHOD_TIER = {
    "auth.test": 4, "chat.postEphemeral": 4, "chat.getPermalink": 4, "chat.update": 3,
    "reactions.add": 3, "users.info": 4, "users.lookupByEmail": 3, "views.open": 4,
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def sandbox_response_url(url: str, sandbox_url: str) -> str:
    """Where a ``response_url`` goes in sandbox mode: loopback URLs as they are, anything else
    to the stand-in's ``/sandbox/slack/response/<key>`` so nothing leaves the machine."""
    parts = urlsplit(url)
    if parts.hostname in _LOOPBACK:
        return url
    key = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{parts.hostname or ''}{parts.path}").strip("-")
    return f"{sandbox_url.rstrip('/')}/sandbox/slack/response/{key or 'response'}"


class SlackApi:
    """The Web API and ``response_url`` posts, paced, with errors mapped in one place."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sandbox = settings.slack_sandbox
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._channels = Buckets(rate=1.0, capacity=1.0)
        self._tiers = {tier: Buckets(rate=n / 60, capacity=max(1.0, n / 10))
                       for tier, n in TIER_PER_MINUTE.items()}

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
            self._client = None
        return self._session

    @property
    def client(self) -> AsyncWebClient:
        session = self._session_now()
        if self._client is None:
            if self.sandbox:
                self._client = AsyncWebClient(
                    token=SANDBOX_TOKEN, session=session,
                    base_url=f"{self.settings.sandbox_url.rstrip('/')}/sandbox/slack/api/")
            else:
                token = self.settings.slack_bot_token
                assert token is not None  # not sandbox means a token is set
                self._client = AsyncWebClient(token=token.get_secret_value(), session=session)
        return self._client

    async def call(self, method: str, *, channel: str | None = None,
                   **args: Any) -> dict[str, Any]:
        """Call ``method`` with ``args`` (None values dropped); returns Slack's answer."""
        if method == "chat.postMessage":
            bucket = self._channels[channel or "-"]
        else:
            bucket = self._tiers[METHOD_TIER.get(method, 3)][method]
        RATE_LIMIT_WAIT.labels("slack").observe(await bucket.acquire())
        params = {k: v for k, v in args.items() if v is not None}
        if channel is not None:
            params["channel"] = channel
        # The SDK's named methods know how each one wants its arguments (JSON, form, query).
        call = getattr(self.client, method.replace(".", "_"))
        with counted("slack"), map_errors(method, channel=channel,
                                          on_rate_limit=bucket.pause):
            response = await call(**params)
        data = response.data
        return dict(data) if isinstance(data, dict) else {}

    async def post_response(self, url: str, payload: dict[str, Any]) -> None:
        """POST to a ``response_url``; the SDK does not raise on failure, so check here."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentError("slack.respond: response_url must be an http(s) URL")
        if self.sandbox:
            url = sandbox_response_url(url, self.settings.sandbox_url)
        webhook = AsyncWebhookClient(url=url, session=self._session_now())
        with counted("slack") as note, map_errors("response_url"):
            response = await webhook.send_dict(payload)
            if response.status_code != 200:
                note.append(response.status_code)
        if response.status_code == 200:
            return
        body = (response.body or "").strip()[:100]
        if response.status_code == 404 or body in ("expired_url", "used_url"):
            raise PermanentError(
                f"slack.respond: the response_url is used up or expired ({body or 404}): it "
                "takes 5 messages within 30 minutes; use slack.post or slack.ephemeral instead")
        raise api_error("response_url", status=response.status_code, error=body,
                        headers=response.headers)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        self._client = None
