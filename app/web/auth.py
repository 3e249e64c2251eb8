"""Admin authentication: a bearer token, or a session cookie set once from ``?token=``."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from app.errors import Unauthorized

COOKIE = "passerelle_session"


def session_value(token: str) -> str:
    # The cookie holds a value derived from the token, never the token itself.
    return hmac.new(token.encode(), b"passerelle-session-v1", hashlib.sha256).hexdigest()


def is_admin(request: Request) -> bool:
    token: str = request.app.state.runtime.admin_token
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


def require_admin(request: Request) -> None:
    """FastAPI dependency for ``/api``."""
    if not is_admin(request):
        raise Unauthorized("admin token required: send Authorization: Bearer <token>")
