"""The records the Notion stand-in keeps, and its id and timestamp conventions.

Values are stored per property *id* (so renaming a property keeps them) in Notion's read
shape without the `id`/`type` wrapper; computed properties are not stored at all.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.sandbox.notion_errors import body_invalid

BOT_USER_ID = "5a0c7f3e-2d4b-4c1e-9b8a-6f1d2e3c4b5a"
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_PROP_ID_CHARS = string.ascii_letters + string.digits
ROOT_TITLE = "Passerelle sandbox"
UNSHARED_TITLE = "Team notes (not shared with the integration)"
# The integration's bot and a few people; ids are constant so flows and tests can name them.
USERS: list[dict[str, Any]] = [
    {
        "object": "user",
        "id": BOT_USER_ID,
        "name": "Passerelle",
        "avatar_url": None,
        "type": "bot",
        "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": ROOT_TITLE},
    },
    *(
        {
            "object": "user",
            "id": user_id,
            "name": name,
            "avatar_url": None,
            "type": "person",
            "person": {"email": email},
        }
        for user_id, name, email in (
            ("3f1e6a4c-8b52-4d0e-a7c1-2b9d5e8f0a11", "Ada Lovelace", "ada@example.com"),
            ("7c2d9b1e-4a63-4f8d-b0e2-5c1a8d3f6b22", "Grace Hopper", "grace@example.com"),
            ("9e4b2c7d-1f85-4a3b-8d6e-0f2c4b7a9d33", "Margaret Hamilton", "margaret@example.com"),
        )
    ),
]


def new_id() -> str:
    return str(uuid.uuid4())


def new_prop_id() -> str:
    return "".join(secrets.choice(_PROP_ID_CHARS) for _ in range(4))


def parse_id(raw: Any, path: str) -> str:
    """Notion accepts ids with or without dashes; they are kept in the dashed form."""
    if not isinstance(raw, str) or not _UUID.match(raw.strip().lower()):
        raise body_invalid(path, "should be a valid uuid", raw)
    return str(uuid.UUID(raw.strip()))


def stamp(moment: datetime) -> str:
    """Notion's timestamp format: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_minute(moment: datetime) -> datetime:
    """Notion keeps created/last edited times to the minute (a known polling pitfall)."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


PERSON_TOKEN_PREFIX = "person:"
# Internal integration tokens: `secret_…` (before September 2024) and `ntn_…` (since).
INTEGRATION_TOKEN_PREFIXES = ("secret_", "ntn_")


def actor_of(token: str) -> str:
    """Who a request acts as: the integration's bot, or, for a token ``person:<user id>``,
    that seeded person — so tests and demos can make the human edits that trigger flows."""
    if token.startswith(INTEGRATION_TOKEN_PREFIXES) and len(token) > len("ntn_"):
        return BOT_USER_ID
    if not token.startswith(PERSON_TOKEN_PREFIX):
        raise ValueError("not a Notion token")
    user_id = token.removeprefix(PERSON_TOKEN_PREFIX)
    if not any(u["id"] == user_id and u["type"] == "person" for u in USERS):
        raise ValueError(user_id)
    return user_id


def user_ref(user_id: str = BOT_USER_ID) -> dict[str, Any]:
    return {"object": "user", "id": user_id}


@dataclass
class Prop:
    """One property of a data source schema; `config` is the object under its type key."""

    id: str
    name: str
    type: str
    config: dict[str, Any] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": "",
            "type": self.type,
            self.type: deepcopy(self.config),
        }


Schema = dict[str, Prop]  # by property id, in display order

# A page outside any data source has exactly one property, its title.
PAGE_SCHEMA: Schema = {"title": Prop("title", "title", "title")}


def find_prop(schema: Schema, key: str) -> Prop | None:
    """Properties are addressed by name or by id, like Notion does."""
    for prop in schema.values():
        if prop.name == key:
            return prop
    return schema.get(key)


@dataclass
class DataSource:
    id: str
    database_id: str
    title: list[dict[str, Any]]
    properties: Schema
    created: datetime
    edited: datetime
    next_number: int = 1
    in_trash: bool = False


@dataclass
class Database:
    id: str
    title: list[dict[str, Any]]
    parent: dict[str, Any]
    data_source_ids: list[str]
    created: datetime
    edited: datetime
    description: list[dict[str, Any]] = field(default_factory=list)
    is_inline: bool = False
    in_trash: bool = False


@dataclass
class Page:
    id: str
    parent: dict[str, Any]
    values: dict[str, Any]
    created: datetime
    edited: datetime
    number: int | None = None
    in_trash: bool = False
    icon: Any = None
    cover: Any = None
    creator: str = BOT_USER_ID
    editor: str = BOT_USER_ID

    @property
    def data_source_id(self) -> str | None:
        value = self.parent.get("data_source_id")
        return value if isinstance(value, str) else None


@dataclass
class Block:
    id: str
    parent: dict[str, Any]
    type: str
    payload: dict[str, Any]
    created: datetime
    edited: datetime
    in_trash: bool = False


@dataclass
class Comment:
    id: str
    page_id: str
    discussion_id: str
    rich_text: list[dict[str, Any]]
    created: datetime
