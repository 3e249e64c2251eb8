"""The redactor: known secret values and credential-looking strings never survive."""

from __future__ import annotations

from app.redact import REDACTED, Redactor

SECRET = "s3cr3t-value-of-the-hook"


def test_known_values_and_sensitive_keys() -> None:
    r = Redactor([SECRET])
    assert r.text(f"token={SECRET}!") == f"token={REDACTED}!"
    assert r.value({"Authorization": "Bearer abc", "nested": [f"x {SECRET}"], "n": 1}) == {
        "Authorization": REDACTED, "nested": [f"x {REDACTED}"], "n": 1}
    assert r.text("xoxb-1234567890-abcdef") == REDACTED


def test_excerpt_redacts_before_cutting() -> None:
    r = Redactor([SECRET])
    # The secret straddles the cut: cutting first would leave its first half readable.
    message = "a" * 990 + SECRET + "b" * 50
    out = r.excerpt(message, limit=1000)
    assert len(out) == 1000 and out.endswith("…")
    assert SECRET[:10] not in out
    assert REDACTED[:5] in out
    assert r.excerpt("short") == "short"
