"""Trigger models: what ``on:`` may say, and whether an event matches it.

Each trigger has a short form (a scalar for its first field) and a long form (a mapping whose
extra fields are optional filters). Matching is pure: it reads the event, calls nothing.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.events import Event

_FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _search(pattern: str | None, text: Any) -> bool:
    return pattern is None or re.search(pattern, str(text or ""), re.IGNORECASE) is not None


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class ModalCheck(_Model):
    """A validation rule of a modal field: ``if`` (over ``value`` and ``values``) must hold,
    otherwise ``message`` is shown under the field and the submission creates no run."""

    if_: str = Field(alias="if", min_length=1)
    message: str = Field(min_length=1, max_length=150)

    @field_validator("if_")
    @classmethod
    def _parses(cls, value: str) -> str:
        from app.engine import expressions

        text = value if expressions.is_template(value) else "{{ " + value + " }}"
        error, names, _ = expressions.check(text)
        if error:
            raise ValueError(f"condition does not parse: {error}")
        unknown = names - {"value", "values"}
        if unknown:
            raise ValueError(f"unknown name {', '.join(sorted(unknown))} in condition "
                             "(a field check can read: value, values)")
        return value


class ModalField(_Model):
    """One input of a declarative Slack modal."""

    name: str = Field(pattern=_FIELD_NAME)
    label: str = Field(min_length=1, max_length=48)
    type: Literal[
        "text", "long_text", "select", "multi_select", "user", "date", "checkbox"
    ] = "text"
    required: bool = True
    options: list[str] = Field(default_factory=list, max_length=100)
    placeholder: str | None = Field(default=None, max_length=150)
    hint: str | None = Field(default=None, max_length=2000)
    initial: str | None = None
    validate_: list[ModalCheck] = Field(default_factory=list, alias="validate", max_length=10)


class ModalSpec(_Model):
    """A small form that opens in Slack; its submission triggers the flow."""

    title: str = Field(min_length=1, max_length=24)
    submit: str = Field(default="Save", max_length=24)
    fields: list[ModalField] = Field(min_length=1, max_length=50)
    callback_id: str | None = None  # defaults to the flow name


class Trigger(_Model, ABC):
    kind: ClassVar[str]
    short: ClassVar[str]

    @abstractmethod
    def matches(self, event: Event, flow: str) -> bool:
        """Whether ``event`` triggers flow ``flow`` (pure: reads the event, calls nothing)."""

    def modal_callback(self, flow: str) -> str | None:
        modal: ModalSpec | None = getattr(self, "modal", None)
        return (modal.callback_id or flow) if modal else None


class WebhookTrigger(Trigger):
    kind = "webhook"
    short = "source"
    source: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    # The provider's event type (GitHub's X-GitHub-Event, Stripe's "type", ...): trigger.event.
    event: str | None = Field(default=None, min_length=1, max_length=300)

    def matches(self, event: Event, flow: str) -> bool:
        return (event.type == "webhook" and event.source == self.source
                and (self.event is None or event.kind == self.event))


class SlackCommandTrigger(Trigger):
    kind = "slack.command"
    short = "command"
    command: str = Field(pattern=r"^/[a-z0-9][a-z0-9_\-]{0,31}$")
    text: str | None = None
    description: str = ""
    usage_hint: str = ""
    modal: ModalSpec | None = None
    # Optional text answered at once, visible only to the user ("Got it"); default: no answer.
    ack: str | None = Field(default=None, max_length=200)

    _check_text = field_validator("text")(_regex)

    def matches(self, event: Event, flow: str) -> bool:
        data = event.data
        if event.type == "slack.view":
            return self.modal is not None and _view_callback(data) == self.modal_callback(flow)
        if event.type != "slack.command" or data.get("command") != self.command:
            return False
        if self.modal is not None and not str(data.get("text") or "").strip():
            return False  # opens the modal instead; the submission is the run
        return _search(self.text, data.get("text"))


# Subtypes that are still a new message someone wrote (https://api.slack.com/events/message).
NEW_MESSAGES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
CHANNEL_TYPES = {"channels": "channel", "groups": "group", "im": "im", "mpim": "mpim"}


class SlackEventTrigger(Trigger):
    kind = "slack.event"
    short = "type"
    type: str = Field(pattern=r"^[a-z_.]+$")
    reaction: str | None = None
    channel: str | None = None
    text: str | None = None
    include_bots: bool = False
    # Messages: without `subtype`, only new messages match (an edit's message_changed, a
    # message_deleted, a channel_join… do not rerun the flow); name one to get those.
    subtype: str | None = Field(default=None, pattern=r"^[a-z_]+$")

    _check_text = field_validator("text")(_regex)

    def matches(self, event: Event, flow: str) -> bool:
        data = event.data
        if event.type != "slack.event":
            return False
        kind, _, conversation = self.type.partition(".")
        if kind == "message" and conversation:
            # message.im / .channels / .groups / .mpim: Slack's subscriptions per conversation
            # kind, told apart by the event's channel_type (https://api.slack.com/events/message.im)
            if data.get("type") != "message" or data.get("channel_type") != CHANNEL_TYPES.get(
                    conversation):
                return False
        elif data.get("type") != self.type:
            return False
        if kind == "message":
            subtype = data.get("subtype")
            if subtype != self.subtype and (self.subtype or subtype not in NEW_MESSAGES):
                return False
        if not self.include_bots and data.get("passerelle_from_bot"):
            return False
        if self.reaction and data.get("reaction") != self.reaction.strip(":"):
            return False
        item = data.get("item")
        channel = data.get("channel") or (item.get("channel") if isinstance(item, dict) else None)
        if self.channel and channel != self.channel:
            return False
        return _search(self.text, data.get("text"))


class SlackShortcutTrigger(Trigger):
    kind = "slack.shortcut"
    short = "callback_id"
    callback_id: str = Field(pattern=r"^[A-Za-z0-9_\-.]{1,255}$")
    name: str | None = Field(default=None, max_length=24)
    description: str = ""
    type: Literal["message", "global"] = "message"
    modal: ModalSpec | None = None

    def matches(self, event: Event, flow: str) -> bool:
        data = event.data
        if event.type == "slack.view":
            return self.modal is not None and _view_callback(data) == self.modal_callback(flow)
        return (
            event.type == "slack.shortcut"
            and self.modal is None
            and data.get("callback_id") == self.callback_id
        )


class SlackViewTrigger(Trigger):
    kind = "slack.view"
    short = "callback_id"
    callback_id: str

    def matches(self, event: Event, flow: str) -> bool:
        return event.type == "slack.view" and _view_callback(event.data) == self.callback_id


class NotionPageTrigger(Trigger):
    kind = "notion.page"
    short = "database"
    database: str = Field(min_length=1)
    created: bool = False
    changed: str | None = None
    to: Any = None
    from_: Any = Field(default=None, alias="from")
    include_own: bool = False

    def matches(self, event: Event, flow: str) -> bool:
        data = event.data
        if event.type != "notion.page":
            return False
        wanted = self.database.replace("-", "").lower()
        names = {
            str(data.get(k) or "").replace("-", "").lower()
            for k in ("database_id", "data_source_id", "database", "database_title")
        }
        if wanted not in names:
            return False
        if not self.include_own and data.get("by_passerelle"):
            return False
        if self.created:
            return bool(data.get("created"))
        if self.changed is not None:
            change = (data.get("changes") or {}).get(self.changed)
            if change is None:
                return False
            if self.to is not None and change.get("new") != self.to:
                return False
            if self.from_ is not None and change.get("old") != self.from_:
                return False
            return True
        return True


class ScheduleTrigger(Trigger):
    kind = "schedule"
    short = "cron"
    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a valid cron expression: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use a name like Europe/Paris)"
            ) from None
        return value

    def matches(self, event: Event, flow: str) -> bool:
        return event.type == "schedule" and event.data.get("flow") == flow


def _view_callback(data: dict[str, Any]) -> Any:
    view = data.get("view")
    return view.get("callback_id") if isinstance(view, dict) else None


TRIGGERS: dict[str, type[Trigger]] = {
    cls.kind: cls
    for cls in (
        WebhookTrigger, SlackCommandTrigger, SlackEventTrigger, SlackShortcutTrigger,
        SlackViewTrigger, NotionPageTrigger, ScheduleTrigger,
    )
}

AnyTrigger = (
    WebhookTrigger | SlackCommandTrigger | SlackEventTrigger | SlackShortcutTrigger
    | SlackViewTrigger | NotionPageTrigger | ScheduleTrigger
)
