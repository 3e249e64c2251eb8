"""Dashboard sessions: ``?token=`` once sets an HttpOnly cookie (like Jupyter); CSRF tokens.

The cookie holds ``session_value(token)``, never the token, and is ``SameSite=Lax`` so that a
link from Slack still opens the dashboard while another site's form posts arrive without it.
State-changing forms also carry a per-session CSRF token, and a cross-origin ``Origin``
header is refused, so a cookie alone never replays a run.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from starlette.datastructures import URL
from starlette.responses import RedirectResponse, Response

from app.web.auth import COOKIE, is_admin, session_value

SESSION_DAYS = 30


def token_matches(request: Request, given: str) -> bool:
    token: str = request.app.state.runtime.admin_token
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def csrf_token(request: Request) -> str:
    """Derived from the session, so it is valid exactly as long as the session is."""
    token: str = request.app.state.runtime.admin_token
    return hmac.new(session_value(token).encode(), b"passerelle-csrf-v1",
                    hashlib.sha256).hexdigest()


def without_token(url: URL) -> str:
    """The same page, without ``token`` in its query (so it leaves no trace in history)."""
    query = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k != "token"]
    return f"{url.path}?{urlencode(query)}" if query else url.path


def start_session(request: Request, target: str) -> RedirectResponse:
    """Redirect to ``target`` with the session cookie set."""
    response = RedirectResponse(target, status_code=303)
    token: str = request.app.state.runtime.admin_token
    response.set_cookie(COOKIE, session_value(token), max_age=SESSION_DAYS * 86400,
                        httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    return response


def end_session(target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another origin."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    here = f"{request.url.scheme}://{request.url.netloc}"
    return origin.rstrip("/") == here


def bearer(request: Request) -> bool:
    """True when the caller authenticated with the Authorization header (not a cookie)."""
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and token_matches(request, given.strip())


def form_allowed(request: Request, csrf: str) -> bool:
    """A state-changing dashboard form: admin, and either bearer or same-origin + CSRF."""
    if not is_admin(request):
        return False
    if bearer(request):
        return True
    return same_origin(request) and hmac.compare_digest(csrf.encode(),
                                                        csrf_token(request).encode())
