"""``POST /hooks/{source}``: JSON from Make, Zapier or any tool.

Checks run in an order that reveals nothing to a caller without the secret: size, source,
authentication, then content type and JSON. Nothing is written until all of them pass.
"""

from __future__ import annotations

import base64
import functools
import hmac
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from app.errors import BadRequest, NotFound, Unauthorized
from app.events import Event, new_id
from app.receivers.common import Reply, json_object, require_content_type
from app.runtime import Runtime
from app.settings import Settings, source_env_name

TOLERANCE_SECONDS = 5 * 60
ACTOR_FIELDS = ("author", "reporter", "user", "email", "user_email")


@functools.lru_cache(maxsize=64)
def _hmac_key(value: str) -> bytes:
    """The HMAC key of one secret, decoded once: a ``whsec_`` secret is base64 (padding
    optional, as the spec's libraries accept); a plain secret signs with its own bytes."""
    if value.startswith("whsec_"):
        return base64.b64decode(value.removeprefix("whsec_") + "==")
    return value.encode()


# The same names a flow's ``webhook:`` trigger accepts: matched exactly, so ``/hooks/RELEASES``
# is not ``releases`` (issue 15) even though both would name the same environment variable.
_SOURCE = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _secret(settings: Settings, source: str) -> SecretStr | None:
    if _SOURCE.fullmatch(source) is None:
        return None
    return settings.webhook_secret(source)


def verify_signature(key: bytes, headers: Mapping[str, str], body: bytes, *,
                     now: float | None = None) -> None:
    """Raise Unauthorized unless ``body`` carries a fresh, valid Standard Webhooks signature.

    The spec's check (HMAC-SHA256 of ``id.timestamp.body``, any of the space-separated
    ``v1,<base64>`` signatures, five minutes either way) over the raw bytes, with the
    reference library's messages: the library decodes the body to text and re-encodes it,
    and builds datetimes, on every request.
    """
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise Unauthorized("webhook signature rejected: Missing required headers")
    try:
        sent = float(stamp)
        if not math.isfinite(sent):
            raise ValueError(stamp)
    except ValueError:
        raise Unauthorized("webhook signature rejected: Invalid Signature Headers") from None
    now = time.time() if now is None else now
    if sent < now - TOLERANCE_SECONDS:
        raise Unauthorized("webhook signature rejected: Message timestamp too old")
    if sent > now + TOLERANCE_SECONDS:
        raise Unauthorized("webhook signature rejected: Message timestamp too new")
    expected = hmac.digest(key, f"{msg_id}.{math.floor(sent)}.".encode() + body, "sha256")
    try:
        for versioned in signatures.split(" "):
            version, signature = versioned.split(",")
            if version == "v1" and hmac.compare_digest(expected, base64.b64decode(signature)):
                return
    except ValueError:  # not "version,base64" (binascii.Error is a ValueError)
        raise Unauthorized("webhook signature rejected: malformed signature headers") from None
    raise Unauthorized("webhook signature rejected: No matching signature found")


def _signed(headers: Mapping[str, str]) -> bool:
    return "webhook-signature" in headers or "webhook-id" in headers


def _bearer(secret: SecretStr, headers: Mapping[str, str]) -> None:
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing credentials: send Authorization: Bearer <secret> or a "
                           "Standard Webhooks signature")
    if not hmac.compare_digest(token.strip().encode(), secret.get_secret_value().encode()):
        raise Unauthorized("bad bearer token")


def check_before_body(rt: Runtime, *, source: str, headers: Mapping[str, str]) -> None:
    """What needs no body, checked before it is read (issue 15): the source exists and, when
    the request is not signed, its bearer token. A stranger's upload is refused unread."""
    secret = _secret(rt.settings, source)
    if secret is None:
        raise NotFound(f"unknown webhook source '{source}': set {source_env_name(source)} "
                       f"to accept it")
    if not _signed(headers):
        _bearer(secret, headers)


def authenticate(secret: SecretStr, headers: Mapping[str, str], body: bytes) -> str | None:
    """Verify a bearer token or a Standard Webhooks signature; returns the webhook id, if any."""
    if _signed(headers):
        try:
            key = _hmac_key(secret.get_secret_value())
        except ValueError:  # a whsec_ secret that is not base64: nothing can match it
            raise Unauthorized("webhook signature rejected: malformed signature headers") \
                from None
        verify_signature(key, headers, body)
        return str(headers.get("webhook-id"))
    _bearer(secret, headers)
    return None


def actor_of(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ACTOR_FIELDS:
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
            if isinstance(value, dict):
                for sub in ("email", "id", "name"):
                    if isinstance(value.get(sub), str):
                        return str(value[sub])[:200]
    return None


async def receive(rt: Runtime, *, source: str, headers: Mapping[str, str],
                  body: bytes) -> Reply:
    """``POST /hooks/{source}`` (served by ``front.py``): 202 once the event is committed."""
    secret = _secret(rt.settings, source)
    if secret is None:
        raise NotFound(f"unknown webhook source '{source}': set {source_env_name(source)} "
                       f"to accept it")
    webhook_id = authenticate(secret, headers, body)
    require_content_type(headers, "application/json")
    data = json_object(body)
    # A signed delivery is identified by its signed webhook-id alone: Idempotency-Key is not
    # covered by the signature, so honouring it would let a captured delivery run again with
    # a fresh key (issue 15). Bearer sources have nothing else and keep Idempotency-Key.
    key = webhook_id if webhook_id is not None else headers.get("idempotency-key")
    if key is not None and (not key.strip() or len(key) > 300):
        name = "webhook-id" if webhook_id is not None else "Idempotency-Key"
        raise BadRequest(f"{name} must be 1 to 300 characters")
    event = Event(
        source=source, type="webhook", data=data, actor=actor_of(data),
        dedupe_key=f"webhook:{source}:{key}" if key else f"webhook:{source}:{new_id()}",
    )
    result = await rt.submit(event)
    return Reply(202, {"event_id": result.event_id, "runs": result.runs,
                       "duplicate": result.duplicate})
