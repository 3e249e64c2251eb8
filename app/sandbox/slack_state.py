"""What the Slack stand-in keeps: the seeded workspace, stored messages, and the lookups and
checks its methods share (channels, blocks, views, rate-limit buckets, ``ts`` values)."""

from __future__ import annotations

import copy
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Passerelle Sandbox"
BOT_USER_ID = "U0PASSBOT"
BOT_ID = "B0PASSBOT"
APP_ID = "A0PASSAPP"
WORKSPACE_URL = "https://sandbox.slack.com/"

MAX_TEXT = 40_000  # Slack refuses (or truncates) message text beyond this
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TITLE = 24  # characters in a modal's title
RESPONSE_URL_USES = 5  # a response_url takes at most 5 posts ...
RESPONSE_URL_TTL = 30 * 60.0  # ... within 30 minutes of its creation
POST_BURST = 3  # chat.postMessage: a short burst per channel, then 1 per second
POST_RATE = 1.0

SEED_CHANNELS = (
    ("C0GENERAL", "general"),
    ("C0FEEDBACK", "product-feedback"),
    ("C0RELEASES", "releases"),
    ("C0RETRO", "team-retro"),
)
NOT_IN_CHANNEL_PREFIX = "C0NOTIN"  # any such id is a channel the bot has not joined


class SlackRefusal(Exception):
    """A request the stand-in refuses as Slack would; the router turns it into Slack's answer.

    It never leaves the sandbox, so it is not part of Passerelle's error tree.
    """

    def __init__(
        self, error: str, *, status: int = 200, retry_after: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.detail = detail


@dataclass(frozen=True)
class User:
    """A workspace member."""

    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False

    def info(self) -> JSON:
        profile: JSON = {"real_name": self.real_name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        if self.is_bot:
            profile["bot_id"] = BOT_ID
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "tz": "Europe/Paris",
            "profile": profile,
        }


SEED_USERS = (
    User("U0ADA", "ada", "Ada Lovelace", "ada@example.com"),
    User("U0GRACE", "grace", "Grace Hopper", "grace@example.com"),
    User(BOT_USER_ID, "passerelle", "Passerelle", is_bot=True),
)


@dataclass
class Channel:
    """A conversation and every message posted to it, replies included, keyed by ``ts``."""

    id: str
    name: str
    is_member: bool = True
    dm_user: str | None = None
    messages: dict[str, JSON] = field(default_factory=dict)

    def info(self) -> JSON:
        if self.dm_user:
            return {"id": self.id, "is_im": True, "user": self.dm_user, "created": 1732230000}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_member": self.is_member,
            "created": 1732230000,
            "context_team_id": TEAM_ID,
        }


@dataclass
class TokenBucket:
    """``capacity`` calls at once, refilled at ``rate`` per second of the injected clock."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; return 0 if granted, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class ResponseUrl:
    """How often a response_url was used since it was handed out."""

    created: float
    uses: int = 0


class TsSource:
    """Message timestamps as Slack writes them: epoch seconds, a dot, 6 digits; unique and
    strictly increasing even when two messages arrive within the same microsecond."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        micros = max(time.time_ns() // 1000, self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def as_str(args: JSON, key: str) -> str | None:
    """A scalar argument as text (form bodies carry strings, JSON bodies may not); None if unset."""
    value = args.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _decoded(value: Any, error: str, what: str) -> Any:
    # Form-encoded calls carry blocks and views as JSON strings; JSON calls carry them as is.
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackRefusal(error, detail=f"{what} is not valid JSON") from None


def parse_blocks(value: Any, *, limit: int = MAX_MESSAGE_BLOCKS) -> list[JSON] | None:
    """Loose Block Kit check: a list (at most ``limit``) of objects that each have a ``type``."""
    if value is None or value == "":
        return None
    blocks = _decoded(value, "invalid_blocks", "blocks")
    if not isinstance(blocks, list):
        raise SlackRefusal("invalid_blocks", detail="blocks must be an array")
    if len(blocks) > limit:
        raise SlackRefusal("invalid_blocks", detail=f"no more than {limit} items allowed")
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackRefusal("invalid_blocks", detail=f"blocks[{index}] must have a type")
    return blocks


def parse_attachments(value: Any) -> list[JSON] | None:
    if value is None or value == "":
        return None
    attachments = _decoded(value, "invalid_attachments", "attachments")
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise SlackRefusal("invalid_attachments", detail="attachments must be an array of objects")
    return attachments


def parse_view(value: Any, *, view_type: str) -> JSON:
    """Check a view as views.open/update/publish do: its type, a short title for modals,
    and blocks. Returns the view with blocks normalised."""
    if value is None or value == "":
        raise SlackRefusal("invalid_arguments", detail="missing required field: view")
    view = _decoded(value, "invalid_arguments", "view")
    if not isinstance(view, dict):
        raise SlackRefusal("invalid_arguments", detail="view must be an object")
    if view.get("type") != view_type:
        raise SlackRefusal("invalid_arguments", detail=f"view.type must be {view_type}")
    if view_type == "modal":
        title = view.get("title")
        if not isinstance(title, dict) or not isinstance(title.get("text"), str):
            raise SlackRefusal("invalid_arguments", detail="view.title must be a plain_text object")
        if len(title["text"]) > MAX_TITLE:
            raise SlackRefusal(
                "invalid_arguments", detail=f"view.title must be at most {MAX_TITLE} characters"
            )
    if "blocks" not in view:
        raise SlackRefusal("invalid_arguments", detail="missing required field: view.blocks")
    blocks = parse_blocks(view["blocks"], limit=MAX_VIEW_BLOCKS)
    return {**view, "blocks": blocks or []}


class Workspace:
    """One sandbox workspace's memory and the lookups every method shares.

    Not thread-safe on its own: ``SlackSandbox`` holds a lock around every use.
    """

    def __init__(self, *, rate_limits: bool, clock: Callable[[], float]) -> None:
        self.users = {user.id: user for user in SEED_USERS}
        self.channels = {cid: Channel(cid, name) for cid, name in SEED_CHANNELS}
        self.records: list[JSON] = []
        self.views: dict[str, JSON] = {}
        self.home_views: dict[str, str] = {}  # user id -> view id
        self.response_urls: dict[str, ResponseUrl] = {}
        self.clock = clock
        self._rate_limits = rate_limits
        self._buckets: dict[str, TokenBucket] = {}
        self._ts = TsSource()

    def next_ts(self) -> str:
        return self._ts.next()

    def record(self, kind: str, **fields: Any) -> None:
        entry = {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}
        self.records.append({**copy.deepcopy(entry), "at": now_iso()})

    def channel(self, args: JSON, *, by_name: bool = True, member: bool = True) -> Channel:
        """The ``channel`` argument's conversation. chat.* methods also take ``#name``,
        ``name`` and a user id (its DM); conversations.* methods want an id."""
        raw = as_str(args, "channel") or ""
        channel = self.channels.get(raw)
        if channel is None and raw.startswith(NOT_IN_CHANNEL_PREFIX):
            channel = self.channels[raw] = Channel(raw, raw.lower(), is_member=False)
        if channel is None and by_name and raw in self.users:
            dm_id = "D" + raw[1:]
            channel = self.channels.setdefault(dm_id, Channel(dm_id, dm_id, dm_user=raw))
        if channel is None and by_name:
            name = raw.removeprefix("#")
            channel = next((c for c in self.channels.values() if c.name == name), None)
        if channel is None:
            raise SlackRefusal("channel_not_found")
        if member and not channel.is_member:
            raise SlackRefusal("not_in_channel")
        return channel

    @staticmethod
    def message(channel: Channel, ts: str | None) -> JSON:
        message = channel.messages.get(ts or "")
        if message is None:
            raise SlackRefusal("message_not_found")
        return message

    @staticmethod
    def content(args: JSON) -> tuple[str, list[JSON] | None, list[JSON] | None]:
        """A message's text, blocks and attachments, checked as chat.* methods do."""
        text = as_str(args, "text") or ""
        blocks = parse_blocks(args.get("blocks"))
        attachments = parse_attachments(args.get("attachments"))
        if not (text or blocks or attachments):
            raise SlackRefusal("no_text")
        if len(text) > MAX_TEXT:
            raise SlackRefusal("msg_too_long")
        return text, blocks, attachments

    def throttle(self, channel: Channel) -> None:
        """chat.postMessage's per-channel limit: answered with 429 and Retry-After."""
        if not self._rate_limits:
            return
        now = self.clock()
        bucket = self._buckets.setdefault(
            channel.id, TokenBucket(POST_BURST, POST_RATE, POST_BURST, now)
        )
        wait = bucket.take(now)
        if wait:
            raise SlackRefusal("ratelimited", status=429, retry_after=max(1, math.ceil(wait)))

    def save_view(self, view: JSON, view_id: str | None = None) -> JSON:
        """Store a checked view under a new id (or replace ``view_id``) with a fresh hash."""
        view_id = view_id or "V0" + secrets.token_hex(5).upper()
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            **view,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": view_id,
        }
        self.views[view_id] = stored
        return stored


def bot_message(ts: str, text: str, blocks: Any, attachments: Any) -> JSON:
    """A message as Slack stores one the bot posted."""
    message: JSON = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "text": text,
        "ts": ts,
    }
    if blocks:
        message["blocks"] = blocks
    if attachments:
        message["attachments"] = attachments
    return message
