"""What a connector is, and the errors it raises.

A connector is a class with a ``name`` and methods marked ``@action``. Each action has a
pydantic input model (``extra="forbid"``, so flow lint catches unknown keys), is an ``async``
method returning a JSON-able dict, and raises ``RetryableError`` or ``PermanentError`` (from
``app.errors``) for failures. A connector keeps no state beyond caches and clients.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from app.errors import ConnectorError, PermanentError, RetryableError
from app.settings import Settings

__all__ = [
    "Action",
    "ActionContext",
    "ActionInput",
    "Connector",
    "ConnectorError",
    "PermanentError",
    "RetryableError",
    "action",
]


class ActionInput(BaseModel):
    """Base of every action input model: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ActionContext:
    """What an action may know about the run that calls it.

    ``idempotency_key`` is stable across retries of the same step of the same run, so an
    action can use it to make a non-idempotent call safe to repeat.
    """

    run_id: str
    flow: str
    step_id: str
    attempt: int = 1
    event: Mapping[str, Any] = field(default_factory=dict)
    trigger: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.step_id}"


ActionFunc = Callable[[Any, Any, ActionContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Action:
    """One action of a connector, e.g. ``notion.upsert_page``."""

    connector: str
    name: str
    input_model: type[BaseModel]
    func: ActionFunc
    summary: str
    # True when repeating the call with the same input has no further effect (safe to retry
    # after a timeout whose outcome is unknown).
    idempotent: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.connector}.{self.name}"


F = TypeVar("F", bound=Callable[..., Awaitable[dict[str, Any]]])


def action(
    name: str, input_model: type[BaseModel], *, summary: str = "", idempotent: bool = False
) -> Callable[[F], F]:
    """Mark a connector method as the action ``<connector>.<name>``."""

    def mark(func: F) -> F:
        spec = (name, input_model, summary or (func.__doc__ or "").strip(), idempotent)
        setattr(func, "__passerelle_action__", spec)  # noqa: B010 - read back by Connector.actions
        return func

    return mark


class Connector:
    """Base class of connectors. Subclasses set ``name`` and mark actions with ``@action``."""

    name: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def sandbox(self) -> bool:
        """True when this connector talks to a local stand-in instead of the real service."""
        return False

    @classmethod
    def actions(cls) -> list[Action]:
        found: list[Action] = []
        for _, member in inspect.getmembers(cls, inspect.isfunction):
            spec = getattr(member, "__passerelle_action__", None)
            if spec is None:
                continue
            name, model, summary, idempotent = spec
            found.append(Action(cls.name, name, model, member, summary, idempotent))
        return sorted(found, key=lambda a: a.name)

    async def aclose(self) -> None:
        """Release clients; called once when the process stops."""


def parse_retry_after(value: str | None, *, default: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
