"""Keeping secrets out of logs, run history, API answers and the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
ERROR_LIMIT = 1000  # characters of an error message kept in run history
_SENSITIVE_KEY = re.compile(r"(authorization|token|secret|password|passwd|api[_-]?key|cookie|"
                            r"signature)", re.IGNORECASE)
# Credentials that look like themselves even when we were never told their value.
_LOOKS_SECRET = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{6,}|secret_[A-Za-z0-9]{20,}|"
                           r"ntn_[A-Za-z0-9]{20,}|whsec_[A-Za-z0-9+/=]{8,})")
_MARKERS = ("xox", "secret_", "ntn_", "whsec_")


def sensitive_key(key: str) -> bool:
    """Whether values under ``key`` are redacted whatever they look like."""
    return bool(_SENSITIVE_KEY.search(key))


class Redactor:
    """Replaces known secret values, and values under sensitive keys, with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        # Every pattern starts with one of these literals: most text has none of them, and
        # the substring checks cost a tenth of the regex (this runs on every log line).
        if any(marker in value for marker in _MARKERS):
            value = _LOOKS_SECRET.sub(REDACTED, value)
        return value

    def excerpt(self, value: str, limit: int = ERROR_LIMIT) -> str:
        """Redacted, then cut: cutting first could leave half a secret that no longer matches."""
        text = self.text(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: (REDACTED if isinstance(k, str) and _SENSITIVE_KEY.search(k)
                    and isinstance(v, str | int | float) and v not in ("", None)
                    else self.value(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value
