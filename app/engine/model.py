"""The flow file, as pydantic models (the loader turns YAML into these)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.engine.triggers import AnyTrigger

STEP_ID = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Step(BaseModel):
    """One action call. ``with`` values may be templates; ``if`` skips the step when false."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(default="", pattern=r"^$|" + STEP_ID)
    use: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    if_: str | bool | None = Field(default=None, alias="if")
    timeout: float = Field(default=30.0, gt=0, le=600)
    # Call the action once per item of this list (``item`` and ``loop.index`` in templates);
    # each item is checkpointed on its own, so a retry resumes after the last item done.
    for_each: str | list[Any] | None = None


class Flow(BaseModel):
    """A flow: one trigger, an optional condition, and steps run in order."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,99}$")
    description: str = ""
    trigger: AnyTrigger
    if_: str | bool | None = Field(default=None, alias="if")
    vars: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    enabled: bool = True
    # Where it was loaded from (set by the loader; not part of the file).
    path: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _default_step_ids(self) -> Flow:
        for index, step in enumerate(self.steps, start=1):
            if not step.id:
                step.id = f"step{index}"
        return self

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
