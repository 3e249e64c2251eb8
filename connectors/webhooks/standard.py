"""Standard Webhooks (https://www.standardwebhooks.com/, spec on GitHub:
standard-webhooks/standard-webhooks, ``spec/standard-webhooks.md``): Svix, Resend, Clerk,
Typeform's newer apps and many others sign this way."""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Mapping
from typing import Any

from app.errors import Unauthorized
from connectors.webhooks.schemes import Delivery, Scheme, body_str, same, sign, text_id

TOLERANCE_SECONDS = 5 * 60


@functools.lru_cache(maxsize=64)
def hmac_key(value: str) -> bytes:
    """The HMAC key of one secret, decoded once: a ``whsec_`` secret is base64 (padding
    optional, as the spec's libraries accept); a plain secret signs with its own bytes."""
    if value.startswith("whsec_"):
        return base64.b64decode(value.removeprefix("whsec_") + "==")
    return value.encode()


def verify_signature(key: bytes, headers: Mapping[str, str], body: bytes, *,
                     now: float) -> None:
    """Raise Unauthorized unless ``body`` carries a fresh, valid Standard Webhooks signature.

    HMAC-SHA256 of ``id.timestamp.body`` over the raw bytes, any of the space-separated
    ``v1,<base64>`` signatures, five minutes either way; the reference library's messages.
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
    if sent < now - TOLERANCE_SECONDS:
        raise Unauthorized("webhook signature rejected: Message timestamp too old")
    if sent > now + TOLERANCE_SECONDS:
        raise Unauthorized("webhook signature rejected: Message timestamp too new")
    expected = sign(key, f"{msg_id}.{math.floor(sent)}.".encode() + body)
    try:
        for versioned in signatures.split(" "):
            version, signature = versioned.split(",")
            if version == "v1" and same(expected, base64.b64decode(signature)):
                return
    except ValueError:  # not "version,base64" (binascii.Error is a ValueError)
        raise Unauthorized("webhook signature rejected: malformed signature headers") from None
    raise Unauthorized("webhook signature rejected: No matching signature found")


class StandardScheme(Scheme):
    """``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``. Dedupes on the signed
    ``webhook-id`` only: an unsigned ``Idempotency-Key`` could be changed by anyone who
    replays a captured request."""

    name = "standard"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        try:
            key = hmac_key(secret)
        except ValueError:  # a whsec_ secret that is not base64: nothing can match it
            raise Unauthorized("webhook signature rejected: malformed signature headers") \
                from None
        verify_signature(key, headers, body, now=now)

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        # The spec's payload structure puts the event type in "type" ("user.created").
        return Delivery(id=text_id(headers.get("webhook-id"), "webhook-id"),
                        event=body_str(data, "type"))
