"""Templates in flow files: Jinja2, sandboxed, with native types.

A value that is exactly one expression (``"{{ event.tags }}"``) renders to the expression's
own value — a list stays a list, a number a number. Anything else renders to a string. Only
strings written in the flow file are templates: event data is passed in as data and is never
rendered, so a feedback text containing ``{{ 7*7 }}`` arrives verbatim. Secrets are not in the
context, and the sandbox blocks access to Python internals.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONTEXT_NAMES = frozenset({"event", "trigger", "steps", "vars", "now"})
LOOP_NAMES = frozenset({"item", "index"})

_SINGLE = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_HASHTAG = re.compile(r"(?<![\w&/])#([\w][\w\-/]*)", re.UNICODE)


def _hashtags(text: Any) -> list[str]:
    """``"slow export #billing #Mobile"`` → ``["billing", "Mobile"]`` (unique, in order)."""
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(str(text or "")):
        seen.setdefault(tag.rstrip("-/"), None)
    return list(seen)


def _strip_hashtags(text: Any) -> str:
    return re.sub(r"\s{2,}", " ", _HASHTAG.sub("", str(text or ""))).strip()


def _slug(text: Any, sep: str = "-") -> str:
    norm = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", sep, norm.lower()).strip(sep)


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):  # Slack timestamps: "1732230000.000100"
        return datetime.fromtimestamp(float(text), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: Any, fmt: str = "%Y-%m-%d", tz: str | None = None) -> str:
    """Format an ISO string, a Slack ``ts``, an epoch or a datetime: ``{{ x | date('%d %b') }}``."""
    if value is None or value == "":
        return ""
    dt = _to_datetime(value)
    if tz:
        from zoneinfo import ZoneInfo

        dt = dt.astimezone(ZoneInfo(tz))
    return dt.strftime(fmt)


def _isoweek(value: Any) -> str:
    """``2026-11-21`` → ``2026-W47``."""
    year, week, _ = _to_datetime(value).isocalendar()
    return f"{year}-W{week:02d}"


def _sprint(value: Any, weeks: int = 2, prefix: str = "Sprint ") -> str:
    """The sprint a date falls in, for a cadence of ``weeks`` ISO weeks.

    Sprints start on the Monday of every ``weeks``-th ISO week counted from week 1 of the ISO
    year; the label names that first week: ``2026-11-21`` with 2 weeks → ``Sprint 2026-W47``.
    """
    weeks = max(1, int(weeks))
    year, week, _ = _to_datetime(value).isocalendar()
    first = week - (week - 1) % weeks
    return f"{prefix}{year}-W{first:02d}"


def _first_line(text: Any) -> str:
    return str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""


def _slack_escape(text: Any) -> str:
    """Text made inert for a Slack message: ``&``, ``<`` and ``>`` as Slack's entities, so
    event text cannot post ``<!channel>`` or a disguised ``<url|link>`` (issue 15;
    https://api.slack.com/reference/surfaces/formatting#escaping)."""
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _now() -> datetime:
    return datetime.now(UTC)


# Methods a template may still call on a mapping; any other name is looked up as a key.
_DICT_METHODS = frozenset({"get", "items", "keys"})


class _Env(ImmutableSandboxedEnvironment):
    """Mappings are data: ``event.values`` is the key ``values``, never ``dict.values``.

    Jinja tries attributes before keys, so a payload field named like a dict method
    (``values``, ``items``, ``update``...) would otherwise resolve to the method.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict):
            if attribute in obj:
                return obj[attribute]
            if attribute not in _DICT_METHODS:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, dict) and isinstance(argument, str):
            if argument in obj:
                return obj[argument]
            return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)


@lru_cache(maxsize=1)
def environment() -> _Env:
    env = _Env(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters.update(
        hashtags=_hashtags,
        strip_hashtags=_strip_hashtags,
        slug=_slug,
        date=_date,
        isoweek=_isoweek,
        sprint=_sprint,
        first_line=_first_line,
        slack_escape=_slack_escape,
    )
    env.globals.update(now=_now)
    return env


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    env = environment()
    match = _SINGLE.match(source)
    if match and "{{" not in match["expr"] and "{%" not in match["expr"]:
        return ("expr", env.compile_expression(match["expr"], undefined_to_none=True))
    return ("template", env.from_string(source))


def render_string(source: str, context: Mapping[str, Any]) -> Any:
    """Render one flow string. Plain strings come back untouched."""
    if not is_template(source):
        return source
    kind, compiled = _compiled(source)
    if kind == "expr":
        value = compiled(**context)
        return None if isinstance(value, ChainableUndefined) else value
    return compiled.render(**context)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside a YAML value (dicts and lists are walked)."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def truthy(source: str | bool | None, context: Mapping[str, Any]) -> bool:
    """Evaluate an ``if:`` condition; a bare expression needs no ``{{ }}``."""
    if source is None:
        return True
    if isinstance(source, bool):
        return source
    text = source if is_template(source) else "{{ " + source + " }}"
    value = render_string(text, context)
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "none", "null")
    return bool(value)


def attrs_of(source: str, root: str) -> set[str]:
    """The names a template reads under ``root`` (``vars.text`` → ``text``); empty when the
    template does not parse (``check`` reports that)."""
    try:
        ast = environment().parse(source)
    except TemplateSyntaxError:
        return set()
    found = set()
    for node in ast.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == root:
            found.add(node.attr)
    for item in ast.find_all(nodes.Getitem):
        arg = item.arg
        if isinstance(item.node, nodes.Name) and item.node.name == root \
                and isinstance(arg, nodes.Const) and isinstance(arg.value, str):
            found.add(arg.value)
    return found


def check(source: str) -> tuple[str | None, set[str], list[tuple[str, int]]]:
    """Parse a template without running it, for lint.

    Returns (syntax error or None, top-level names it reads, ``steps.<id>`` references with
    the template line they are on).
    """
    try:
        ast = environment().parse(source)
    except TemplateSyntaxError as exc:
        return (exc.message or "syntax error", set(), [])
    names = meta.find_undeclared_variables(ast)
    refs: list[tuple[str, int]] = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        key: str | None
        if isinstance(node, nodes.Getattr):
            target, key = node.node, node.attr
        else:
            assert isinstance(node, nodes.Getitem)
            arg = node.arg
            target = node.node
            key = arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None
        if isinstance(target, nodes.Name) and target.name == "steps" and key is not None:
            refs.append((key, node.lineno))
    return (None, set(names), refs)
