"""Slack request signatures (v0): which secret, and whether a request carries a valid one.

Slack signs ``v0:<timestamp>:<raw body>`` with the app's signing secret (HMAC-SHA256) and sends
it as ``X-Slack-Signature`` with ``X-Slack-Request-Timestamp``. Requests older than five
minutes are refused so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from slack_sdk.signature import SignatureVerifier

from app.errors import ReceiveError, Unauthorized
from app.settings import Settings

# Used only while every connector runs against its stand-in (neither SLACK_BOT_TOKEN nor
# NOTION_TOKEN set) and no SLACK_SIGNING_SECRET is set, so the README's signed curl works out of
# the box. It is public and protects nothing: it is accepted only when no request can reach a
# real system (issue 15: with a live Notion it would let anyone write to the real workspace).
SANDBOX_SIGNING_SECRET = "sandbox-signing-secret"
WINDOW_SECONDS = 5 * 60


class SlackNotConfigured(ReceiveError):
    """A connector is live but no signing secret is set: Slack requests cannot be verified."""

    status = 503
    code = "slack_not_configured"


def not_configured(settings: Settings) -> str | None:
    """Why Slack requests are refused (503) with these settings, or None when they are not."""
    if settings.slack_signing_secret is not None or settings.all_sandbox:
        return None
    live = " and ".join(name for name, live in (("SLACK_BOT_TOKEN", not settings.slack_sandbox),
                                                ("NOTION_TOKEN", not settings.notion_sandbox))
                        if live)
    return (f"{live} {'are' if ' and ' in live else 'is'} set but SLACK_SIGNING_SECRET is not: "
            f"copy the Signing Secret from your Slack app's Basic Information page into "
            f"SLACK_SIGNING_SECRET (the public sandbox secret is accepted only while every "
            f"connector runs against its stand-in)")


def signing_secret(settings: Settings) -> str:
    """The secret to verify with; raises SlackNotConfigured once a connector is live without
    one."""
    if settings.slack_signing_secret is not None:
        return settings.slack_signing_secret.get_secret_value()
    problem = not_configured(settings)
    if problem is not None:
        raise SlackNotConfigured(problem)
    return SANDBOX_SIGNING_SECRET


def verify(secret: str, headers: Mapping[str, str], body: bytes, *,
           clock: Callable[[], float] = time.time) -> None:
    """Raise Unauthorized unless ``body`` carries a fresh, valid v0 signature."""
    raw_ts = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not raw_ts or not signature:
        raise Unauthorized("missing Slack signature: X-Slack-Request-Timestamp and "
                           "X-Slack-Signature are required")
    try:
        timestamp = int(raw_ts.strip())
    except ValueError:
        raise Unauthorized("malformed X-Slack-Request-Timestamp: expected epoch seconds") from None
    if abs(clock() - timestamp) > WINDOW_SECONDS:
        raise Unauthorized("stale Slack request: timestamp is more than 5 minutes away from "
                           "this server's clock (check the clock, or the request was replayed)")
    # HMAC over the raw bytes: slack_sdk's verifier decodes the body as UTF-8 first and
    # raises on bytes that are not (a 500 for any caller who sends such a body).
    expected = "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Unauthorized("bad Slack signature: check SLACK_SIGNING_SECRET")


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers that make ``body`` a signed Slack request (for tests and ``slack sign``)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

