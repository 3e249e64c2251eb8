"""The one exception tree of Passerelle.

::

    PasserelleError
    ├── ConfigError                 settings or flow files are wrong
    │   └── FlowLintError           one or more ``file:line: message`` problems
    ├── ReceiveError                an incoming request is refused (mapped to HTTP by one handler)
    │   ├── BadRequest              400 malformed body
    │   ├── Unauthorized            401 bad or missing signature / token, stale timestamp
    │   ├── NotFound                404 unknown source or route target
    │   ├── BodyTimeout             408 the body did not arrive in time
    │   ├── PayloadTooLarge         413 body over the limit
    │   ├── UnsupportedMediaType    415 wrong content type
    │   ├── Busy                    503 too many bodies being read at once
    │   ├── StoreDamaged            503 the store failed its integrity check
    │   └── SlackNotConfigured      503 a live hub without a Slack secret (slack_verify.py)
    ├── ConnectorError              an outgoing call failed
    │   ├── RetryableError          try again later (timeouts, 429, 5xx); may carry retry_after
    │   └── PermanentError          retrying cannot help (validation, auth, not found)
    └── StoreError                  the store refused or could not complete an operation

Messages are written for the person who reads them in a terminal or on the dashboard: they
say what is wrong and, where we know it, what to do. They never contain secrets.
"""

from __future__ import annotations

from dataclasses import dataclass


class PasserelleError(Exception):
    """Root of every error Passerelle raises on purpose."""


class ConfigError(PasserelleError):
    """Settings or flow files are wrong."""


@dataclass(frozen=True)
class LintProblem:
    """One problem in a flow file, printed as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FlowLintError(ConfigError):
    """One or more problems found while loading flow files."""

    def __init__(self, problems: list[LintProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ReceiveError(PasserelleError):
    """An incoming request is refused; ``status`` is the HTTP status to answer with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BadRequest(ReceiveError):
    status = 400
    code = "bad_request"


class Unauthorized(ReceiveError):
    status = 401
    code = "unauthorized"


class NotFound(ReceiveError):
    status = 404
    code = "not_found"


class PayloadTooLarge(ReceiveError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ReceiveError):
    status = 415
    code = "unsupported_media_type"


class BodyTimeout(ReceiveError):
    """The body did not arrive within ``PASSERELLE_BODY_TIMEOUT_SECONDS``."""

    status = 408
    code = "request_timeout"


class Busy(ReceiveError):
    """Too many bodies are being read at once; the sender should retry."""

    status = 503
    code = "busy"


class StoreDamaged(ReceiveError):
    """The store failed its integrity check: nothing is written until it is repaired."""

    status = 503
    code = "store_damaged"


class ConnectorError(PasserelleError):
    """An outgoing call to an external system failed."""

    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.message = message
        self.retry_after = retry_after
        super().__init__(message)


class RetryableError(ConnectorError):
    """A failure that may go away: timeouts, rate limits, server errors."""

    retryable = True


class PermanentError(ConnectorError):
    """A failure that retrying cannot fix: bad input, missing permission, unknown object."""

    retryable = False


class StoreError(PasserelleError):
    """The store could not complete an operation."""
