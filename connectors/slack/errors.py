"""The one place where Slack failures become Passerelle's retryable or permanent errors.

Messages say what to do next, because the person who reads them on the dashboard is the
product-ops lead, not the author of the SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from connectors.base import PermanentError, RetryableError, parse_retry_after

AUTH_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
    "no_permission", "ekm_access_denied",
})
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
RETRYABLE_ERRORS = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
})
DEFAULT_RETRY_AFTER = 30.0  # Slack sends Retry-After with 429; this covers a missing header


def slack_error(exc: BaseException) -> str | None:
    """Slack's error code (``already_reacted``) behind a mapped error, if there is one."""
    return getattr(exc, "slack_error", None)


def api_error(method: str, *, status: int, error: str, headers: Any = None,
              needed: str | None = None, channel: str | None = None,
              on_rate_limit: Callable[[float], None] | None = None) -> Exception:
    """The Passerelle error for one refused Slack call (``error`` is Slack's error code)."""
    exc = _api_error(method, status=status, error=error, headers=headers, needed=needed,
                     channel=channel, on_rate_limit=on_rate_limit)
    exc.slack_error = error  # type: ignore[attr-defined]
    return exc


def _api_error(method: str, *, status: int, error: str, headers: Any,
               needed: str | None, channel: str | None,
               on_rate_limit: Callable[[float], None] | None) -> Exception:
    if status == 429 or error == "ratelimited":
        retry_after = parse_retry_after((headers or {}).get("Retry-After"),
                                        default=DEFAULT_RETRY_AFTER)
        if on_rate_limit is not None and retry_after is not None:
            on_rate_limit(retry_after)
        return RetryableError(f"Slack {method}: rate limited, retrying after {retry_after:g}s",
                              retry_after=retry_after)
    if error in CHANNEL_ERRORS:
        where = f"channel {channel}" if channel else "the channel"
        action = ("unarchive it or pick another channel" if error == "is_archived" else
                  "invite the bot there (type /invite @Passerelle in the channel) or check the "
                  "channel id")
        return PermanentError(f"Slack {method}: {error}: Passerelle cannot post in {where}: "
                              f"{action}")
    if error in AUTH_ERRORS:
        return PermanentError(f"Slack {method}: {error}: Slack refused the bot token: check "
                              "SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-...) and that the "
                              "app is still installed in the workspace")
    if error == "missing_scope":
        scope = f" '{needed}'" if needed else ""
        return PermanentError(f"Slack {method}: missing_scope: add the scope{scope} to the app "
                              "(passerelle slack manifest lists them) and reinstall it")
    if status >= 500 or error in RETRYABLE_ERRORS:
        return RetryableError(f"Slack {method}: {error or f'HTTP {status}'}",
                              retry_after=parse_retry_after((headers or {}).get("Retry-After")))
    return PermanentError(f"Slack {method}: {error or f'HTTP {status}'}")


@contextmanager
def map_errors(method: str, *, channel: str | None = None,
               on_rate_limit: Callable[[float], None] | None = None) -> Iterator[None]:
    """Turn SDK and network failures inside the block into RetryableError / PermanentError."""
    try:
        yield
    except SlackApiError as exc:
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        raise api_error(
            method, status=int(response.status_code), error=str(data.get("error") or ""),
            headers=response.headers, needed=data.get("needed"), channel=channel,
            on_rate_limit=on_rate_limit,
        ) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RetryableError(f"Slack {method}: could not reach Slack: "
                             f"{type(exc).__name__}") from exc
    except SlackClientError as exc:  # the SDK refused our arguments before sending
        raise PermanentError(f"Slack {method}: {exc}") from exc
