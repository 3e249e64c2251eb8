"""Settings, read from the environment and an optional ``.env`` file (pydantic-settings).

The variable names are part of the outside contract (see ``.env.example``). Secret values
are ``SecretStr`` so that a settings object printed or logged by accident shows ``**********``.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WEBHOOK_SECRET_PREFIX = "PASSERELLE_WEBHOOK_SECRET_"
WEBHOOK_SCHEME_PREFIX = "PASSERELLE_WEBHOOK_SCHEME_"  # issue 20: how a source signs

# Names a flow file may never interpolate with ${VAR}: they hold credentials.
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|DATABASE_URL)")


def is_secret_name(name: str) -> bool:
    """True when an environment variable name looks like it holds a credential."""
    return bool(_SECRET_NAME.search(name.upper()))


def source_env_name(source: str) -> str:
    """``PASSERELLE_WEBHOOK_SECRET_<SOURCE>`` for a webhook source name (``-`` becomes ``_``)."""
    return WEBHOOK_SECRET_PREFIX + source.upper().replace("-", "_")


class Settings(BaseSettings):
    """Everything Passerelle reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="sqlite:///./passerelle.db", validation_alias="PASSERELLE_DATABASE_URL"
    )
    flows: Path = Field(default=Path("./flows"), validation_alias="PASSERELLE_FLOWS")
    admin_token: SecretStr | None = Field(default=None, validation_alias="PASSERELLE_ADMIN_TOKEN")
    max_body_bytes: int = Field(default=1_048_576, validation_alias="PASSERELLE_MAX_BODY_BYTES")
    # Uvicorn's own setting, same name and default: the clients whose X-Forwarded-For and
    # X-Forwarded-Proto are believed (a reverse proxy's address; "*" for any).
    forwarded_allow_ips: str = Field(default="127.0.0.1,::1",
                                     validation_alias="FORWARDED_ALLOW_IPS")

    # Security at the seams (issue 15): how long a request body may take to arrive (408),
    # how many bodies the receivers read at once (503 past that), and whether http.request
    # may call loopback and private addresses (link-local ones never).
    body_timeout_seconds: float = Field(default=10.0, gt=0,
                                        validation_alias="PASSERELLE_BODY_TIMEOUT_SECONDS")
    max_bodies_reading: int = Field(default=64, ge=1,
                                    validation_alias="PASSERELLE_MAX_BODIES_READING")
    http_allow_private: bool = Field(default=False,
                                     validation_alias="PASSERELLE_HTTP_ALLOW_PRIVATE")

    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    notion_token: SecretStr | None = Field(default=None, validation_alias="NOTION_TOKEN")
    notion_webhook_token: SecretStr | None = Field(
        default=None, validation_alias="NOTION_WEBHOOK_TOKEN"
    )

    # Where the sandbox stand-ins answer (this server); set by `serve` from host and port.
    sandbox_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias="PASSERELLE_SANDBOX_URL"
    )
    log_level: str = Field(default="INFO", validation_alias="PASSERELLE_LOG_LEVEL")
    log_format: str = Field(default="json", validation_alias="PASSERELLE_LOG_FORMAT")
    worker_concurrency: int = Field(default=16, validation_alias="PASSERELLE_WORKER_CONCURRENCY")
    lease_seconds: float = Field(default=60.0, validation_alias="PASSERELLE_LEASE_SECONDS")
    max_attempts: int = Field(default=8, validation_alias="PASSERELLE_MAX_ATTEMPTS")
    poll_interval: float = Field(default=0.5, validation_alias="PASSERELLE_POLL_INTERVAL")
    retention_days: int = Field(default=30, validation_alias="PASSERELLE_RETENTION_DAYS")
    # On SIGTERM a `worker` process lets running runs finish this long, then gives them back.
    shutdown_grace_seconds: float = Field(
        default=20.0, ge=0, validation_alias="PASSERELLE_SHUTDOWN_GRACE_SECONDS"
    )
    notion_poll_seconds: float = Field(
        default=0.0, validation_alias="PASSERELLE_NOTION_POLL_SECONDS"
    )
    # Notion requests per second the hub sends (Notion allows about 3 per integration); all
    # processes share one bucket in the store.
    notion_rate_limit: float = Field(
        default=3.0, gt=0, le=100, validation_alias="PASSERELLE_NOTION_RATE_LIMIT"
    )
    sandbox_rate_limits: bool = Field(
        default=True, validation_alias="PASSERELLE_SANDBOX_RATE_LIMITS"
    )
    # --- Sandbox a team can live in (issue 17) ---
    # Where the CLI finds the running hub (`slack send`, `notion edit`, `sandbox reset`).
    passerelle_url: str = Field(default="http://127.0.0.1:8000",
                                validation_alias="PASSERELLE_URL")
    # Notion stand-in faults on demand, all off by default (app/sandbox/notion_faults.py):
    # a fraction of requests refused with one of the statuses, a fraction answered late, and
    # search/queries lagging writes by some milliseconds.
    sandbox_fault_rate: float = Field(default=0.0, ge=0, le=1,
                                      validation_alias="PASSERELLE_SANDBOX_FAULT_RATE")
    sandbox_fault_statuses: str = Field(default="409,500,502,503,529",
                                        validation_alias="PASSERELLE_SANDBOX_FAULT_STATUSES")
    sandbox_slow_rate: float = Field(default=0.0, ge=0, le=1,
                                     validation_alias="PASSERELLE_SANDBOX_SLOW_RATE")
    sandbox_slow_seconds: float = Field(default=2.0, ge=0, le=60,
                                        validation_alias="PASSERELLE_SANDBOX_SLOW_SECONDS")
    sandbox_query_lag_ms: int = Field(default=0, ge=0, le=60_000,
                                      validation_alias="PASSERELLE_SANDBOX_QUERY_LAG_MS")
    # Notion quota (issue 18): page bodies sent as markdown with the create (one request);
    # false sends them as block appends after the create.
    notion_markdown_content: bool = Field(
        default=True, validation_alias="PASSERELLE_NOTION_MARKDOWN_CONTENT"
    )
    # Authoring (issue 20): `serve` checks the flows folder this often and reloads a changed,
    # clean set (also on SIGHUP); 0 turns the watching off.
    reload_seconds: float = Field(default=1.0, ge=0, le=3600,
                                  validation_alias="PASSERELLE_RELOAD_SECONDS")
    # Time zone of the KPI weeks (an ISO week starts on Monday 00:00 there).
    timezone: str = Field(default="UTC", validation_alias="PASSERELLE_TIMEZONE")
    # Journeys (issue 16): the Slack channel (or user id) where the lead hears of each run
    # that failed for good; the person who typed the command is told either way.
    failures_channel: str | None = Field(default=None,
                                         validation_alias="PASSERELLE_FAILURES_CHANNEL")

    # Security at the seams (issue 15): a secret that is present but empty or blank (as
    # docker-compose's ``${VAR:-}`` passes it) counts as unset, so it never verifies anything.
    @field_validator("admin_token", "slack_signing_secret", "slack_bot_token", "notion_token",
                     "notion_webhook_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            return None
        return value

    # Similar feedback (issue 21): the cosine at or above which a new item is linked to an
    # earlier one (chosen on bench/similar's labeled set for precision >= 0.9; docs/similar.md).
    similar_threshold: float = Field(
        default=0.45, ge=0.0, le=1.0, validation_alias="PASSERELLE_SIMILAR_THRESHOLD"
    )
    # The Notion stand-in's Feedback database starts with a few items, indexed at start.
    sandbox_demo_feedback: bool = Field(
        default=True, validation_alias="PASSERELLE_SANDBOX_DEMO_FEEDBACK"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as "
                             f"Europe/Paris or UTC)") from None
        return value

    @property
    def slack_sandbox(self) -> bool:
        """The Slack Web API stand-in is used when no bot token is set."""
        return self.slack_bot_token is None

    @property
    def notion_sandbox(self) -> bool:
        """The Notion API stand-in is used when no integration token is set."""
        return self.notion_token is None

    @property
    def any_sandbox(self) -> bool:
        return self.slack_sandbox or self.notion_sandbox

    @property
    def all_sandbox(self) -> bool:
        """Every connector talks to its stand-in: nothing a request does reaches a real system."""
        return self.slack_sandbox and self.notion_sandbox

    @cached_property
    def _dotenv(self) -> dict[str, str | None]:
        env_file = self.model_config.get("env_file")
        if isinstance(env_file, str) and Path(env_file).is_file():
            return dict(dotenv_values(env_file))
        return {}

    def env(self, name: str) -> str | None:
        """An environment value, from the process environment first, then ``.env``."""
        if name in os.environ:
            return os.environ[name]
        return self._dotenv.get(name)

    def env_names(self) -> set[str]:
        return set(os.environ) | set(self._dotenv)

    def webhook_secret(self, source: str) -> SecretStr | None:
        """The configured secret of webhook source ``source``, or None."""
        value = self.env(source_env_name(source))
        return SecretStr(value) if value and value.strip() else None

    def webhook_scheme(self, source: str) -> str | None:
        """``PASSERELLE_WEBHOOK_SCHEME_<SOURCE>`` (``github``, ``stripe``, ...), or None."""
        value = self.env(source_env_name(source).replace(WEBHOOK_SECRET_PREFIX,
                                                         WEBHOOK_SCHEME_PREFIX, 1))
        return value.strip() if value and value.strip() else None

    def secret_values(self) -> list[str]:
        """Every configured secret value, for redaction in logs and outputs."""
        values = [
            s.get_secret_value()
            for s in (
                self.admin_token,
                self.slack_signing_secret,
                self.slack_bot_token,
                self.notion_token,
                self.notion_webhook_token,
            )
            if s is not None
        ]
        for name in self.env_names():
            if name.startswith(WEBHOOK_SECRET_PREFIX):
                v = self.env(name)
                if v:
                    values.append(v)
        return [v for v in values if len(v) >= 4]
