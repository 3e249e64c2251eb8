"""``POST /hooks/{source}``: JSON from Make, Zapier or any tool.

Checks run in an order that reveals nothing to a caller without the secret: size, source,
authentication, then content type and JSON. Nothing is written until all of them pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from app.errors import NotFound
from app.events import Event, new_id
from app.receivers.common import Reply, json_object, require_content_type
from app.runtime import Runtime
from app.settings import Settings, source_env_name
from connectors.webhooks import Scheme, UnknownScheme, scheme_for

ACTOR_FIELDS = ("author", "reporter", "user", "email", "user_email")


# The same names a flow's ``webhook:`` trigger accepts: matched exactly, so ``/hooks/RELEASES``
# is not ``releases`` (issue 15) even though both would name the same environment variable.
_SOURCE = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _source(settings: Settings, source: str) -> tuple[SecretStr, Scheme]:
    """The source's secret and scheme (``PASSERELLE_WEBHOOK_SCHEME_<SOURCE>``, else the default
    for its secret); 404 for a source that is not configured or names an unknown scheme."""
    secret = settings.webhook_secret(source) if _SOURCE.fullmatch(source) else None
    if secret is None:
        raise NotFound(f"unknown webhook source '{source}': set {source_env_name(source)} "
                       f"to accept it")
    try:
        return secret, scheme_for(settings.webhook_scheme(source), secret.get_secret_value())
    except UnknownScheme as exc:  # fail closed: a misspelt scheme accepts nothing
        raise NotFound(f"webhook source '{source}' is not usable: {exc}") from None


def check_before_body(rt: Runtime, *, source: str, headers: Mapping[str, str]) -> None:
    """What needs no body, checked before it is read (issue 15): the source exists and, for a
    scheme that signs no body (bearer, basic, GitLab's token), its credentials. A stranger's
    upload is refused unread."""
    secret, scheme = _source(rt.settings, source)
    if not scheme.reads_body:
        scheme.verify(secret.get_secret_value(), headers, b"", now=time.time())


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
    secret, scheme = _source(rt.settings, source)
    scheme.verify(secret.get_secret_value(), headers, body, now=time.time())
    require_content_type(headers, "application/json")
    data = json_object(body)
    delivery = scheme.identify(headers, data, now=time.time())
    key = delivery.id
    event = Event(
        source=source, type="webhook", data=data, actor=actor_of(data), kind=delivery.event,
        dedupe_key=f"webhook:{source}:{key}" if key else f"webhook:{source}:{new_id()}",
    )
    result = await rt.submit(event)
    return Reply(202, {"event_id": result.event_id, "runs": result.runs,
                       "duplicate": result.duplicate})
