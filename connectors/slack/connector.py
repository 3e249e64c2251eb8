"""The ``slack`` connector: post, reply, respond, ephemeral, update, react, get_message,
lookup_user.

Inputs a flow leaves out (channel, thread, user, response_url) come from the triggering event
(see ``context``). Outputs are small JSON dicts a later step can use (``steps.x.ts``).
Besides actions, the Slack receiver uses ``identity()`` (our bot, to ignore our own events)
and ``open_view()`` (a modal, inside Slack's 3-second window).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from app.settings import Settings
from connectors.base import ActionContext, Connector, PermanentError, action
from connectors.slack.client import SlackApi
from connectors.slack.context import channel_of, message_of, need, response_url_of, user_of
from connectors.slack.errors import slack_error
from connectors.slack.inputs import (
    EphemeralInput,
    GetMessageInput,
    LookupUserInput,
    PlainTextInput,
    PostInput,
    ReactInput,
    ReplyInput,
    RespondInput,
    UpdateInput,
)
from connectors.slack.markup import plain_text

RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60
USER_CACHE_SECONDS = 3600.0


def _content(inp: Any) -> dict[str, Any]:
    return {"text": inp.text or None, "blocks": inp.blocks}


class SlackConnector(Connector):
    name = "slack"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.api = SlackApi(settings)
        self._identity: dict[str, str] | None = None
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._channels: dict[str, tuple[float, str]] = {}
        self._response_uses: dict[str, int] = {}

    @property
    def sandbox(self) -> bool:
        return self.settings.slack_sandbox

    # -- used by the receiver ------------------------------------------------------------

    async def identity(self) -> dict[str, str]:
        """Our bot's ``user_id`` and ``bot_id`` (auth.test, asked once per process)."""
        if self._identity is None:
            data = await self.api.call("auth.test")
            self._identity = {"user_id": str(data.get("user_id") or ""),
                              "bot_id": str(data.get("bot_id") or "")}
        return self._identity

    async def open_view(self, *, trigger_id: str, view: dict[str, Any]) -> str:
        """Open a modal; returns its view id."""
        data = await self.api.call("views.open", trigger_id=trigger_id, view=view)
        return str((data.get("view") or {}).get("id") or "")

    # -- actions ---------------------------------------------------------------------------

    async def _permalink(self, channel: str, ts: str) -> str | None:
        try:
            data = await self.api.call("chat.getPermalink", channel=channel, message_ts=ts)
        except Exception:  # the message is out; a missing link must not make a retry re-post
            return None
        return data.get("permalink")

    async def _post(self, channel: str, inp: Any, **extra: Any) -> dict[str, Any]:
        data = await self.api.call("chat.postMessage", channel=channel, **_content(inp),
                                   **extra)
        ts = str(data.get("ts") or "")
        channel = str(data.get("channel") or channel)
        return {"channel": channel, "ts": ts, "thread_ts": extra.get("thread_ts"),
                "permalink": await self._permalink(channel, ts)}

    @action("post", PostInput, summary="Post a message to a channel (or a thread)")
    async def post(self, inp: PostInput, ctx: ActionContext) -> dict[str, Any]:
        return await self._post(inp.channel, inp, thread_ts=inp.thread_ts,
                                unfurl_links=inp.unfurl_links)

    @action("reply", ReplyInput, summary="Reply in the thread of the triggering message")
    async def reply(self, inp: ReplyInput, ctx: ActionContext) -> dict[str, Any]:
        hint = "reply works on message events, reactions and message shortcuts; or give " \
               "'channel' and 'thread_ts'"
        channel = need(inp.channel or channel_of(ctx.event), "channel", "reply", hint)
        ts, thread_ts = message_of(ctx.event)
        thread = need(inp.thread_ts or thread_ts or ts, "message", "reply", hint)
        return await self._post(channel, inp, thread_ts=thread,
                                reply_broadcast=inp.broadcast or None)

    @action("respond", RespondInput,
            summary="Answer a command or shortcut through its response_url")
    async def respond(self, inp: RespondInput, ctx: ActionContext) -> dict[str, Any]:
        url = need(inp.response_url or response_url_of(ctx.event), "response_url", "respond",
                   "respond works on slash commands, shortcuts and modals opened by them; use "
                   "slack.post or slack.ephemeral for other events")
        received = ctx.trigger.get("received_at")
        if inp.response_url is None and isinstance(received, str):
            age = time.time() - datetime.fromisoformat(received).timestamp()
            if age > RESPONSE_URL_SECONDS:
                raise PermanentError("slack.respond: the response_url expired (Slack keeps it "
                                     "30 minutes); use slack.post or slack.ephemeral instead")
        uses = self._response_uses.get(url, 0)
        if uses >= RESPONSE_URL_USES:
            raise PermanentError("slack.respond: this response_url was already used 5 times "
                                 "(Slack's limit); use slack.post or slack.ephemeral instead")
        payload: dict[str, Any] = {"response_type": inp.response_type,
                                   **{k: v for k, v in _content(inp).items() if v}}
        if inp.replace_original:
            payload["replace_original"] = True
        await self.api.post_response(url, payload)
        self._response_uses[url] = uses + 1
        return {"ok": True, "response_type": inp.response_type, "uses": uses + 1}

    @action("ephemeral", EphemeralInput,
            summary="Show a message to one user in a channel (only they see it)")
    async def ephemeral(self, inp: EphemeralInput, ctx: ActionContext) -> dict[str, Any]:
        channel = need(inp.channel or channel_of(ctx.event), "channel", "ephemeral",
                       "give 'channel'")
        user = need(inp.user or user_of(ctx.event), "user", "ephemeral", "give 'user'")
        data = await self.api.call("chat.postEphemeral", channel=channel, user=user,
                                   thread_ts=inp.thread_ts, **_content(inp))
        return {"channel": channel, "user": user, "message_ts": data.get("message_ts")}

    @action("update", UpdateInput, summary="Change a message the bot posted")
    async def update(self, inp: UpdateInput, ctx: ActionContext) -> dict[str, Any]:
        channel = need(inp.channel or channel_of(ctx.event), "channel", "update",
                       "give 'channel' (e.g. {{ steps.post.channel }})")
        data = await self.api.call("chat.update", channel=channel, ts=inp.ts, **_content(inp))
        return {"channel": str(data.get("channel") or channel), "ts": str(data.get("ts") or "")}

    @action("react", ReactInput, summary="Add an emoji reaction to a message",
            idempotent=True)
    async def react(self, inp: ReactInput, ctx: ActionContext) -> dict[str, Any]:
        hint = "give 'channel' and 'ts', or use it on a message event or shortcut"
        channel = need(inp.channel or channel_of(ctx.event), "channel", "react", hint)
        ts = need(inp.ts or message_of(ctx.event)[0], "message", "react", hint)
        name = inp.name.strip().strip(":")
        already = False
        try:
            await self.api.call("reactions.add", channel=channel, timestamp=ts, name=name)
        except PermanentError as exc:
            if slack_error(exc) != "already_reacted":
                raise
            already = True  # the reaction is there, which is what the flow wanted
        return {"channel": channel, "ts": ts, "name": name, "already_reacted": already}

    @action("get_message", GetMessageInput, summary="Read one message (text, author, link)",
            idempotent=True)
    async def get_message(self, inp: GetMessageInput, ctx: ActionContext) -> dict[str, Any]:
        """The message a reaction was added to, or any message by channel and ``ts``.

        Reaction events carry only where the message is, not what it says.
        """
        hint = "give 'channel' and 'ts', or use it on a reaction or message event"
        channel = need(inp.channel or channel_of(ctx.event), "channel", "get_message", hint)
        ts = need(inp.ts or message_of(ctx.event)[0], "message", "get_message", hint)
        data = await self.api.call("conversations.history", channel=channel, latest=ts,
                                   inclusive=True, limit=1)
        found = [m for m in data.get("messages") or [] if m.get("ts") == ts]
        if not found:
            raise PermanentError(f"slack.get_message: no message {ts} in {channel} (deleted, "
                                 "or in a thread: threads are not read)")
        message = found[0]
        link = await self.api.call("chat.getPermalink", channel=channel, message_ts=ts)
        return {"channel": channel, "ts": ts, "text": message.get("text") or "",
                "user": message.get("user") or message.get("bot_id"),
                "thread_ts": message.get("thread_ts"), "permalink": link.get("permalink")}

    @action("lookup_user", LookupUserInput, summary="Find a Slack user by email or id",
            idempotent=True)
    async def lookup_user(self, inp: LookupUserInput, ctx: ActionContext) -> dict[str, Any]:
        key = f"email:{inp.email.lower()}" if inp.email else f"id:{inp.id}"
        cached = self._users.get(key)
        if cached is not None and time.monotonic() - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        try:
            if inp.email:
                data = await self.api.call("users.lookupByEmail", email=inp.email)
            else:
                data = await self.api.call("users.info", user=inp.id)
        except PermanentError as exc:
            if slack_error(exc) in ("users_not_found", "user_not_found"):
                raise PermanentError(f"slack.lookup_user: no Slack user with "
                                     f"{'email ' + inp.email if inp.email else 'id ' + str(inp.id)}"
                                     " in this workspace") from exc
            raise
        user = data.get("user") or {}
        profile = user.get("profile") or {}
        result = {"id": user.get("id"), "name": user.get("name"),
                  "real_name": user.get("real_name") or profile.get("real_name"),
                  "display_name": profile.get("display_name"), "email": profile.get("email"),
                  "tz": user.get("tz"), "is_bot": bool(user.get("is_bot"))}
        self._users[key] = (time.monotonic(), result)
        return result

    @action("plain_text", PlainTextInput, idempotent=True,
            summary="Slack markup to plain text: <@U…> and <#C…> become names")
    async def plain_text(self, inp: PlainTextInput, ctx: ActionContext) -> dict[str, Any]:
        async def user_name(ident: str) -> str | None:
            found = await self.lookup_user(LookupUserInput(id=ident), ctx)
            return found.get("display_name") or found.get("real_name") or found.get("name")

        async def channel_name(ident: str) -> str | None:
            cached = self._channels.get(ident)
            if cached is not None and time.monotonic() - cached[0] < USER_CACHE_SECONDS:
                return cached[1]
            data = await self.api.call("conversations.info", channel=ident)
            name = str((data.get("channel") or {}).get("name") or "") or None
            if name:
                self._channels[ident] = (time.monotonic(), name)
            return name

        return {"text": await plain_text(inp.text, user_name=user_name,
                                         channel_name=channel_name)}

    async def aclose(self) -> None:
        await self.api.aclose()
