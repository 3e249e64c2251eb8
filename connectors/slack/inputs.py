"""Input models of the Slack actions (validated at lint time where values are static)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from connectors.base import ActionInput

Blocks = list[dict[str, Any]]


class _Message(ActionInput):
    text: str = Field(default="", max_length=40_000)
    blocks: Blocks | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _something(self) -> _Message:
        if not self.text and not self.blocks:
            raise ValueError("give 'text' or 'blocks'")
        return self


class PostInput(_Message):
    channel: str = Field(min_length=1)
    thread_ts: str | None = None
    unfurl_links: bool | None = None


class ReplyInput(_Message):
    channel: str | None = None  # default: the triggering message's channel
    thread_ts: str | None = None  # default: the triggering message's thread
    broadcast: bool = False  # also show the reply in the channel


class RespondInput(_Message):
    response_url: str | None = None  # default: the command's or shortcut's
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    replace_original: bool = False


class EphemeralInput(_Message):
    channel: str | None = None  # default: the triggering event's channel
    user: str | None = None  # default: who triggered the event
    thread_ts: str | None = None


class UpdateInput(_Message):
    channel: str | None = None
    ts: str = Field(min_length=1)


class ReactInput(ActionInput):
    name: str = Field(min_length=1, max_length=100)  # emoji name, with or without colons
    channel: str | None = None  # default: the triggering message's channel
    ts: str | None = None  # default: the triggering message


class LookupUserInput(ActionInput):
    email: str | None = None
    id: str | None = None

    @model_validator(mode="after")
    def _one(self) -> LookupUserInput:
        if bool(self.email) == bool(self.id):
            raise ValueError("give exactly one of 'email' or 'id'")
        return self


class GetMessageInput(ActionInput):
    channel: str | None = None  # default: the triggering event's channel
    ts: str | None = None  # default: the triggering message (or the message reacted to)


class PlainTextInput(ActionInput):
    text: str = Field(max_length=40_000)  # Slack's own limit on a message's text
