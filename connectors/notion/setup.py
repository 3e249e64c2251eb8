"""Creating or checking the databases the flows expect (``_databases.yaml``).

Specs use Notion's create shape, except relations, which name their target by title
(``relation: {to: Releases, synced_property: Feedback}``). Databases are created first without
relations; then each relation is added as a two-way relation to the target's data source, and
the synced property Notion creates on the other side is renamed as the spec says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.errors import PermanentError
from connectors.notion.client import NotionApi
from connectors.notion.properties import rich_text
from connectors.notion.schema import DataSource, Schemas


@dataclass
class SetupReport:
    created: dict[str, DataSource] = field(default_factory=dict)  # title -> data source
    checked: dict[str, DataSource] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def env_lines(self, specs: list[dict[str, Any]]) -> list[str]:
        found = {**self.checked, **self.created}
        return [f"{s['env']}={found[s['title']].database_id}" for s in specs
                if s.get("env") and s["title"] in found]


def _kind(conf: dict[str, Any]) -> str:
    return next(iter(conf))


def _is_relation(conf: dict[str, Any]) -> bool:
    return _kind(conf) == "relation"


def compare(spec: dict[str, Any], ds: DataSource) -> list[str]:
    """What ``ds`` lacks, or has with another type, compared with ``spec``."""
    problems = []
    for name, conf in (spec.get("properties") or {}).items():
        have = ds.properties.get(name)
        if have is None:
            problems.append(f'{spec["title"]}: missing property "{name}" ({_kind(conf)})')
        elif have.get("type") != _kind(conf):
            problems.append(f'{spec["title"]}: property "{name}" is {have.get("type")}, '
                            f"expected {_kind(conf)}")
    return problems


async def check(api: NotionApi, specs: list[dict[str, Any]],
                ids: dict[str, str | None]) -> SetupReport:
    """Compare the databases named by ``ids`` (title -> id or None) with the specs."""
    report, schemas = SetupReport(), Schemas(api)
    for spec in specs:
        ref = ids.get(spec["title"])
        if not ref:
            report.problems.append(f'{spec["title"]}: {spec.get("env", "its id")} is not set')
            continue
        ds = await schemas.resolve(ref)
        report.checked[spec["title"]] = ds
        report.problems += compare(spec, ds)
    return report


async def create(api: NotionApi, specs: list[dict[str, Any]], parent: str) -> SetupReport:
    """Create every database of ``specs`` under the page ``parent``, relations included."""
    report, schemas, sdk = SetupReport(), Schemas(api), api.sdk
    for spec in specs:
        props = {n: c for n, c in (spec.get("properties") or {}).items() if not _is_relation(c)}
        db = await api.call(
            f"notion setup: create {spec['title']!r}", sdk.databases.create,
            safe_to_repeat=False, parent={"type": "page_id", "page_id": parent},
            title=rich_text(spec["title"]), initial_data_source={"properties": props})
        report.created[spec["title"]] = await schemas.resolve(db["id"])
    for spec in specs:
        for name, conf in (spec.get("properties") or {}).items():
            if _is_relation(conf):
                await _relate(api, report, spec["title"], name, conf["relation"])
    for spec in specs:  # read the final schemas back and verify them
        ds = report.created[spec["title"]]
        schemas.forget(ds.database_id)
        report.created[spec["title"]] = fresh = await schemas.resolve(ds.database_id)
        report.problems += compare(spec, fresh)
    return report


async def _relate(api: NotionApi, report: SetupReport, title: str, name: str,
                  rel: dict[str, Any]) -> None:
    source = report.created[title]
    target = report.created.get(str(rel.get("to")))
    if target is None:
        raise PermanentError(f"notion setup: {title}.{name} relates to unknown {rel.get('to')!r}")
    current = (await api.call("notion setup: read schema", api.sdk.data_sources.retrieve,
                              data_source_id=source.id))["properties"]
    if name in current:
        return  # created as the synced side of an earlier relation
    await api.call(
        f"notion setup: relation {title}.{name}", api.sdk.data_sources.update,
        data_source_id=source.id, properties={name: {"relation": {
            "data_source_id": target.id, "type": "dual_property", "dual_property": {}}}})
    synced = rel.get("synced_property")
    if not synced:
        return
    other = (await api.call("notion setup: read schema", api.sdk.data_sources.retrieve,
                            data_source_id=target.id))["properties"]
    auto = next((n for n, p in other.items() if p.get("type") == "relation"
                 and (p["relation"].get("dual_property") or {}).get("synced_property_name") == name
                 and p["relation"].get("data_source_id") == source.id), None)
    if auto and auto != synced and synced not in other:
        await api.call(f"notion setup: rename {rel['to']}.{auto}", api.sdk.data_sources.update,
                       data_source_id=target.id, properties={auto: {"name": synced}})
