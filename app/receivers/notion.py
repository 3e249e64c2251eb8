"""``POST /notion/webhooks``: Notion integration webhooks.

1. The subscription's first request carries ``verification_token``: while
   ``NOTION_WEBHOOK_TOKEN`` is unset it is accepted, logged and kept in the store (kv
   ``notion`` / ``verification_token``) so the operator can paste it into Notion's "Verify"
   dialog and set it as ``NOTION_WEBHOOK_TOKEN``. Once that is set, unsigned requests are
   refused (401) and never replace the stored token.
2. Every later delivery must carry ``X-Notion-Signature: sha256=<HMAC-SHA256 of the raw body
   keyed with NOTION_WEBHOOK_TOKEN>``, else 401.
3. Deliveries are deduplicated on their event id. Notion sends signals, not values, so the
   receiver only marks the page's data source as signalled (committed before the 200) and
   answers; the watcher (``notion_poll.py``) re-fetches, compares with the snapshot and
   submits the ``notion.page`` event — after the ack, in a background task and on every
   worker tick, so a crash right after the ack loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from app.errors import BadRequest, BodyTimeout, Unauthorized
from app.events import utcnow
from app.receivers.common import json_object, read_body, require_content_type
from app.receivers.notion_poll import ALL, SIGNALS
from app.runtime import Runtime

router = APIRouter()
log = logging.getLogger("passerelle.notion")

DELIVERIES = "notion-delivery"
VERIFICATION = ("notion", "verification_token")
PAGE_EVENTS = frozenset({
    "page.created", "page.properties_updated", "page.content_updated", "page.undeleted",
    "page.moved",
})  # fmt: skip


def signature(token: str, body: bytes) -> str:
    """The ``X-Notion-Signature`` value Notion sends for ``body``."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _parent_id(data: dict[str, Any]) -> str:
    parent = (data.get("data") or {}).get("parent") or {}
    return str(parent.get("data_source_id") or parent.get("id") or ALL)


@router.post("/notion/webhooks")
async def notion_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
    rt: Runtime = request.app.state.runtime
    try:
        async with asyncio.timeout(rt.settings.body_timeout_seconds):
            body = await read_body(request.receive, request.headers, rt.settings.max_body_bytes)
    except TimeoutError:
        raise BodyTimeout(f"the body did not arrive within {rt.settings.body_timeout_seconds:g}"
                          f" s (PASSERELLE_BODY_TIMEOUT_SECONDS)") from None
    configured = rt.settings.notion_webhook_token
    sent = request.headers.get("x-notion-signature")
    if sent is None:
        if configured is not None:
            # Verified already: an unsigned request could only be someone else's "verification"
            # trying to replace the token the operator copies (issue 15). Re-subscribing
            # means unsetting NOTION_WEBHOOK_TOKEN first.
            raise Unauthorized("missing X-Notion-Signature: NOTION_WEBHOOK_TOKEN is set, so "
                               "every request must be signed (unset it to verify a new "
                               "subscription)")
        # Only the subscription's verification request arrives unsigned (Notion sends it
        # before anyone knows the token; a new subscription sends a new one).
        return await _verification(rt, request, body)
    if configured is None:
        raise Unauthorized("NOTION_WEBHOOK_TOKEN is not set: paste the verification token "
                           "shown in the log and on the dashboard into it")
    expected = signature(configured.get_secret_value(), body)
    if not hmac.compare_digest(sent.strip().encode(), expected.encode()):
        raise Unauthorized("bad X-Notion-Signature")
    require_content_type(request.headers, "application/json")
    data = json_object(body)
    event_id, kind = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(kind, str):
        raise BadRequest("a Notion event needs a string 'id' and 'type'")
    now = utcnow().isoformat()
    first = await rt.store.kv_setdefault(DELIVERIES, event_id, now) == now
    if first and kind in PAGE_EVENTS:
        await rt.store.kv_put(SIGNALS, _parent_id(data), now)
        watcher = rt.extras.get("notion_watcher")
        if watcher is not None:
            background.add_task(watcher.process_signals)
    log.info("notion delivery", extra={"notion_event": event_id, "type": kind,
                                         "duplicate": not first})
    return JSONResponse({"ok": True, "duplicate": not first})


async def _verification(rt: Runtime, request: Request, body: bytes) -> JSONResponse:
    require_content_type(request.headers, "application/json")
    data = json_object(body)
    token = data.get("verification_token")
    if not isinstance(token, str) or not token.strip():
        raise Unauthorized("unsigned Notion request: only the subscription's verification "
                           "request (with verification_token) is accepted unsigned")
    await rt.store.kv_put(*VERIFICATION, {"token": token, "received_at": utcnow().isoformat()})
    # Not a secret yet: the operator must copy it into Notion and into NOTION_WEBHOOK_TOKEN.
    log.warning("notion webhook verification token received: %s — paste it into Notion's "
                "Verify dialog and set NOTION_WEBHOOK_TOKEN to it", token)
    return JSONResponse({"ok": True, "verification": "received"})


