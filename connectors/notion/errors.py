"""The one place where notion-client and httpx failures become Passerelle errors.

Retryable: 429 and 529 (with ``Retry-After``), 409 conflicts, 5xx, timeouts and dropped
connections. Permanent: validation errors, unknown or unshared objects, a refused token. A
request whose effect is unknown (it timed out or the connection dropped after it was sent) is
retryable only when repeating it is safe; otherwise the step fails with a message saying the
outcome is unknown, so nobody replays a page creation blindly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from notion_client.errors import HTTPResponseError, RequestTimeoutError

from app.errors import ConnectorError, PermanentError, RetryableError
from connectors.base import parse_retry_after

_RETRYABLE_CODES = {
    "rate_limited", "conflict_error", "internal_server_error", "service_unavailable",
    "gateway_timeout",
}  # fmt: skip
_HINTS = {
    "unauthorized": "Notion refused the integration token: check NOTION_TOKEN (an internal "
    "integration secret, ntn_...).",
    "restricted_resource": "the integration lacks a capability for this: enable read, update "
    "and insert content (and comments, user information with email) in the integration's "
    "Capabilities settings.",
    "object_not_found": "it does not exist or is not shared with the integration: in Notion, "
    "open the page or database, ••• → Connections → add your integration.",
}


def _unknown_outcome(what: str, why: str) -> PermanentError:
    return PermanentError(
        f"{what}: {why}; the outcome is unknown (Notion may or may not have done it), so it is "
        f"not retried automatically. Check Notion, then replay the run if nothing was written "
        f"(use notion.upsert_page with a key to make this safe to retry)."
    )


@contextmanager
def map_errors(
    what: str, *, safe_to_repeat: bool = True, pause: Callable[[float], None] | None = None
) -> Iterator[None]:
    """Translate errors raised inside the block; ``what`` names the call for the message.

    ``pause`` is told the ``Retry-After`` seconds of a 429/529 so that the shared token bucket
    stops every run of the process, not only this one.
    """
    try:
        yield
    except ConnectorError:
        raise
    except RequestTimeoutError as exc:
        if not safe_to_repeat:
            raise _unknown_outcome(what, "Notion did not answer in time") from exc
        raise RetryableError(f"{what}: Notion did not answer in time") from exc
    except HTTPResponseError as exc:
        raise _from_response(what, exc, safe_to_repeat, pause) from exc
    except httpx.ConnectError as exc:  # nothing was sent: always safe to try again
        raise RetryableError(f"{what}: could not reach Notion: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        if not safe_to_repeat:
            raise _unknown_outcome(what, f"the connection failed ({type(exc).__name__})") from exc
        raise RetryableError(f"{what}: connection to Notion failed: {type(exc).__name__}") from exc


def _from_response(
    what: str, exc: HTTPResponseError, safe: bool, pause: Callable[[float], None] | None
) -> ConnectorError:
    code = exc.code.value if hasattr(exc.code, "value") else str(exc.code)
    status = exc.status
    message = str(exc) or f"HTTP {status}"
    if status in (429, 529) or code == "rate_limited":
        wait = parse_retry_after(exc.headers.get("retry-after"), default=1.0)
        if pause is not None and wait:
            pause(wait)
        label = "rate limited" if status == 429 else "overloaded (529)"
        return RetryableError(f"{what}: Notion {label}; retry after {wait:g}s", retry_after=wait)
    if code in _RETRYABLE_CODES or status >= 500:
        if status == 504 and not safe:
            return _unknown_outcome(what, "Notion's gateway timed out")
        retry_after = parse_retry_after(exc.headers.get("retry-after"))
        return RetryableError(f"{what}: Notion answered {status} ({code}): {message}",
                              retry_after=retry_after)
    hint = _HINTS.get(code)
    if hint:
        return PermanentError(f"{what}: {message} — {hint}")
    return PermanentError(f"{what}: Notion refused the request ({code}): {message}")
