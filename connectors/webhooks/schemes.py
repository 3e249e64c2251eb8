"""How a webhook source proves a request is its own: one small class per scheme.

A source names its scheme in ``PASSERELLE_WEBHOOK_SCHEME_<SOURCE>`` beside its secret
(``PASSERELLE_WEBHOOK_SECRET_<SOURCE>``); without it, a ``whsec_`` secret means Standard
Webhooks and any other secret a bearer token. The receiver calls a scheme twice:

1. ``verify(secret, headers, body, now=...)`` on the raw bytes, before anything is parsed:
   raises ``Unauthorized`` unless the request is signed (or carries the token) as the
   provider documents, with a fresh timestamp where the provider sends one.
2. ``identify(headers, data, now=...)`` once the body is a JSON object: the provider's
   delivery id (the dedupe key: the same id twice is one event) and its event type (what a
   flow reads as ``trigger.event`` and filters on with ``webhook: {source, event}``).
   Schemes whose timestamp lives in the body (Linear) check its freshness here.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from app.errors import BadRequest, Unauthorized

MAX_ID_CHARS = 300


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a verified request says about itself: its delivery id and its event type."""

    id: str | None = None
    event: str | None = None


class Scheme(ABC):
    """One way of authenticating webhook requests (the interface every scheme implements)."""

    name: ClassVar[str]
    # False for a scheme that signs no body (a token in a header): the receiver checks it
    # before reading the body, so a stranger's upload is refused unread (issue 15).
    reads_body: ClassVar[bool] = True

    @abstractmethod
    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        """Raise ``Unauthorized`` unless ``body`` and ``headers`` prove the sender knows
        ``secret``. Runs before the body is parsed."""

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        """The delivery id and event type of a verified request (default: neither)."""
        return Delivery()


def text_id(value: Any, what: str) -> str | None:
    """A delivery id or event type as text, or None when absent; refuses junk with a 400."""
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadRequest(f"{what} must be a string")
    text = str(value)
    if not text.strip() or len(text) > MAX_ID_CHARS:
        raise BadRequest(f"{what} must be 1 to {MAX_ID_CHARS} characters")
    return text


def body_str(data: dict[str, Any], key: str) -> str | None:
    """An event type read from the body: a non-empty string of at most MAX_ID_CHARS, else None
    (a payload that merely has an odd ``type`` field is still accepted)."""
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() and len(value) <= MAX_ID_CHARS \
        else None


def same(expected: bytes, given: bytes) -> bool:
    """Constant-time comparison (a timing difference must not reveal a secret's prefix)."""
    return hmac.compare_digest(expected, given)


def sign(key: bytes, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.digest(key, message, digest)


def b64decode(value: str) -> bytes | None:
    """Strict base64 (None when not base64, so that a malformed header is just a mismatch)."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def hexdecode(value: str) -> bytes | None:
    try:
        return bytes.fromhex(value.strip())
    except ValueError:
        return None


class BearerScheme(Scheme):
    """``Authorization: Bearer <secret>`` (Make, Zapier, curl); ``Idempotency-Key`` dedupes."""

    name = "bearer"
    reads_body = False

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        kind, _, token = headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing credentials: send Authorization: Bearer <secret>")
        if not same(secret.encode(), token.strip().encode()):
            raise Unauthorized("bad bearer token")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        key = headers.get("idempotency-key")
        if key is not None and (not key.strip() or len(key) > MAX_ID_CHARS):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_ID_CHARS} characters")
        return Delivery(id=key)


class BasicScheme(Scheme):
    """HTTP Basic authentication; the secret is ``user:password`` (RFC 7617)."""

    name = "basic"
    reads_body = False

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        kind, _, encoded = headers.get("authorization", "").partition(" ")
        if kind.lower() != "basic" or not encoded.strip():
            raise Unauthorized("missing credentials: send Authorization: Basic <user:password>")
        given = b64decode(encoded)
        if given is None or not same(secret.encode(), given):
            raise Unauthorized("bad user or password")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        return BearerScheme().identify(headers, data, now=now)


class GitLabScheme(Scheme):
    """GitLab sends the secret token as is in ``X-Gitlab-Token`` (no signature).

    https://docs.gitlab.com/user/project/integrations/webhooks/ : the event type is
    ``X-Gitlab-Event`` ("Push Hook", "Merge Request Hook", ...); ``X-Gitlab-Event-UUID``
    identifies the event (a retry of the same event repeats it).
    """

    name = "gitlab"
    reads_body = False

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        token = headers.get("x-gitlab-token")
        if not token:
            raise Unauthorized("missing X-Gitlab-Token header")
        if not same(secret.encode(), token.encode()):
            raise Unauthorized("bad X-Gitlab-Token")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        uuid = headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key")
        return Delivery(id=text_id(uuid, "X-Gitlab-Event-UUID"),
                        event=text_id(headers.get("x-gitlab-event"), "X-Gitlab-Event"))
