"""The HMAC signatures of the tools product teams use, each as its provider documents it.

All of them sign the raw body as received (never a re-serialised JSON), with the secret the
provider shows or lets you choose, and differ in the header, the digest, the encoding, the
prefix and whether (and where) a timestamp is signed. Each class names its doc page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.errors import Unauthorized
from connectors.webhooks.schemes import (
    Delivery,
    Scheme,
    b64decode,
    body_str,
    hexdecode,
    same,
    sign,
    text_id,
)


def _prefixed(value: str | None, prefix: str, header: str) -> str:
    if not value:
        raise Unauthorized(f"missing {header} header")
    if not value.startswith(prefix):
        raise Unauthorized(f"{header} must start with '{prefix}'")
    return value.removeprefix(prefix)


def _fresh(sent: float, now: float, window: float, what: str) -> None:
    if not math.isfinite(sent) or abs(now - sent) > window:
        raise Unauthorized(f"{what} is more than {int(window)} seconds away from now: "
                           "a stale or replayed request")


class GitHubScheme(Scheme):
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``; ``X-GitHub-Delivery``
    (a GUID, kept on redelivery) and ``X-GitHub-Event`` ("release", "issues", ...).
    https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries"""

    name = "github"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        given = hexdecode(_prefixed(headers.get("x-hub-signature-256"), "sha256=",
                                    "X-Hub-Signature-256"))
        if given is None or not same(sign(secret.encode(), body), given):
            raise Unauthorized("X-Hub-Signature-256 does not match the body")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        return Delivery(id=text_id(headers.get("x-github-delivery"), "X-GitHub-Delivery"),
                        event=text_id(headers.get("x-github-event"), "X-GitHub-Event"))


class LinearScheme(Scheme):
    """``Linear-Signature: <hex HMAC-SHA256(secret, body)>``; the body's ``webhookTimestamp``
    (milliseconds) must be within a minute of now. ``Linear-Delivery`` (a UUID) and
    ``Linear-Event`` ("Issue", "Comment", ...). https://linear.app/developers/webhooks"""

    name = "linear"
    window = 60.0

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        value = headers.get("linear-signature")
        if not value:
            raise Unauthorized("missing Linear-Signature header")
        given = hexdecode(value)
        if given is None or not same(sign(secret.encode(), body), given):
            raise Unauthorized("Linear-Signature does not match the body")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        stamp = data.get("webhookTimestamp")
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            raise Unauthorized("the body has no webhookTimestamp: cannot tell a replay")
        _fresh(stamp / 1000, now, self.window, "webhookTimestamp")
        return Delivery(id=text_id(headers.get("linear-delivery"), "Linear-Delivery"),
                        event=text_id(headers.get("linear-event") or data.get("type"),
                                      "Linear-Event"))


class TypeformScheme(Scheme):
    """``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>``; the body's
    ``event_id`` and ``event_type`` ("form_response").
    https://www.typeform.com/developers/webhooks/secure-your-webhooks/"""

    name = "typeform"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        given = b64decode(_prefixed(headers.get("typeform-signature"), "sha256=",
                                    "Typeform-Signature"))
        if given is None or not same(sign(secret.encode(), body), given):
            raise Unauthorized("Typeform-Signature does not match the body")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        return Delivery(id=text_id(data.get("event_id"), "event_id"),
                        event=body_str(data, "event_type"))


class StripeScheme(Scheme):
    """``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>[,v1=...]``, five
    minutes of tolerance (Stripe's libraries' default); the event's ``id`` and ``type``.
    https://docs.stripe.com/webhooks#verify-manually"""

    name = "stripe"
    tolerance = 300.0

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        value = headers.get("stripe-signature")
        if not value:
            raise Unauthorized("missing Stripe-Signature header")
        stamps, signatures = [], []
        for part in value.split(","):
            key, _, item = part.strip().partition("=")
            if key == "t":
                stamps.append(item)
            elif key == "v1":
                signatures.append(item)
        if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
            raise Unauthorized("Stripe-Signature must hold one t= and at least one v1=")
        _fresh(float(stamps[0]), now, self.tolerance, "the Stripe-Signature timestamp")
        expected = sign(secret.encode(), stamps[0].encode() + b"." + body)
        if not any(same(expected, hexdecode(s) or b"") for s in signatures):
            raise Unauthorized("Stripe-Signature does not match the body")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        return Delivery(id=text_id(data.get("id"), "id"), event=body_str(data, "type"))


class ShopifyScheme(Scheme):
    """``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(client secret, body)>``;
    ``X-Shopify-Webhook-Id`` and ``X-Shopify-Topic`` ("orders/create").
    https://shopify.dev/docs/apps/build/webhooks/subscribe/https"""

    name = "shopify"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        value = headers.get("x-shopify-hmac-sha256")
        if not value:
            raise Unauthorized("missing X-Shopify-Hmac-Sha256 header")
        given = b64decode(value)
        if given is None or not same(sign(secret.encode(), body), given):
            raise Unauthorized("X-Shopify-Hmac-Sha256 does not match the body")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        return Delivery(
            id=text_id(headers.get("x-shopify-webhook-id"), "X-Shopify-Webhook-Id"),
            event=text_id(headers.get("x-shopify-topic"), "X-Shopify-Topic"))


class IntercomScheme(Scheme):
    """``X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>``; the notification's
    ``id`` and ``topic`` ("conversation.admin.tagged" ...). Intercom signs no timestamp.
    https://developers.intercom.com/docs/references/webhooks/webhook-models"""

    name = "intercom"

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        given = hexdecode(_prefixed(headers.get("x-hub-signature"), "sha1=",
                                    "X-Hub-Signature"))
        if given is None or not same(sign(secret.encode(), body, "sha1"), given):
            raise Unauthorized("X-Hub-Signature does not match the body")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        return Delivery(id=text_id(data.get("id"), "id"), event=body_str(data, "topic"))


class ZendeskScheme(Scheme):
    """``X-Zendesk-Webhook-Signature: <base64 HMAC-SHA256(secret, timestamp + body)>`` with
    ``X-Zendesk-Webhook-Signature-Timestamp`` (ISO 8601), which must be within five minutes.
    Delivery id: ``X-Zendesk-Webhook-Invocation-Id``, else the event's ``id``; event type: the
    event subscription's ``type`` ("zen:event-type:ticket.created").
    https://developer.zendesk.com/documentation/webhooks/verifying/"""

    name = "zendesk"
    window = 300.0

    def verify(self, secret: str, headers: Mapping[str, str], body: bytes, *,
               now: float) -> None:
        value = headers.get("x-zendesk-webhook-signature")
        stamp = headers.get("x-zendesk-webhook-signature-timestamp")
        if not value or not stamp:
            raise Unauthorized("missing X-Zendesk-Webhook-Signature or its -Timestamp header")
        try:
            sent = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise Unauthorized("X-Zendesk-Webhook-Signature-Timestamp is not a date") from None
        if sent.tzinfo is None:
            raise Unauthorized("X-Zendesk-Webhook-Signature-Timestamp has no time zone")
        _fresh(sent.timestamp(), now, self.window, "the Zendesk signature timestamp")
        given = b64decode(value)
        if given is None or not same(sign(secret.encode(), stamp.encode() + body), given):
            raise Unauthorized("X-Zendesk-Webhook-Signature does not match the body")

    def identify(self, headers: Mapping[str, str], data: dict[str, Any], *,
                 now: float) -> Delivery:
        invocation = headers.get("x-zendesk-webhook-invocation-id") or data.get("id")
        return Delivery(id=text_id(invocation, "X-Zendesk-Webhook-Invocation-Id"),
                        event=body_str(data, "type"))
