"""What every receiver does first: bounded body reading and content-type checks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Receive

from app.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

# JSON nested deeper than this is refused (400): Python's decoder recurses (100k levels gave a
# 500), and stored events nested hundreds of levels could not be shown (issue 15).
MAX_JSON_DEPTH = 64




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


_STRUCTURE = re.compile(r'["\\\[\]{}]')


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON ``text`` nests arrays and objects more than ``limit`` deep.

    One pass over its brackets, quotes and backslashes (strings skipped), before the
    recursive decoder sees it. Most bodies have fewer brackets than the limit: no pass at all.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped_until = 0, False, -1
    for match in _STRUCTURE.finditer(text):
        at = match.start()
        if at < escaped_until:
            continue
        char = text[at]
        if in_string:
            if char == "\\":
                escaped_until = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def parse_json(text: str, what: str = "body") -> Any:
    """``text`` as JSON, or a 400 saying why (malformed, NaN/Infinity, nested too deep)."""
    if too_deep(text):
        raise BadRequest(f"{what} nests arrays and objects more than {MAX_JSON_DEPTH} levels "
                         f"deep")
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it.

    Refused besides malformed JSON: NaN and Infinity (not JSON), and the character NUL
    (``\\u0000``) in any string, which PostgreSQL cannot store: accepting such an event on one
    backend and not on the other would make a flow's behaviour depend on the database.
    """
    try:
        # What json.loads does with bytes, with a decoder built once.
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    data = parse_json(text)
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    if b"\\u0000" in body and _has_nul(data):
        raise BadRequest("body holds the character NUL (\\u0000) in a string: it cannot be "
                         "stored")
    return data
