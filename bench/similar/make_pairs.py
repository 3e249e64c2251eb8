"""Build the labeled pairs (pairs.jsonl) from the hand-written requests (requests.yaml).

Deterministic: the same requests give the same file. ``python -m bench.similar.make_pairs``.
Kinds of pair (README.md says why):

- ``same``: the two wordings of one request in one language (label 1);
- ``area``: two different requests of the same product area, same language (label 0);
- ``unrelated``: two requests of different areas, same language (label 0);
- ``cross``: an English wording against a French wording of the same request (label 1,
  language ``en-fr``; reported apart, the threshold is chosen on the others);
- ``noise``: a request against input the hub must never link (empty, emoji only, another
  language, a huge repeated text; label 0).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
NOISE = [
    "", "   ", "👍👍👍", "🚀🔥💯", "?!", "...",
    "Bitte fügt einen Export nach Excel hinzu", "La aplicación se cierra al abrir una notificación",
    "請增加深色模式", "Добавьте тёмную тему", "asdfghjkl qwerty", "ok",
]


def build() -> list[dict[str, Any]]:
    reqs = yaml.safe_load((HERE / "requests.yaml").read_text("utf-8"))["requests"]
    by_area: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in reqs:
        by_area[r["area"]].append(r)
    areas = sorted(by_area)
    pairs: list[dict[str, Any]] = []

    def add(kind: str, lang: str, a: str, b: str, label: int, ids: str) -> None:
        pairs.append({"kind": kind, "lang": lang, "a": a, "b": b, "label": label, "ids": ids})

    for r in reqs:
        for lang in ("en", "fr"):
            add("same", lang, r[lang][0], r[lang][1], 1, r["id"])
    for area in areas:
        group = by_area[area]
        for i, r in enumerate(group):
            other = group[(i + 1) % len(group)]
            # the second wording of one against the first of the other: no shared phrasing
            for lang in ("en", "fr"):
                add("area", lang, r[lang][1], other[lang][0], 0, f"{r['id']}|{other['id']}")
    for ai, area in enumerate(areas):
        far = by_area[areas[(ai + 3) % len(areas)]]
        for i, r in enumerate(by_area[area]):
            other = far[i % len(far)]
            for lang in ("en", "fr"):
                add("unrelated", lang, r[lang][0], other[lang][1], 0, f"{r['id']}|{other['id']}")
    for r in reqs:
        add("cross", "en-fr", r["en"][0], r["fr"][1], 1, r["id"])
    for i, text in enumerate(NOISE):
        r = reqs[(i * 5) % len(reqs)]
        add("noise", "en", r["en"][0], text, 0, r["id"])
        add("noise", "fr", r["fr"][0], text, 0, r["id"])
    # a huge text made of one request repeated (truncated by the hub) against another request
    add("noise", "en", reqs[0]["en"][0], " ".join([reqs[20]["en"][0]] * 400), 0, "huge")
    return pairs


def main() -> None:
    pairs = build()
    with (HERE / "pairs.jsonl").open("w", encoding="utf-8") as out:
        for p in pairs:
            out.write(json.dumps(p, ensure_ascii=False) + "\n")
    print(f"{len(pairs)} pairs written to {HERE / 'pairs.jsonl'}")


if __name__ == "__main__":
    main()
