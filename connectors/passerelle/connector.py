"""``passerelle.stats``: the adoption KPIs, for a scheduled flow such as the weekly digest.

The connector keeps no state of its own: the runtime hands it the process's store when it
builds the connectors. Built without one (lint, ``passerelle check``), its action list is the
same, and calling the action says what is missing.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.errors import ConfigError
from app.settings import Settings
from app.stats import MAX_WEEKS, kpis
from app.store import Store
from connectors.base import ActionContext, ActionInput, Connector, PermanentError, action


class StatsInput(ActionInput):
    weeks: int = Field(default=1, ge=1, le=MAX_WEEKS)
    # A Monday-morning digest reports the week that just ended, not the one that just began.
    include_current: bool = False
    timezone: str | None = Field(default=None, description="IANA name; default "
                                 "PASSERELLE_TIMEZONE")


class StopInput(ActionInput):
    reason: str = Field(min_length=1, max_length=500)


class PasserelleConnector(Connector):
    name = "passerelle"

    def __init__(self, settings: Settings, *, store: Store | None = None) -> None:
        super().__init__(settings)
        self.store = store

    @action("stop", StopInput, idempotent=True,
            summary="End the run here, successfully, with a reason the run shows (use `if:`)")
    async def stop(self, inp: StopInput, ctx: ActionContext) -> dict[str, Any]:
        # The runner reads ``stop_run``: later steps do not run, the run succeeds with a note.
        return {"stop_run": inp.reason}

    @action("stats", StatsInput, summary="Adoption KPIs per flow and ISO week, with a ready "
            "`text` summary for Slack", idempotent=True)
    async def stats(self, inp: StatsInput, ctx: ActionContext) -> dict[str, Any]:
        if self.store is None:
            raise PermanentError("passerelle.stats: no store here; it runs inside "
                                 "`passerelle serve` or `passerelle worker`")
        try:
            return await kpis(self.store, weeks=inp.weeks, include_current=inp.include_current,
                              timezone=inp.timezone or self.settings.timezone)
        except ConfigError as exc:
            raise PermanentError(f"passerelle.stats: {exc}") from None
