"""What every receiver does first: bounded body reading and content-type checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Receive

from app.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType


@dataclass(frozen=True, slots=True)
class Reply:
    """A receiver's answer: a status and a JSON body (``None``: an empty body)."""

    status: int = 200
    body: dict[str, Any] | None = None


async def read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed ``limit`` bytes.

    Raises Starlette's ``ClientDisconnect`` when the client leaves before sending it all.
    """
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def require_content_type(headers: Mapping[str, str], *allowed: str) -> None:
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in allowed:  # the usual case, without the generator below
        return
    if not ("application/json" in allowed and ctype.endswith("+json")):
        raise UnsupportedMediaType(
            f"content type must be {' or '.join(allowed)} (got {ctype or 'none'})"
        )


def _no_constants(name: str) -> Any:
    # Python's json module reads NaN and Infinity; JSON has no such values, and PostgreSQL's
    # jsonb refuses to store them.
    raise ValueError(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it.

    Refused besides malformed JSON: NaN and Infinity (not JSON), and the character NUL
    (``\\u0000``) in any string, which PostgreSQL cannot store: accepting such an event on one
    backend and not on the other would make a flow's behaviour depend on the database.
    """
    try:
        # What json.loads does with bytes, with a decoder built once.
        data = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    if b"\\u0000" in body and _has_nul(data):
        raise BadRequest("body holds the character NUL (\\u0000) in a string: it cannot be "
                         "stored")
    return data
