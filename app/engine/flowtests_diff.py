"""Subset matching of expected inputs against a call's actual inputs, and a readable diff.

Rules: a mapping matches when each expected key matches (other keys are ignored; an expected
``null`` also matches a missing key); a list matches a list of the same length item by item;
anything else must be equal (``true`` is not ``1``).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

_MISSING = object()


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` does not contain ``expected``, one ``path: what`` line each."""
    where = path or "(inputs)"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping {_show(expected)}, got {_show(actual)}"]
        out: list[str] = []
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                if value is not None:
                    out.append(f"{sub}: missing (expected {_show(value)})")
                continue
            out += mismatches(value, actual[key], sub)
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list {_show(expected)}, got {_show(actual)}"]
        if len(expected) != len(actual):
            return [f"{where}: expected {len(expected)} item(s) {_show(expected)}, "
                    f"got {len(actual)} {_show(actual)}"]
        out = []
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += mismatches(e, a, f"{path}[{index}]")
        return out
    if not _equal(expected, actual):
        return [f"{where}: expected {_show(expected)}, got {_show(actual)}"]
    return []


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def project(actual: Any, expected: Any) -> Any:
    """``actual`` cut down to the shape of ``expected``, so a diff shows only what was asked."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: project(actual[k], v) for k, v in expected.items() if k in actual}
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [project(a, e) for a, e in zip(actual, expected, strict=True)]
    return actual


def pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False,
                      default=str).splitlines()


def unified(expected: Any, actual: Any, *, label: str = "with") -> list[str]:
    """A unified diff of pretty JSON: expected against actual (projected to expected's keys)."""
    return list(difflib.unified_diff(pretty(expected), pretty(project(actual, expected)),
                                     fromfile=f"expected {label}", tofile=f"actual {label}",
                                     lineterm=""))
