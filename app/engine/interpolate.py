"""``${VAR}`` and ``${VAR:-default}`` in flow files, from the environment (never secrets)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from app.engine.yamlsource import LineDict, LineList
from app.settings import is_secret_name

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def interpolate(
    value: Any, env: Callable[[str], str | None], report: Callable[[int, str], None], line: int
) -> Any:
    """Replace variables in every string; problems go to ``report(line, message)``."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m["name"], m["default"]
            if is_secret_name(name):
                report(line, f"${{{name}}} names a secret; secrets cannot be used in flow files")
                return ""
            found = env(name)
            if found is None or found == "":
                if default is not None:
                    return default
                report(line, f"${{{name}}} is not set (set it in the environment or .env, "
                             f"or give a default with ${{{name}:-...}})")
                return ""
            return found
        return _VAR.sub(sub, value)
    if isinstance(value, LineDict):
        out = LineDict()
        out.line, out.key_lines = value.line, value.key_lines
        for k, v in value.items():
            out[k] = interpolate(v, env, report, value.key_lines.get(k, value.line))
        return out
    if isinstance(value, LineList):
        lst = LineList(
            interpolate(v, env, report, ln) for v, ln in zip(value, value.item_lines, strict=True)
        )
        lst.line, lst.item_lines = value.line, value.item_lines
        return lst
    return value
