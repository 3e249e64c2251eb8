"""Errors of the Notion stand-in, answered as Notion's `{"object": "error", ...}` bodies.

Messages follow Notion's own wording so that code written against the stand-in sees what it
would see in production (`"Tags is expected to be multi_select."`, `"body failed validation:
body.children.length should be ≤ 100, instead was 101."`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any


class NotionError(Exception):
    """An API error: HTTP status, Notion error code and message (plus response headers)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "object": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "request_id": str(uuid.uuid4()),
        }


def validation(message: str) -> NotionError:
    return NotionError(400, "validation_error", message)


def body_invalid(path: str, expectation: str, value: Any) -> NotionError:
    """Notion's wording for a value that fails the request schema."""
    return validation(f"body failed validation: {path} {expectation}, instead was {show(value)}.")


def too_long(path: str, limit: int, actual: int) -> NotionError:
    return validation(
        f"body failed validation: {path}.length should be ≤ {limit}, instead was {actual}."
    )


def not_found(kind: str, object_id: str) -> NotionError:
    return NotionError(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. "
        "Make sure the relevant pages and databases are shared with your integration.",
    )


def show(value: Any) -> str:
    """A short JSON rendering of a rejected value, for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
