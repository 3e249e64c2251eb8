"""What every receiver does first: bounded body reading and content-type checks."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from app.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def require_content_type(request: Request, *allowed: str) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    ok = any(ctype == a or (a == "application/json" and ctype.endswith("+json")) for a in allowed)
    if not ok:
        raise UnsupportedMediaType(
            f"content type must be {' or '.join(allowed)} (got {ctype or 'none'})"
        )


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data
