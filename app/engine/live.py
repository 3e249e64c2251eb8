"""``passerelle check --live``: flows' Notion property names and values against real schemas.

For every ``notion.*`` step whose database is static (not a template), the data source schema
is fetched (or, in sandbox mode, read from ``_databases.yaml``, which seeds the stand-in) and
each static property is checked: the name exists, the property is writable, and a static
value converts to its type. ``notion.page`` triggers are checked too (database and ``changed``).
Problems point at the line of the offending key in the flow file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.engine import expressions
from app.engine.loader import FlowSet
from app.engine.notion_specs import load_specs
from app.engine.triggers import NotionPageTrigger
from app.engine.yamlsource import LineDict, line_of, load
from app.errors import ConfigError, ConnectorError, LintProblem
from connectors.notion.properties import READ_ONLY_TYPES, ConversionError, to_notion
from connectors.notion.schema import DataSource
from connectors.registry import Connectors

_PLACEHOLDER_USER = "00000000-0000-4000-8000-000000000000"
Resolve = Callable[[str], Any]


def _static(value: Any) -> bool:
    if isinstance(value, str):
        return not expressions.is_template(value)
    if isinstance(value, dict):
        return all(_static(v) for v in value.values())
    if isinstance(value, list):
        return all(_static(v) for v in value)
    return True


def seed_sources(flows_path: Path) -> dict[str, DataSource]:
    """The stand-in's schemas, by title, straight from the seed file (no server needed)."""
    out: dict[str, DataSource] = {}
    for spec in load_specs(flows_path):
        props = {name: {"type": next(iter(conf)), **conf}
                 for name, conf in (spec.get("properties") or {}).items()}
        out[spec["title"].casefold()] = DataSource(id=spec["title"], database_id=spec["title"],
                                                   title=spec["title"], properties=props)
    return out


def check_property(ds: DataSource, name: str, value: Any, *, writing: bool) -> str | None:
    schema = ds.properties.get(name)
    if schema is None:
        known = ", ".join(f'"{n}"' for n in sorted(ds.properties))
        return f'database {ds.title!r} has no property "{name}" (known: {known})'
    kind = schema.get("type")
    if writing and kind in READ_ONLY_TYPES:
        return (f'property "{name}" of {ds.title!r} is {kind}, computed by Notion: '
                "it cannot be written")
    lookup = kind == "relation" and (isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict) for v in value)))
    if lookup or not _static(value):
        return None  # templates and relation look-ups are checked when the step runs
    try:
        to_notion(name, schema, value, resolve_user=lambda _email: _PLACEHOLDER_USER)
    except ConversionError as error:
        return str(error)
    return None


async def live_problems(flows: FlowSet, connectors: Connectors) -> list[LintProblem]:
    """Every Notion schema problem of the loaded flows, as ``file:line: message``."""
    settings = connectors.settings
    seeds = seed_sources(settings.flows) if settings.notion_sandbox else None
    cache: dict[str, DataSource | str] = {}

    async def resolve(ref: str) -> DataSource | str:
        if ref not in cache:
            if seeds is not None:
                cache[ref] = seeds.get(ref.casefold()) or (
                    f"database {ref!r} is not in the sandbox seed "
                    f"({', '.join(d.title for d in seeds.values())})")
            else:
                try:
                    notion: Any = connectors.get("notion")
                    cache[ref] = await notion.schemas.resolve(ref)
                except ConnectorError as exc:
                    cache[ref] = exc.message
        return cache[ref]

    problems: list[LintProblem] = []
    for name, flow in flows.flows.items():
        file = flows.files.get(name, flow.path)
        try:
            raw = load(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{file}: cannot re-read for --live: {exc}") from None
        if not isinstance(raw, LineDict):
            continue

        def report(loc: tuple[Any, ...], message: str, *, _file: str = file,
                   _raw: LineDict = raw) -> None:
            problems.append(LintProblem(_file, line_of(_raw, loc), message))

        trigger = flow.trigger
        if isinstance(trigger, NotionPageTrigger) and _static(trigger.database):
            loc: tuple[Any, ...] = ("on", "notion.page")
            ds = await resolve(trigger.database)
            if isinstance(ds, str):
                report((*loc, "database"), f"notion.page: {ds}")
            elif trigger.changed and trigger.changed not in ds.properties:
                report((*loc, "changed"), "notion.page: " + str(
                    check_property(ds, trigger.changed, None, writing=False)))
        for index, step in enumerate(flow.steps):
            if not step.use.startswith("notion."):
                continue
            inputs = step.with_
            base: tuple[Any, ...] = ("steps", index, "with")
            database = inputs.get("database")
            if not isinstance(database, str) or not _static(database):
                continue
            ds = await resolve(database)
            if isinstance(ds, str):
                report((*base, "database"), f"{step.use}: {ds}")
                continue
            for field, writing in (("properties", True), ("on_create", True), ("where", False)):
                values = inputs.get(field)
                if not isinstance(values, dict):
                    continue
                for prop, value in values.items():
                    message = check_property(ds, prop, value, writing=writing)
                    if message:
                        report((*base, field, prop), f"{step.use}: {message}")
            key_prop = inputs.get("key_property", "External ID")
            if step.use == "notion.upsert_page" and key_prop not in ds.properties:
                report((*base, "key_property") if "key_property" in inputs else (*base, "key"),
                       f'{step.use}: database {ds.title!r} has no key property "{key_prop}"')
    if seeds is None:
        await connectors.get("notion").aclose()  # one-shot command: release the HTTP client
    return problems
