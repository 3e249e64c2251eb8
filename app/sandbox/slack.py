"""The Slack Web API stand-in: the methods Passerelle uses, answered from memory.

The real ``slack_sdk`` ``AsyncWebClient`` talks to it over HTTP when no ``SLACK_BOT_TOKEN`` is
set, and the end-to-end tests read back what it received. HTTP lives in ``slack_routes``, the
workspace's memory and the shared checks in ``slack_state``; this module holds the behaviour.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Callable

from fastapi import APIRouter

from app.sandbox.slack_routes import build_router
from app.sandbox.slack_state import (
    BOT_ID,
    BOT_USER_ID,
    JSON,
    RESPONSE_URL_TTL,
    RESPONSE_URL_USES,
    TEAM_ID,
    TEAM_NAME,
    WORKSPACE_URL,
    Channel,
    ResponseUrl,
    SlackRefusal,
    Workspace,
    as_str,
    bot_message,
    parse_blocks,
    parse_view,
)

Method = Callable[[JSON], JSON]
PERSON_TOKEN_PREFIX = "xoxp-sandbox-"
READS = frozenset({"auth.test", "chat.getPermalink", "users.info", "users.lookupByEmail",
                   "conversations.info", "conversations.history"})


class SlackSandbox:
    """In-memory fake of the Slack Web API and of ``response_url`` posts.

    Mount ``router()`` at ``/sandbox/slack``. Every accepted write is recorded, in order, in
    ``messages()`` as ``{"kind": ..., <the keys that apply>, "at": <ISO time>}``, where kind is
    one of post, reply, ephemeral, update, reaction, response, modal, view_update, home, and
    person (a message a seeded person posted with a user token, see ``_person``).
    Message kinds always carry ``text`` and carry ``blocks`` when some were sent.

    ``rate_limits`` turns on chat.postMessage's per-channel limit (a burst of 3, then 1 per
    second), measured with ``clock`` so tests can drive it. Thread-safe: the server may run
    in another thread than the code reading ``messages()``.
    """

    def __init__(
        self, *, rate_limits: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bot_user_id = BOT_USER_ID
        self.bot_id = BOT_ID
        self.team_id = TEAM_ID
        self._rate_limits = rate_limits
        self._clock = clock
        self._lock = threading.Lock()
        self._ws: Workspace
        self._methods: dict[str, Method] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.getPermalink": self._permalink,
            "reactions.add": self._add_reaction,
            "users.info": self._user_info,
            "users.lookupByEmail": self._lookup_by_email,
            "conversations.info": self._conversation_info,
            "conversations.join": self._join,
            "conversations.history": self._history,
            "views.open": self._open_view,
            "views.update": self._update_view,
            "views.publish": self._publish_view,
        }
        self.version = 0  # counts changes, so the keeper (persist.py) saves only after one
        self.on_change: Callable[[], None] | None = None  # told after each change
        self.reset()

    # -- public interface ------------------------------------------------------------------

    def router(self) -> APIRouter:
        """Routes without prefix: ``/api/<method>``, ``/response/<key>``, ``/messages``."""
        return build_router(self)

    def messages(self) -> list[JSON]:
        """Everything received, in order (a copy)."""
        with self._lock:
            return copy.deepcopy(self._ws.records)

    def response_url(self, key: str | None = None) -> str:
        """Hand out a response_url path (relative: prefix the server's base URL)."""
        key = key or secrets.token_urlsafe(12)
        with self._lock:
            self._ws.response_urls.setdefault(key, ResponseUrl(created=self._clock()))
        return f"/sandbox/slack/response/{key}"

    def reset(self) -> None:
        """Forget every message, view, reaction, rate bucket and response_url; reseed."""
        with self._lock:
            self._ws = Workspace(rate_limits=self._rate_limits, clock=self._clock)
            self.version += 1
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def snapshot(self) -> JSON:
        """Channels with their messages, the record of writes, views (see persist.py)."""
        with self._lock:
            ws = self._ws
            return copy.deepcopy({
                "shape": 1,
                "channels": [{"id": c.id, "name": c.name, "is_member": c.is_member,
                              "dm_user": c.dm_user, "messages": c.messages}
                             for c in ws.channels.values()],
                "records": ws.records, "views": ws.views, "home_views": ws.home_views,
            })

    def restore(self, data: JSON) -> None:
        if data.get("shape") != 1:
            raise ValueError(f"snapshot shape {data.get('shape')!r}, expected 1")
        ws = Workspace(rate_limits=self._rate_limits, clock=self._clock)
        for c in data["channels"]:
            ws.channels[c["id"]] = Channel(c["id"], c["name"], bool(c["is_member"]),
                                           c["dm_user"], dict(c["messages"]))
        ws.records = list(data["records"])
        ws.views, ws.home_views = dict(data["views"]), dict(data["home_views"])
        with self._lock:
            self._ws = ws

    # -- used by the router ----------------------------------------------------------------

    def call(self, method: str, args: JSON, *, token: str | None) -> JSON:
        """Run one Web API method; return the answer without ``ok`` or raise SlackRefusal."""
        handler = self._methods.get(method)
        if handler is None:
            raise SlackRefusal("unknown_method")
        if not token:
            raise SlackRefusal("not_authed")
        if not token.startswith("xox"):
            raise SlackRefusal("invalid_auth")
        person = self._person(token)
        if person is not None and method != "chat.postMessage":
            raise SlackRefusal("not_allowed_token_type")  # people only post, in the sandbox
        with self._lock:
            if method not in READS:
                self.version += 1
            answer = self._post_as_person(args, person) if person else handler(args)
        if method not in READS:
            self._changed()
        return answer

    def _person(self, token: str) -> str | None:
        """A user token ``xoxp-sandbox-<user id>`` acts as that seeded person (who can post in
        a channel, so that shortcuts and reactions have a message to point at)."""
        if not token.startswith(PERSON_TOKEN_PREFIX):
            return None
        user_id = token.removeprefix(PERSON_TOKEN_PREFIX)
        user = self._ws.users.get(user_id)
        if user is None or user.is_bot:
            raise SlackRefusal("invalid_auth")
        return user_id

    def post_response(self, key: str, payload: JSON) -> None:
        """Take one response_url post, or raise SlackRefusal (404 once used up or expired)."""
        self._changed()
        with self._lock:
            self.version += 1
            now = self._clock()
            url = self._ws.response_urls.setdefault(key, ResponseUrl(created=now))
            if now - url.created > RESPONSE_URL_TTL:
                raise SlackRefusal("expired_url", status=404)
            if url.uses >= RESPONSE_URL_USES:
                raise SlackRefusal("used_url", status=404)
            text = as_str(payload, "text")
            try:
                blocks = parse_blocks(payload.get("blocks"))
            except SlackRefusal as refusal:  # webhooks answer bad payloads with a 400
                raise SlackRefusal(refusal.error, status=400) from None
            if not (text or blocks or payload.get("delete_original")):
                raise SlackRefusal("no_text", status=400)
            url.uses += 1
            self._ws.record(
                "response",
                response_url_key=key,
                response_type=as_str(payload, "response_type") or "ephemeral",
                thread_ts=as_str(payload, "thread_ts"),
                text=text or "",
                blocks=blocks,
                replace_original=payload.get("replace_original"),
                delete_original=payload.get("delete_original"),
            )

    # -- Web API methods -------------------------------------------------------------------

    def _auth_test(self, args: JSON) -> JSON:
        return {
            "url": WORKSPACE_URL,
            "team": TEAM_NAME,
            "user": "passerelle",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: JSON) -> JSON:
        channel = self._ws.channel(args)
        self._ws.throttle(channel)
        text, blocks, attachments = self._ws.content(args)
        ts = self._ws.next_ts()
        message = bot_message(ts, text, blocks, attachments)
        thread_ts = as_str(args, "thread_ts")
        if thread_ts:
            # Slack files a reply to a reply under the thread's parent.
            parent = channel.messages.get(thread_ts)
            if parent is not None:
                thread_ts = parent.get("thread_ts", thread_ts)
                parent = channel.messages.get(thread_ts, parent)
                parent.update(thread_ts=thread_ts, latest_reply=ts)
                parent["reply_count"] = parent.get("reply_count", 0) + 1
            message.update(thread_ts=thread_ts, parent_user_id=BOT_USER_ID)
        channel.messages[ts] = message
        self._ws.record(
            "reply" if thread_ts else "post",
            channel=channel.id,
            ts=ts,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            attachments=attachments,
        )
        return {"channel": channel.id, "ts": ts, "message": copy.deepcopy(message)}

    def _post_as_person(self, args: JSON, user_id: str) -> JSON:
        channel = self._ws.channel(args)
        text, blocks, _ = self._ws.content(args)
        ts = self._ws.next_ts()
        message: JSON = {"type": "message", "user": user_id, "team": TEAM_ID, "text": text,
                         "ts": ts}
        if blocks:
            message["blocks"] = blocks
        channel.messages[ts] = message
        self._ws.record("person", channel=channel.id, ts=ts, user=user_id, text=text)
        return {"channel": channel.id, "ts": ts, "message": copy.deepcopy(message)}

    def _post_ephemeral(self, args: JSON) -> JSON:
        channel = self._ws.channel(args)
        user = as_str(args, "user")
        if user not in self._ws.users:
            raise SlackRefusal("user_not_in_channel")
        text, blocks, attachments = self._ws.content(args)
        ts = self._ws.next_ts()
        self._ws.record(
            "ephemeral",
            channel=channel.id,
            ts=ts,
            thread_ts=as_str(args, "thread_ts"),
            user=user,
            text=text,
            blocks=blocks,
            attachments=attachments,
        )
        return {"message_ts": ts}

    def _update(self, args: JSON) -> JSON:
        channel = self._ws.channel(args)
        message = self._ws.message(channel, as_str(args, "ts"))
        text, blocks, attachments = self._ws.content(args)
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        if attachments is not None:
            message["attachments"] = attachments
        message["edited"] = {"user": BOT_USER_ID, "ts": self._ws.next_ts()}
        self._ws.record(
            "update",
            channel=channel.id,
            ts=message["ts"],
            thread_ts=message.get("thread_ts"),
            text=text,
            blocks=blocks,
            attachments=attachments,
        )
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": text,
            "message": copy.deepcopy(message),
        }

    def _permalink(self, args: JSON) -> JSON:
        channel = self._ws.channel(args, member=False)
        ts = self._ws.message(channel, as_str(args, "message_ts"))["ts"]
        link = f"https://sandbox.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
        return {"channel": channel.id, "permalink": link}

    def _add_reaction(self, args: JSON) -> JSON:
        channel = self._ws.channel(args)
        message = self._ws.message(channel, as_str(args, "timestamp"))
        name = (as_str(args, "name") or "").strip(":")
        if not name:
            raise SlackRefusal("invalid_name")
        reactions: list[JSON] = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if BOT_USER_ID in reaction["users"]:
            raise SlackRefusal("already_reacted")
        reaction["users"].append(BOT_USER_ID)
        reaction["count"] += 1
        self._ws.record("reaction", channel=channel.id, ts=message["ts"], name=name)
        return {}

    def _user_info(self, args: JSON) -> JSON:
        user = self._ws.users.get(as_str(args, "user") or "")
        if user is None:
            raise SlackRefusal("user_not_found")
        return {"user": user.info()}

    def _lookup_by_email(self, args: JSON) -> JSON:
        email = (as_str(args, "email") or "").lower()
        user = next((u for u in self._ws.users.values() if u.email and u.email == email), None)
        if user is None:
            raise SlackRefusal("users_not_found")
        return {"user": user.info()}

    def _conversation_info(self, args: JSON) -> JSON:
        return {"channel": self._ws.channel(args, by_name=False, member=False).info()}

    def _join(self, args: JSON) -> JSON:
        channel = self._ws.channel(args, by_name=False, member=False)
        answer: JSON = {"warning": "already_in_channel"} if channel.is_member else {}
        channel.is_member = True
        return {"channel": channel.info(), **answer}

    def _history(self, args: JSON) -> JSON:
        channel = self._ws.channel(args, by_name=False)
        try:
            limit = max(1, min(999, int(as_str(args, "limit") or 100)))
        except ValueError:
            raise SlackRefusal("invalid_limit") from None
        top_level = [m for m in channel.messages.values() if m.get("thread_ts", m["ts"]) == m["ts"]]
        # latest / oldest bound the window; inclusive keeps messages exactly at the bounds.
        inclusive = as_str(args, "inclusive") in ("true", "1", "True")
        latest, oldest = as_str(args, "latest"), as_str(args, "oldest")
        if latest:
            top_level = [m for m in top_level if _ts(m["ts"]) < _ts(latest)
                         or (inclusive and m["ts"] == latest)]
        if oldest:
            top_level = [m for m in top_level if _ts(m["ts"]) > _ts(oldest)
                         or (inclusive and m["ts"] == oldest)]
        newest_first = sorted(top_level, key=lambda m: m["ts"], reverse=True)
        return {
            "messages": copy.deepcopy(newest_first[:limit]),
            "has_more": len(newest_first) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _open_view(self, args: JSON) -> JSON:
        trigger = as_str(args, "trigger_id") or as_str(args, "interactivity_pointer")
        if not trigger:
            raise SlackRefusal("invalid_arguments", detail="missing required field: trigger_id")
        if trigger == "expired":
            raise SlackRefusal("expired_trigger_id")
        view = self._ws.save_view(parse_view(args.get("view"), view_type="modal"))
        self._ws.record("modal", view=view)
        return {"view": copy.deepcopy(view)}

    def _update_view(self, args: JSON) -> JSON:
        view_id, external_id = as_str(args, "view_id"), as_str(args, "external_id")
        if not (view_id or external_id):
            raise SlackRefusal("invalid_arguments", detail="view_id or external_id is required")
        current = self._ws.views.get(view_id or "") or next(
            (v for v in self._ws.views.values() if external_id and v["external_id"] == external_id),
            None,
        )
        if current is None:
            raise SlackRefusal("not_found")
        expected_hash = as_str(args, "hash")
        if expected_hash and expected_hash != current["hash"]:
            raise SlackRefusal("hash_conflict")
        view = self._ws.save_view(parse_view(args.get("view"), view_type="modal"), current["id"])
        self._ws.record("view_update", view=view)
        return {"view": copy.deepcopy(view)}

    def _publish_view(self, args: JSON) -> JSON:
        user_id = as_str(args, "user_id") or ""
        if user_id not in self._ws.users:
            raise SlackRefusal("user_not_found")
        view = parse_view(args.get("view"), view_type="home")
        stored = self._ws.save_view(view, self._ws.home_views.get(user_id))
        self._ws.home_views[user_id] = stored["id"]
        self._ws.record("home", user=user_id, view=stored)
        return {"view": copy.deepcopy(stored)}


def _ts(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise SlackRefusal("invalid_ts_latest") from None
