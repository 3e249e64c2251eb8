"""Templates: native types, the filters, the sandbox, and event data never rendered."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from app.engine.expressions import check, render, render_string, truthy

CTX: dict[str, Any] = {
    "event": {"text": "Slow export #billing #Mobile, see #billing", "n": 3,
              "tags": ["a", "b"], "ts": "1732230000.000100", "items": [1, 2],
              "values": {"x": 1}},
    "steps": {"page": {"url": "https://notion.so/p1", "id": "p1"}},
    "vars": {"team": "Growth"},
    "trigger": {"source": "slack"},
}


def r(source: str, ctx: dict[str, Any] | None = None) -> Any:
    return render_string(source, CTX if ctx is None else ctx)


def test_a_lone_expression_keeps_its_native_type() -> None:
    assert r("{{ event.tags }}") == ["a", "b"]
    assert r("  {{ event.n }} ") == 3
    assert r("{{ event.n > 2 }}") is True
    assert r("{{ steps.page }}") == {"url": "https://notion.so/p1", "id": "p1"}
    assert r("{{ event.missing }}") is None
    assert r("{{ event.missing.deeper }}") is None
    # Anything else is a string.
    assert r("n={{ event.n }}") == "n=3"
    assert r("{{ event.n }}{{ event.n }}") == "33"
    assert r("plain text") == "plain text"
    assert render({"a": ["{{ event.n }}", 5, None], "b": True}, CTX) == {"a": [3, 5, None],
                                                                       "b": True}


def test_hashtags_and_strip_hashtags() -> None:
    assert r("{{ event.text | hashtags }}") == ["billing", "Mobile"]
    assert r("{{ 'a #b-/ c #c/d &#39; x#no' | hashtags }}") == ["b", "c/d"]
    assert r("{{ none | hashtags }}") == []
    assert r("{{ event.text | strip_hashtags }}") == "Slow export , see"


def test_slug() -> None:
    assert r("{{ 'Ça va? Très bien!' | slug }}") == "ca-va-tres-bien"
    assert r("{{ 'Q3 Roadmap / Ideas' | slug('_') }}") == "q3_roadmap_ideas"


def test_date_and_isoweek() -> None:
    assert r("{{ event.ts | date }}") == "2024-11-21"
    assert r("{{ event.ts | date('%Y-%m-%d %H:%M', 'Europe/Paris') }}") == "2024-11-22 00:00"
    assert r("{{ '2026-11-21T10:00:00Z' | date('%d %b %Y') }}") == "21 Nov 2026"
    assert r("{{ 0 | date('%Y') }}") == "1970"
    assert r("{{ '' | date }}") == ""
    assert r("{{ '2026-11-21' | isoweek }}") == "2026-W47"
    assert r("{{ '2021-01-03' | isoweek }}") == "2020-W53"  # ISO year, not calendar year


def test_truncate_and_default() -> None:
    text = "{{ 'Export to CSV is slow for big workspaces' | truncate(20) }}"
    assert r(text) == "Export to CSV is..."
    assert r("{{ 'short' | truncate(20) }}") == "short"
    assert r("{{ event.missing | default('unknown') }}") == "unknown"
    assert r("{{ event.text | default('unknown') }}") == CTX["event"]["text"]


def test_event_keys_named_like_dict_methods_are_data() -> None:
    assert r("{{ event['items'] }}") == [1, 2]
    assert r("{{ event.values.x }}") == 1


def test_event_data_is_never_rendered_as_a_template() -> None:
    ctx = {"event": {"text": "{{ 7*7 }} {% for x in range(9) %}x{% endfor %}"}}
    assert r("{{ event.text }}", ctx) == "{{ 7*7 }} {% for x in range(9) %}x{% endfor %}"
    assert r("Said: {{ event.text }}", ctx) == ("Said: {{ 7*7 }} {% for x in range(9) %}x"
                                                "{% endfor %}")
    assert render({"nested": ["{{ event }}"]}, ctx) == {"nested": [ctx["event"]]}


@pytest.mark.parametrize("source", [
    "{{ event.__class__ }}",
    "{{ event.text.__class__ }}",
    "{{ steps.__globals__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ now.__globals__ }}",
    "{{ now.__globals__['os'] }}",
    "{{ ''.__class__ }}",
])
def test_sandbox_gives_nothing_for_internals(source: str) -> None:
    assert r(source) is None


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__.os.popen('id').read() }}",
])
def test_sandbox_refuses_to_reach_python_internals(source: str) -> None:
    with pytest.raises(SecurityError):
        r(source)


def test_templates_cannot_mutate_the_context() -> None:
    ctx = {"event": {"tags": ["a"]}}
    with pytest.raises(SecurityError):
        r("{{ event.tags.append('b') }}", ctx)
    assert ctx == {"event": {"tags": ["a"]}}


def test_truthy_conditions() -> None:
    assert truthy(None, CTX) and truthy(True, CTX) and not truthy(False, CTX)
    assert truthy("event.n > 2", CTX)
    assert not truthy("event.n > 5", CTX)
    assert not truthy("{{ event.missing }}", CTX)
    for falsy in ("''", "'false'", "'0'", "'no'", "'None'"):
        assert not truthy(f"{{{{ 'x' if false else {falsy} }}}}", CTX)
    assert truthy("event.tags", CTX)


def test_check_reports_syntax_names_and_step_references() -> None:
    assert check("{{ steps.page.url }} {{ steps['other'] }} {{ vars.x }}") == (
        None, {"steps", "vars"}, [("page", 1), ("other", 1)])
    error, names, refs = check("{{ event.x | }}")
    assert error == "expected token 'name', got 'end of print statement'"
    assert (names, refs) == (set(), [])
