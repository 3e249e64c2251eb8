"""``POST /hooks/{source}``: JSON from Make, Zapier or any tool.

Checks run in an order that reveals nothing to a caller without the secret: size, source,
authentication, then content type and JSON. Nothing is written until all of them pass.
"""

from __future__ import annotations

import base64
import functools
import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.errors import BadRequest, NotFound, Unauthorized
from app.events import Event, new_id
from app.receivers.common import json_object, read_body, require_content_type
from app.runtime import Runtime
from app.settings import source_env_name

router = APIRouter()

ACTOR_FIELDS = ("author", "reporter", "user", "email", "user_email")


@functools.lru_cache(maxsize=64)
def _verifier(value: str) -> Webhook:
    """The verifier of one secret, built once: it decodes the key."""
    if not value.startswith("whsec_"):
        # A plain secret signs with its own bytes as the key, as the spec's libraries do.
        value = "whsec_" + base64.b64encode(value.encode()).decode()
    return Webhook(value)


def authenticate(secret: SecretStr, headers: Any, body: bytes) -> str | None:
    """Verify a bearer token or a Standard Webhooks signature; returns the webhook id, if any."""
    if "webhook-signature" in headers or "webhook-id" in headers:
        try:
            # json_parse=False: the body is parsed once, by the receiver, after this check.
            _verifier(secret.get_secret_value()).verify(body, {
                k: headers.get(k, "") for k in ("webhook-id", "webhook-timestamp",
                                                "webhook-signature")}, json_parse=False)
        except WebhookVerificationError as exc:
            raise Unauthorized(f"webhook signature rejected: {exc}") from None
        except Exception:
            raise Unauthorized("webhook signature rejected: malformed signature headers") from None
        return str(headers.get("webhook-id"))
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing credentials: send Authorization: Bearer <secret> or a "
                           "Standard Webhooks signature")
    if not hmac.compare_digest(token.strip().encode(), secret.get_secret_value().encode()):
        raise Unauthorized("bad bearer token")
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


@router.post("/hooks/{source}", status_code=202)
async def receive_webhook(source: str, request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.runtime
    body = await read_body(request, rt.settings.max_body_bytes)
    secret = rt.settings.webhook_secret(source) if source.replace("-", "").replace(
        "_", "").isalnum() else None
    if secret is None:
        raise NotFound(f"unknown webhook source '{source}': set {source_env_name(source)} "
                       f"to accept it")
    webhook_id = authenticate(secret, request.headers, body)
    require_content_type(request, "application/json")
    data = json_object(body)
    key = request.headers.get("idempotency-key") or webhook_id
    if key is not None and (not key.strip() or len(key) > 300):
        raise BadRequest("Idempotency-Key must be 1 to 300 characters")
    event = Event(
        source=source, type="webhook", data=data, actor=actor_of(data),
        dedupe_key=f"webhook:{source}:{key}" if key else f"webhook:{source}:{new_id()}",
    )
    result = await rt.submit(event)
    return JSONResponse(
        {"event_id": result.event_id, "runs": result.runs, "duplicate": result.duplicate},
        status_code=202,
    )
