"""What makes a lint message teach: a "did you mean" for a misspelt name, and words instead of
the regular expression a field must match."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from app.engine.model import STEP_ID

# The patterns of the flow models, said in words (a product-ops author does not read regex).
PATTERN_WORDS = {
    r"^[a-z0-9][a-z0-9_\-]{0,99}$": "must be lower case letters, digits, '-' and '_', starting "
                                     "with a letter or digit (at most 100 characters)",
    r"^$|" + STEP_ID: "must be letters, digits and '_', not starting with a digit",
    STEP_ID: "must be letters, digits and '_', not starting with a digit",
    r"^[a-z_]+\.[a-z_]+$": "must be <connector>.<action>, e.g. notion.upsert_page",
    r"^[a-z0-9][a-z0-9_-]*$": "must be lower case letters, digits, '-' and '_' (the part after "
                              "/hooks/ in the URL)",
    r"^/[a-z0-9][a-z0-9_\-]{0,31}$": "must be a slash and up to 32 lower case letters, digits, "
                                      "'-' or '_', e.g. /feedback",
    r"^[a-z_.]+$": "must be a Slack event type such as reaction_added or message",
    r"^[A-Za-z0-9_\-.]{1,255}$": "must be letters, digits, '-', '_' and '.' (at most 255)",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "must be letters, digits and '_', not starting with a digit",
}


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest candidate, or an empty string."""
    pool = [c for c in candidates if c != name]
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:  # only the case differs
        return f" (did you mean {lowered[name.lower()]}?)"
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts, as written in a flow file (aliases where set)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def in_words(err_type: str, msg: str, ctx: dict[str, object] | None) -> str:
    """A pydantic error message, with a regular expression replaced by what it means."""
    if err_type == "string_pattern_mismatch" and ctx:
        words = PATTERN_WORDS.get(str(ctx.get("pattern")))
        if words:
            return words
    return msg


def model_at(model: type[BaseModel] | None, loc: tuple[object, ...]) -> type[BaseModel] | None:
    """The model found at ``loc`` inside ``model`` (list indexes and dict keys pass through),
    so that an unknown nested key gets suggestions from its own model."""
    current: object = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        if isinstance(part, int):
            continue
        field = next((f for n, f in current.model_fields.items()
                      if part in (n, f.alias)), None)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: object) -> object:
    """The model class inside ``X``, ``list[X]``, ``X | None``, ``dict[str, X]``."""
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def notion_properties(folder: Path) -> dict[str, list[str]]:
    """Property names per database title, from the ``_databases.yaml`` of the flows folder
    (or of its parent, for ``flows/examples``); empty when there is none or it is unreadable:
    a folder that declares no databases gets no property check."""
    from app.engine.notion_specs import SPEC_FILE, load_specs
    from app.errors import ConfigError

    base = folder if folder.is_dir() else folder.parent
    for candidate in (base, base.parent):
        if (candidate / SPEC_FILE).is_file():
            try:
                specs = load_specs(candidate)
            except ConfigError:
                return {}
            return {str(d["title"]): [str(p) for p in (d.get("properties") or {})]
                    for d in specs}
    return {}
