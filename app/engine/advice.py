"""Warnings ``passerelle check`` prints without failing: valid flows that deserve a second look."""

from __future__ import annotations

import re

from app.engine.model import Flow

# The scheme and the authority of a URL template: what names the host.
_AUTHORITY = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.-]*://)?([^/?#]*)")


def templated_host(url: object) -> bool:
    """True when the host of ``url`` is (part of) a template, so event data may choose it."""
    if not isinstance(url, str) or ("{{" not in url and "{%" not in url):
        return False
    match = _AUTHORITY.match(url)
    authority = match[1] if match else ""
    return url.lstrip().startswith("{") or "{" in authority


def warnings_for(flows: dict[str, Flow]) -> list[str]:
    """``file: warning: ...`` lines; today: http.request URLs whose host comes from a
    template (issue 15: an event could then point the hub at any host it can reach)."""
    out = []
    for flow in flows.values():
        for index, step in enumerate(flow.steps, start=1):
            if step.use == "http.request" and templated_host(step.with_.get("url")):
                out.append(
                    f"{flow.path or flow.name}: warning: flow '{flow.name}' step "
                    f"'{step.id or index}': the host of http.request's url comes from a "
                    f"template ({step.with_['url']}), so event data may choose where the hub "
                    f"sends requests; prefer a fixed host (private addresses are refused "
                    f"unless PASSERELLE_HTTP_ALLOW_PRIVATE=true, link-local ones always)")
    return out
