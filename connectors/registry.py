"""The built-in connectors: an explicit list (no import-time scanning).

Adding a connector: write its package, add one line to ``BUILTINS``, add its tests.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.settings import Settings
from connectors.base import Action, ActionContext, Connector
from connectors.http import HttpConnector
from connectors.notion.connector import NotionConnector
from connectors.passerelle import PasserelleConnector
from connectors.similar import SimilarConnector
from connectors.slack import SlackConnector

BUILTINS: tuple[type[Connector], ...] = (
    HttpConnector,
    PasserelleConnector,
    NotionConnector,
    SlackConnector,
    SimilarConnector,
)


def all_actions(extra: tuple[type[Connector], ...] = ()) -> dict[str, Action]:
    """Every action by full name (``notion.upsert_page``), for lint and the runner."""
    return {a.full_name: a for cls in (*BUILTINS, *extra) for a in cls.actions()}


class Connectors:
    """The connector instances of one process, built lazily from settings."""

    def __init__(self, settings: Settings, *, extra: tuple[type[Connector], ...] = (),
                 instances: dict[str, Connector] | None = None) -> None:
        self.settings = settings
        self.classes = {cls.name: cls for cls in (*BUILTINS, *extra)}
        self.actions = all_actions(extra)
        self._instances: dict[str, Connector] = dict(instances or {})

    def get(self, name: str) -> Connector:
        if name not in self._instances:
            self._instances[name] = self.classes[name](self.settings)
        return self._instances[name]

    async def invoke(self, action: Action, inputs: BaseModel, ctx: ActionContext) -> dict[str, Any]:
        return await action.func(self.get(action.connector), inputs, ctx)

    def modes(self) -> dict[str, str]:
        """``sandbox`` or ``live`` per connector, for the start-up banner and the dashboard."""
        return {name: ("sandbox" if self.get(name).sandbox else "live") for name in self.classes}

    async def aclose(self) -> None:
        for instance in self._instances.values():
            await instance.aclose()
        self._instances.clear()
