"""Score the embedders on the labeled pairs: precision and recall at each threshold.

``python -m bench.similar.evaluate [--model wordllama|ngram|all] [--json]``. A pair is
predicted "same request" when the cosine of its two texts is at or above the threshold; a
text without words (``connectors.similar.model.prepare`` gives None) is never linked, as in
the hub. The shipped threshold is the lowest one whose precision is at least 0.9, so a link
shown is right at least nine times in ten while recall stays as high as it can.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from connectors.similar.model import Embedder, prepare, shared_embedder

HERE = Path(__file__).parent
THRESHOLDS = [round(float(t), 2) for t in np.arange(0.30, 0.801, 0.01)]
SHOWN = {round(0.30 + 0.05 * i, 2) for i in range(11)}
TARGET_PRECISION = 0.9


def load_pairs() -> list[dict[str, Any]]:
    lines = (HERE / "pairs.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def scores(model: Embedder, pairs: list[dict[str, Any]]) -> list[float]:
    """Cosine per pair; -1 when a side has no words (so it is below every threshold)."""
    texts = sorted({t for p in pairs for t in (prepare(p["a"]), prepare(p["b"])) if t})
    vectors = dict(zip(texts, model.embed(texts), strict=True))
    out: list[float] = []
    for p in pairs:
        a, b = prepare(p["a"]), prepare(p["b"])
        out.append(-1.0 if a is None or b is None else float(vectors[a] @ vectors[b]))
    return out


def table(pairs: list[dict[str, Any]], sc: list[float], langs: tuple[str, ...] = ("en", "fr")
          ) -> list[dict[str, Any]]:
    rows = []
    for t in THRESHOLDS:
        tp = fp = fn = 0
        for p, s in zip(pairs, sc, strict=True):
            if p["lang"] not in langs:
                continue
            hit = s >= t
            tp += hit and p["label"] == 1
            fp += hit and p["label"] == 0
            fn += (not hit) and p["label"] == 1
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        rows.append({"threshold": t, "precision": round(precision, 3),
                     "recall": round(recall, 3), "tp": tp, "fp": fp, "fn": fn})
    return rows


def pick(pairs: list[dict[str, Any]], sc: list[float]) -> float | None:
    """The lowest threshold at which English and French each reach the target precision."""
    per_lang = [table(pairs, sc, (lang,)) for lang in ("en", "fr")]
    for i, t in enumerate(THRESHOLDS):
        if all(rows[i]["precision"] >= TARGET_PRECISION and rows[i]["tp"] for rows in per_lang):
            return t
    return None


def evaluate(kind: str) -> dict[str, Any]:
    pairs = load_pairs()
    started = time.perf_counter()
    model = shared_embedder(kind)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    sc = scores(model, pairs)
    texts = len({t for p in pairs for t in (prepare(p["a"]), prepare(p["b"])) if t})
    per_text_ms = (time.perf_counter() - started) / texts * 1000
    rows = table(pairs, sc)
    threshold = pick(pairs, sc)
    chosen = next((r for r in rows if r["threshold"] == threshold), None)
    by_lang = {}
    if chosen:
        for lang in ("en", "fr"):
            lr = next(r for r in table(pairs, sc, (lang,)) if r["threshold"] == threshold)
            by_lang[lang] = {"precision": lr["precision"], "recall": lr["recall"]}
    cross = [s for p, s in zip(pairs, sc, strict=True) if p["kind"] == "cross"]
    cross_recall = (round(sum(s >= threshold for s in cross) / len(cross), 3)
                    if cross and threshold is not None else None)
    noise_max = max((s for p, s in zip(pairs, sc, strict=True) if p["kind"] == "noise"),
                    default=-1.0)
    return {"model": model.name, "pairs": len(pairs), "load_seconds": round(loaded, 2),
            "ms_per_text": round(per_text_ms, 2), "chosen": chosen, "by_language": by_lang,
            "cross_language_recall": cross_recall,
            "noise_max_score": round(noise_max, 3), "thresholds": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["use", "wordllama", "ngram", "all"], default="all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = ["use", "wordllama", "ngram"] if args.model == "all" else [args.model]
    results = [evaluate(k) for k in kinds]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for res in results:
        print(f"\n{res['model']}: {res['pairs']} pairs, loaded in {res['load_seconds']} s, "
              f"{res['ms_per_text']} ms per text; noise max score {res['noise_max_score']}")
        print("threshold  precision  recall   tp  fp  fn")
        for r in res["thresholds"]:
            if r["threshold"] not in SHOWN and r is not res["chosen"]:
                continue
            print(f"{r['threshold']:9.2f}  {r['precision']:9.3f}  {r['recall']:6.3f}  "
                  f"{r['tp']:3d} {r['fp']:3d} {r['fn']:3d}")
        print(f"chosen (precision >= {TARGET_PRECISION} in each language): "
              f"{res['chosen']} "
              f"per language: {res['by_language']}; English-French recall "
              f"{res['cross_language_recall']}")


if __name__ == "__main__":
    main()
