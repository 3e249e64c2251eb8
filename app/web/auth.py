"""Admin authentication: a bearer token, or a session cookie set once from ``?token=``."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from app.errors import ReceiveError, Unauthorized

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


class Forbidden(ReceiveError):
    status = 403
    code = "forbidden"


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _same_origin_or_bearer(request: Request) -> bool:
    """A bearer caller, or a browser that says (Origin) the call comes from this very origin.

    Cookies travel with cross-site requests a foreign page makes; the Origin header is set by
    the browser and cannot be forged by that page (issue 15). A cookie call without Origin is
    refused too: browsers send it on every state-changing fetch.
    """
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    token: str = request.app.state.runtime.admin_token
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"


def require_admin(request: Request) -> None:
    """FastAPI dependency for ``/api``: admin, and for state changes by cookie, same Origin."""
    if not is_admin(request):
        raise Unauthorized("admin token required: send Authorization: Bearer <token>")
    if request.method not in _SAFE_METHODS and not _same_origin_or_bearer(request):
        raise Forbidden("cross-origin request refused: a state-changing API call "
                        "authenticated by the dashboard cookie must come from the "
                        "dashboard's own origin (or use Authorization: Bearer)")
