"""The on-disk index (fake model): round trip, stale detection, atomic generations, damage, on-demand rebuild."""
import json
import os
import time

import numpy as np
import pytest

import retrieval
from conftest import CORPUS, FAKE_MODEL, build_fake
from retrieval.errors import BrokenIndexError, IndexWriteError, StaleIndexError
from retrieval.store import FORMAT_VERSION, MANIFEST, file_checksums, load_index, read_manifest, staleness
from retrieval.topics import load_taxonomy


def edit_manifest(index, **changes):
    path = index / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_round_trip_keeps_sections_chunks_units_and_vectors(fake_index):
    loaded = load_index(fake_index)
    manifest = loaded.manifest
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == FAKE_MODEL and manifest["dimension"] == 64
    assert manifest["taxonomy"] == load_taxonomy().digest
    assert manifest["chunker"]["splitter"] == "RecursiveCharacterTextSplitter"
    assert manifest["corpus"]["dir"] == str(CORPUS.resolve()) and len(manifest["corpus"]["fingerprint"]) == 64
    assert manifest["counts"] == {"pages": 2, "sections": 9, "chunks": len(loaded.chunks), "units": len(loaded.units)}
    assert len(loaded.sections) == 9 and loaded.sections[0].page_title == "Partajarea datelor"
    assert loaded.chunk_vectors.ntotal == len(loaded.chunks) and loaded.chunk_vectors.d == 64
    assert loaded.unit_matrix.shape == (len(loaded.units), 64)
    assert np.allclose(np.linalg.norm(loaded.unit_matrix, axis=1), 1, atol=1e-5)
    texts, topics = load_taxonomy().examples()
    assert loaded.example_matrix.shape == (len(texts), 64) and loaded.example_topics == topics
    assert loaded.pages["partajarea-datelor.md"] == {"title": "Partajarea datelor", "url": "", "contact": ""}
    for unit in loaded.units:   # offsets still point into the reloaded section text
        text = loaded.sections[unit.section].text
        assert text[unit.start:unit.end] == unit.text_in(text)


def test_index_holds_no_pickle(fake_index):
    for path in fake_index.rglob("*"):
        assert path.is_dir() or path.suffix in {".json", ".jsonl", ".sq", ".npy", ".npz"}, path
    for path in fake_index.rglob("*.np[yz]"):
        np.load(path, allow_pickle=False)  # raises if anything in it needs pickle


def test_fresh_index_is_not_stale(fake_index):
    assert staleness(fake_index) is None
    assert staleness(fake_index, CORPUS, model=FAKE_MODEL) is None
    assert retrieval.index_status(fake_index, CORPUS) is None


def test_changed_page_makes_the_index_stale_and_the_library_rebuilds_it(fake_embedder, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    build_fake(tiny_corpus, index)
    page = tiny_corpus / "cookie.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n# Nou\nO secțiune nouă.\n", encoding="utf-8")
    assert staleness(index, tiny_corpus) == "paginile s-au schimbat: cookie.md"
    with pytest.raises(StaleIndexError, match=r"cookie\.md"):
        retrieval.open_engine(index, tiny_corpus, rebuild=False)
    reasons = []
    engine = retrieval.open_engine(index, tiny_corpus, on_rebuild=reasons.append)
    assert reasons == ["paginile s-au schimbat: cookie.md"] and staleness(index, tiny_corpus) is None
    assert [s.title for s in engine.index.sections] == ["Cookie-uri", "Nou"]
    assert read_manifest(index)["model"] == FAKE_MODEL, "a rebuild keeps the index's model"


def test_added_or_removed_page_and_another_model_make_it_stale(fake_index, corpus_copy):
    assert staleness(fake_index, corpus_copy) is None, "same bytes elsewhere: same fingerprint"
    assert "modelul" in staleness(fake_index, model="/some/other-model")
    (corpus_copy / "nou.md").write_text("# Cookie\nFolosim cookie-uri.\n", encoding="utf-8")
    assert staleness(fake_index, corpus_copy) == "paginile s-au schimbat: nou.md"
    (corpus_copy / "nou.md").unlink()
    (corpus_copy / "utilizarea-datelor.md").unlink()
    assert staleness(fake_index, corpus_copy) == "paginile s-au schimbat: utilizarea-datelor.md"


@pytest.mark.parametrize("field, value, reason", [
    ("format_version", FORMAT_VERSION - 1, "versiune diferită"),
    ("chunker", {"splitter": "altul"}, "fragmentare"),
    ("taxonomy", "0" * 64, "taxonomia"),
])
def test_index_from_other_code_or_taxonomy_is_stale(fake_index, field, value, reason):
    edit_manifest(fake_index, **{field: value})
    assert reason in staleness(fake_index)


def test_crash_mid_build_leaves_the_old_index_usable(fake_index, corpus_copy, monkeypatch):
    before = read_manifest(fake_index)
    (corpus_copy / "nou.md").write_text("# Nou\nAltceva.\n", encoding="utf-8")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    import retrieval.lexical

    monkeypatch.setattr(retrieval.lexical.LexicalIndex, "save", crash)
    with pytest.raises(IndexWriteError, match="disk full"):   # one clear line for the CLI, not an OSError
        build_fake(corpus_copy, fake_index)
    assert read_manifest(fake_index) == before
    assert len(load_index(fake_index).sections) == 9
    assert not list(fake_index.glob(".building-*")), "the half-written generation is cleaned up"
    assert [p.name for p in fake_index.glob("gen-*")] == [before["generation"]]


def test_rebuild_replaces_the_generation_and_removes_the_old_one(fake_embedder, tiny_corpus, tmp_path):
    build_fake(tiny_corpus, tmp_path)
    old = read_manifest(tmp_path)["generation"]
    build_fake(tiny_corpus, tmp_path)
    new = read_manifest(tmp_path)["generation"]
    assert new != old and not (tmp_path / old).exists() and (tmp_path / new).is_dir()
    assert not list(tmp_path.glob(".manifest.json.*")), "no temporary manifest left behind"


def test_staging_folders_of_crashed_builds_are_removed_but_a_running_build_is_left_alone(
        fake_embedder, tiny_corpus, tmp_path):
    abandoned, running = tmp_path / ".building-abandoned", tmp_path / ".building-running"
    abandoned.mkdir(parents=True)
    running.mkdir()
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    build_fake(tiny_corpus, tmp_path)
    assert not abandoned.exists() and running.is_dir()


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(BrokenIndexError, match="Nu există niciun index"):
        load_index(tmp_path)
    assert "Nu există niciun index" in retrieval.index_status(tmp_path)


@pytest.mark.parametrize("victim", ["manifest.json", "metadata.json", "chunks.npy", "units.npy", "sections.jsonl",
                                    "units.offsets.npy", "chunk_section.npy", "examples.npy",
                                    "bm25/params.index.json"])
def test_corrupted_files_are_a_clear_error(fake_index, victim):
    generation = read_manifest(fake_index)["generation"]
    path = fake_index / victim if victim == MANIFEST else fake_index / generation / victim
    assert path.is_file()
    path.write_bytes(b"\x00garbage{")
    with pytest.raises(BrokenIndexError, match="deteriorat"):
        load_index(fake_index)


def test_manifest_missing_a_field_is_damaged(fake_index):
    manifest = json.loads((fake_index / MANIFEST).read_text(encoding="utf-8"))
    del manifest["corpus"]
    (fake_index / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BrokenIndexError, match="deteriorat"):
        read_manifest(fake_index)


def reseal(index):
    """Record the generation's current files in the manifest, as if a build had written them so."""
    edit_manifest(index, files=file_checksums(index / read_manifest(index)["generation"]))


def test_files_that_disagree_in_size_are_incomplete(fake_index):
    folder = fake_index / read_manifest(fake_index)["generation"]
    examples = np.load(folder / "examples.npy")
    np.save(folder / "examples.npy", examples[:-1])
    with pytest.raises(BrokenIndexError, match="deteriorat"):   # caught first by its checksum
        load_index(fake_index)
    reseal(fake_index)
    with pytest.raises(BrokenIndexError, match="incomplet"):
        load_index(fake_index)


def test_library_rebuilds_a_damaged_index_on_demand(fake_embedder, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    build_fake(tiny_corpus, index)
    generation = read_manifest(index)["generation"]
    (index / generation / "chunks.npy").write_bytes(b"garbage")
    assert "deteriorat" in retrieval.index_status(index, tiny_corpus), "the checksum shows the damage before load"
    with pytest.raises(StaleIndexError, match="deteriorat"):
        retrieval.open_engine(index, tiny_corpus, rebuild=False)
    reasons = []
    engine = retrieval.open_engine(index, tiny_corpus, on_rebuild=reasons.append)
    assert len(reasons) == 1 and "deteriorat" in reasons[0]
    assert engine.index.sections[0].title == "Cookie-uri"
    assert read_manifest(index)["generation"] != generation


def test_index_whose_pages_are_gone_is_still_usable(fake_index, corpus_copy, fake_embedder):
    build_fake(corpus_copy, fake_index)
    for page in corpus_copy.iterdir():
        page.unlink()
    corpus_copy.rmdir()
    assert retrieval.index_status(fake_index) is None, "no pages named: keep using the index"
    assert len(retrieval.open_engine(fake_index).index.sections) == 9
    with pytest.raises(retrieval.CorpusError, match="nu există"):
        retrieval.index_status(fake_index, corpus_copy)


def test_new_page_reading_rules_make_the_index_stale(fake_index, monkeypatch):
    """A reader change (pages.READER_VERSION) alters sections with the same files: the index is rebuilt."""
    import retrieval.store as store

    assert staleness(fake_index) is None
    monkeypatch.setattr(store, "READER_VERSION", store.READER_VERSION + 1)
    assert staleness(fake_index) == "regulile de citire sau de fragmentare a paginilor s-au schimbat"
