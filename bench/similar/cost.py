"""Cost of similar feedback with N items indexed: per new item, find + index, and memory.

``python -m bench.similar.cost [--items 50000] [--probes 200] [--database-url URL]``.
The N existing items get random unit vectors written straight into the index table (embedding
50,000 texts would only measure the model N times); the probes are real feedback texts
(bench/similar/requests.yaml) going through the connector as a flow's two steps do:
``similar.find`` then ``similar.index``, each timed end to end (embedding, catching up
with the store, the search, the insert). Memory: the process's RSS before the first search
and after the in-memory copy of N vectors is built, plus the model's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
import yaml

from app.events import utcnow
from app.settings import Settings
from app.store import Store
from app.store import tables as t
from app.store.similar import SimilarItems
from connectors.base import ActionContext
from connectors.similar import SimilarConnector
from connectors.similar.connector import FindInput, IndexInput
from connectors.similar.model import shared_embedder

HERE = Path(__file__).parent
CTX = ActionContext(run_id="bench", flow="bench", step_id="s")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fill(store: Store, n: int, model: str, dim: int) -> float:
    rng = np.random.default_rng(21)
    started = time.perf_counter()
    batch = 5000
    for first in range(0, n, batch):
        vectors = rng.standard_normal((min(batch, n - first), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = [{"collection": "feedback", "item_id": f"seed-{first + i}",
                 "title": f"Seeded item {first + i}", "url": f"https://n/{first + i}",
                 "text": "seeded", "model": model, "vector": v.tobytes(), "reporter": "",
                 "customer": "", "notify": "", "linked_to": None, "created_at": utcnow()}
                for i, v in enumerate(vectors)]
        async with store.engines.write.begin() as conn:
            await conn.execute(sa.insert(t.similar_items), rows)
    return time.perf_counter() - started


async def measure(url: str, n: int, probes: int) -> dict[str, Any]:
    store = await Store.open(url)
    try:
        model = shared_embedder()
        model.embed(["warm up the model"])
        rss_model = rss_mb()
        fill_s = await fill(store, n, model.name, model.dim)
        settings = Settings(_env_file=None, flows=HERE)  # type: ignore[call-arg]
        connector = SimilarConnector(settings, index=SimilarItems(store.engines), embedder=model)
        started = time.perf_counter()
        await connector.matrix("feedback")
        catch_up_s = time.perf_counter() - started
        rss_loaded = rss_mb()
        reqs = yaml.safe_load((HERE / "requests.yaml").read_text("utf-8"))["requests"]
        texts = [w for r in reqs for lang in ("en", "fr") for w in r[lang]]
        per_item, finds, indexes, cpu = [], [], [], []
        for i in range(probes):
            text = f"{texts[i % len(texts)]} ({i})"
            c0 = time.process_time()
            t0 = time.perf_counter()
            found = await connector.find(FindInput(text=text), CTX)
            t1 = time.perf_counter()
            best = found["best"]
            await connector.index_item(IndexInput(
                id=f"probe-{i}", title=text[:80], url=f"https://n/p{i}", text=text,
                reporter=f"U{i % 17}", link_to=best["id"] if best else None), CTX)
            t2 = time.perf_counter()
            cpu.append((time.process_time() - c0) * 1000)
            finds.append((t1 - t0) * 1000)
            indexes.append((t2 - t1) * 1000)
            per_item.append((t2 - t0) * 1000)
        matrix = await connector.matrix("feedback")
        return {
            "backend": store.dialect, "items": n, "probes": probes, "model": model.name,
            "fill_seconds": round(fill_s, 1), "first_catch_up_seconds": round(catch_up_s, 2),
            "per_item_ms": {"median": round(statistics.median(per_item), 2),
                            "p95": round(float(np.percentile(per_item, 95)), 2),
                            "max": round(max(per_item), 2)},
            # CPU of the whole process (every thread) per item: what the item costs the
            # machine, apart from waiting for a core on a shared one
            "per_item_cpu_ms": {"median": round(statistics.median(cpu), 2),
                                "p95": round(float(np.percentile(cpu, 95)), 2)},
            "load_average": list(os.getloadavg()),
            "find_ms_median": round(statistics.median(finds), 2),
            "index_ms_median": round(statistics.median(indexes), 2),
            "vectors_mb": round(matrix.vectors.nbytes / 2**20, 1),
            "rss_model_mb": round(rss_model, 1),
            "rss_added_by_index_mb": round(rss_loaded - rss_model, 1),
        }
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--database-url", default=None,
                        help="default: a new SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        result = asyncio.run(measure(url, args.items, args.probes))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
