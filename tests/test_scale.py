"""Scale (issue 12), fake model: the embedding cache on a 200-page corpus, two builds at once, the index format
change, lazy records, and the candidate pool that replaces exhaustive scoring on large corpora."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import retrieval
import retrieval.candidates
from conftest import SHARED_POLICIES, build_fake
from retrieval.candidates import ListItems, SectionUnits, UnitCues, UnitTexts, cue_matchers
from retrieval.chunking import chunk_sections
from retrieval.engine import MAX_HITS, Engine
from retrieval.indexing import CACHE_DIR
from retrieval.pages import load_corpus
from retrieval.records import Records, write_records
from retrieval.store import FORMAT_VERSION, MANIFEST, load_index, read_manifest, staleness

TESTS = Path(__file__).resolve().parent
LINES = [
    "Colectăm numele, adresa de e-mail și numărul de telefon al membrilor.",
    "Datele sunt păstrate cât timp sunteți membru și încă trei ani după aceea.",
    "Nu vindem datele dumneavoastră și nu le închiriem nimănui.",
    "Puteți cere oricând ștergerea datelor, scriindu-ne la adresa asociației.",
    "Folosim cookie-uri pentru a măsura traficul pe site.",
    "Transmitem datele contabilului nostru, care le folosește doar pentru facturare.",
]
QUESTIONS = ["Vindeți datele mele?", "Cât timp păstrați datele?", "Cum șterg datele?", "Folosiți cookie-uri?",
             "Cui transmiteți datele?", "Ce date colectați?"]


def make_corpus(folder: Path, pages: int, sections_per_page: int = 2) -> Path:
    """`pages` pages of real-looking Romanian policy text, every line unique to its page and section."""
    folder.mkdir(parents=True)
    for p in range(pages):
        body = [f"---\ntitle: Pagina {p}\n---"]
        for s in range(sections_per_page):
            body.append(f"# Secțiunea {p}.{s}")
            for n in range(3):
                line = LINES[(p + s + n) % len(LINES)]
                body.append(f"{line[:-1]} (articolul {p}.{s}.{n}).")
            body.append("")
            body.append(f"- primul punct al listei {p}.{s}\n- al doilea punct al listei {p}.{s}")
        (folder / f"pagina-{p:03d}.md").write_text("\n".join(body) + "\n", encoding="utf-8")
    return folder


def page_passages(corpus: Path, source: str) -> int:
    sections, chunks, units = chunk_sections(load_corpus(corpus))
    on_page = {n for n, s in enumerate(sections) if s.source == source}
    return sum(c.section in on_page for c in chunks) + sum(u.section in on_page for u in units)


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
def test_editing_one_page_of_200_embeds_only_that_pages_passages(fake_embedder, tmp_path):
    corpus, index = make_corpus(tmp_path / "corpus", 200), tmp_path / "index"
    first = build_fake(corpus, index)["embedded"]
    assert first["cached"] == 0 and first["new"] > 200 * page_passages(corpus, "pagina-117.md") / 2
    page = corpus / "pagina-117.md"
    page.write_text(page.read_text(encoding="utf-8").replace("(articolul 117.0.", "(articolul 117.0 modificat."),
                    encoding="utf-8")
    before = fake_embedder.texts
    second = build_fake(corpus, index)["embedded"]
    assert fake_embedder.texts - before == second["new"], "the manifest counts what the model embedded"
    assert 0 < second["new"] <= page_passages(corpus, "pagina-117.md")
    sections, chunks, units = chunk_sections(load_corpus(corpus))
    changed = sum("modificat" in c.text for c in chunks) + sum(
        "modificat" in u.text_in(sections[u.section].text) for u in units)
    assert second["new"] == changed, "the three edited sentences and the chunk holding them, nothing else"
    assert second["new"] + second["cached"] == first["new"]


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
def test_two_builds_at_once_both_finish_and_leave_a_complete_cache(tmp_path):
    corpus, index = make_corpus(tmp_path / "corpus", 30), tmp_path / "index"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        import retrieval.indexing
        from conftest import FakeEmbedder
        fake = FakeEmbedder()
        retrieval.indexing.get_embedder = lambda name: fake
        retrieval.indexing.build_index({str(corpus)!r}, {str(index)!r}, model="fake")
    """)
    builds = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for build in builds:
        _, err = build.communicate(timeout=300)
        assert build.returncode == 0, err
    caches = list((index / CACHE_DIR).glob("*.npz"))
    assert len(caches) == 1 and not list((index / CACHE_DIR).glob("*.tmp*")), "one cache, no temporary left"
    with np.load(caches[0], allow_pickle=False) as data:
        assert len(data["keys"]) == len(data["vectors"]) > 0


def test_an_index_of_the_previous_format_is_never_read_and_is_rebuilt_from_the_cache(fake_embedder, corpus_copy,
                                                                                    tmp_path):
    index = tmp_path / "index"
    first = build_fake(corpus_copy, index)
    path = index / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = FORMAT_VERSION - 1
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert "versiune diferită" in staleness(index, corpus_copy)
    with pytest.raises(retrieval.BrokenIndexError, match="alt format"):
        load_index(index)
    engine = retrieval.open_engine(index, corpus_copy)
    assert read_manifest(index)["embedded"] == {"new": 0, "cached": first["embedded"]["new"]}
    assert len(engine.index.sections) == first["counts"]["sections"]


def test_records_read_lazily_are_the_records_written(tmp_path):
    items = [{"n": n, "text": f"rândul {n} „ghilimele” \u2028 și\nlinie nouă"} for n in range(50)]
    write_records(tmp_path / "r.jsonl", items)
    records = Records(tmp_path / "r.jsonl", dict)
    assert len(records) == 50 and list(records) == items and records[-1] == items[-1] and records[3:5] == items[3:5]
    with pytest.raises(IndexError):
        records[50]
    write_records(tmp_path / "empty.jsonl", [])
    assert list(Records(tmp_path / "empty.jsonl", dict)) == []


def test_lazy_unit_views_equal_the_lists_built_eagerly(fake_index):
    index = load_index(fake_index)
    texts, by_section = UnitTexts(index), SectionUnits(index)
    items = ListItems(index.units, by_section)
    eager_items: dict[int, list[int]] = {}
    eager_sections: list[list[int]] = [[] for _ in index.sections]
    for i, unit in enumerate(index.units):
        assert texts[i] == unit.text_in(index.sections[unit.section].text)
        eager_sections[unit.section].append(i)
        if unit.intro is not None and unit.kind == "item" and unit.marker:
            eager_items.setdefault(unit.intro, []).append(i)
    assert [by_section[s] for s in range(len(index.sections))] == eager_sections
    assert {u: items.get(u) for u in range(len(index.units)) if items.get(u)} == eager_items


def assert_stored_cues_are_matched_ones(folder: Path, embedder) -> Engine:
    index = load_index(folder)
    engine = Engine(index, embedder)
    assert index.unit_cues is not None and engine.unit_cues._table is not None
    matched = UnitCues(engine.unit_text, cue_matchers(engine.taxonomy, engine.language), None)
    stored = [engine.unit_cues[u] for u in range(len(index.units))]
    assert stored == [matched[u] for u in range(len(index.units))]
    assert sum(bits != 0 for bits in stored) > len(stored) / 10, "many units match some cue"
    return engine


def test_the_cues_stored_at_build_are_those_a_question_would_match(fake_embedder, fake_index, tmp_path):
    """unit_cues.npy (format 8) holds, for every unit of real pages, exactly the topic, detail and
    answer-form cues matching its text finds; an engine given another taxonomy matches them itself."""
    from dataclasses import replace

    from retrieval.topics import load_taxonomy

    real = tmp_path / "sintezaur"
    build_fake(SHARED_POLICIES / "sintezaur", real)
    assert_stored_cues_are_matched_ones(fake_index, fake_embedder)
    engine = assert_stored_cues_are_matched_ones(real, fake_embedder)
    names = engine.index.unit_cue_names
    assert any(n.startswith("topic:") for n in names) and any(n.startswith("detail:") for n in names)
    assert any(n.startswith("answer:") for n in names)
    taxonomy = load_taxonomy()
    other = Engine(load_index(real), fake_embedder, taxonomy=replace(taxonomy, topics=taxonomy.topics[1:],
                                                                      digest="another taxonomy"))
    assert other.unit_cues._table is None, "cues of another taxonomy are matched, never read by position"
    for topic in [t.id for t in taxonomy.topics[1:]] + [d.id for d in taxonomy.details]:
        assert [other._unit_on_topic(u, topic) for u in range(len(engine.index.units))] == [
            engine._unit_on_topic(u, topic) for u in range(len(engine.index.units))], topic


def test_a_rebuild_matches_the_cues_of_changed_texts_only(fake_embedder, corpus_copy, tmp_path, monkeypatch):
    """The cue rows are cached by exact text beside the vectors: an unchanged rebuild matches nothing
    again, an edited page only its new texts, a damaged cue cache is matched afresh."""
    import retrieval.indexing

    matched: list[int] = []
    real_table = retrieval.indexing.cue_table

    def counting(texts, matchers):
        matched.append(len(texts))
        return real_table(texts, matchers)

    monkeypatch.setattr(retrieval.indexing, "cue_table", counting)
    index = tmp_path / "index"
    build_fake(corpus_copy, index)
    assert len(matched) == 1 and matched[0] > 20
    build_fake(corpus_copy, index)
    assert len(matched) == 1, "an unchanged rebuild matches nothing again"
    page = sorted(corpus_copy.glob("*.md"))[0]
    page.write_text(page.read_text(encoding="utf-8") + "\n\nPăstrăm datele 30 de zile, apoi le ștergem.\n",
                    encoding="utf-8")
    build_fake(corpus_copy, index)
    assert len(matched) == 2 and 1 <= matched[1] <= 3, matched
    assert_stored_cues_are_matched_ones(index, fake_embedder)
    for cache in (index / CACHE_DIR / "cues").glob("*.npz"):
        cache.write_bytes(b"not a zip")
    page.write_text(page.read_text(encoding="utf-8") + "\nCopiii sub 16 ani nu pot crea un cont.\n", encoding="utf-8")
    build_fake(corpus_copy, index)
    assert len(matched) == 3 and matched[2] > 20, "a damaged cache is matched again"
    assert_stored_cues_are_matched_ones(index, fake_embedder)


@pytest.fixture
def large_fake(fake_embedder, tmp_path, monkeypatch):
    """400 pages (800 sections) with the 4-bit scans forced on: the large-corpus code paths, in seconds."""
    import retrieval.indexing

    monkeypatch.setattr(retrieval.indexing, "ANN_MIN_CHUNKS", 100)
    corpus, index = make_corpus(tmp_path / "corpus", 400), tmp_path / "index"
    build_fake(corpus, index)
    return index


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
def test_the_candidate_pool_finds_the_exhaustive_top_section(large_fake):
    assert (large_fake / read_manifest(large_fake)["generation"] / "chunks.sq").is_file()
    exact = Engine.open(large_fake)
    assert exact.index.chunk_scan is not None
    pooled = exact.with_settings()
    pooled.exact_below = 0
    exact.exact_below = 10**9
    asked = [f"{q} articolul {n}" for n in (3, 117, 250, 399) for q in QUESTIONS]
    agree = 0
    for question in asked:
        a, b = exact.retrieve(question), pooled.retrieve(question)
        assert len(a.hits) == len(b.hits) == MAX_HITS, "never one hit per section of a large corpus"
        agree += a.hits[0].section == b.hits[0].section
    assert agree / len(asked) >= 0.99
    answer = retrieval.ask(pooled, "Vindeți datele mele?")
    assert answer.quotes and answer.quotes[0].quote


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
def test_load_parses_no_record_until_a_question_needs_it(large_fake, monkeypatch):
    import retrieval.store

    # Small indexes have every record checked at load (store.FULL_CHECK_MAX_SECTIONS); this is the large regime.
    monkeypatch.setattr(retrieval.store, "FULL_CHECK_MAX_SECTIONS", 100)
    engine = Engine.open(large_fake)
    assert not engine.index.sections._parsed and not engine.index.units._parsed
    engine.retrieve("Vindeți datele mele?")
    assert 0 < len(engine.index.sections._parsed) < len(engine.index.sections) / 2


def test_the_pool_of_a_large_index_scans_every_title(fake_embedder, tmp_path, monkeypatch):
    """A section found by its title alone (its chunks outranked by cosine and BM25) reaches the pool."""
    import retrieval.candidates
    import retrieval.indexing

    monkeypatch.setattr(retrieval.indexing, "ANN_MIN_CHUNKS", 1)   # the large-corpus files, on 12 sections
    monkeypatch.setattr(retrieval.candidates, "DENSE_CHUNKS", 1)
    monkeypatch.setattr(retrieval.candidates, "LEXICAL_CHUNKS", 1)
    monkeypatch.setattr(retrieval.candidates, "LOW_CHUNKS", 1)
    question = "Folosiți cookie-uri de urmărire?"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    decoys = "".join(f"# Secțiunea {n}\n\nFolosim cookie-uri de urmărire. Cookie-uri de urmărire, atât.\n\n"
                     for n in range(3))
    fillers = "".join(f"# Anexa {n}\n\n{LINES[n % 4]}\n\n" for n in range(8))
    (corpus / "a.md").write_text(f"---\ntitle: Politica\n---\n{decoys}# {question}\n\n{LINES[1]} {LINES[3]}\n\n"
                                 f"{fillers}", encoding="utf-8")
    index = tmp_path / "index"
    build_fake(corpus, index)
    assert (index / read_manifest(index)["generation"] / "titles.sq").is_file()
    engine = Engine.open(index)
    engine.exact_below = 0
    target = next(n for n, s in enumerate(engine.sections) if s.path[-1] == question)
    assert engine.index.chunk_scan is not None and engine.index.title_scan is not None
    assert target in {h.section for h in engine.retrieve(question).hits}
    # The control: without the titles' scan (an index of format 5) only chunks fill the pool, and miss it.
    engine.index.title_scan = None
    assert target not in {h.section for h in engine.retrieve(question).hits}


def test_the_4_bit_title_scan_re_ranked_finds_the_best_titles():
    """titles.sq of a large index (PQ fast scan): what the pool re-ranks holds the exact best titles."""
    from retrieval.candidates import SCANNED_TITLES, TITLE_RERANK
    from retrieval.store import PQ_MIN, scan_index

    rng = np.random.default_rng(3)
    titles = rng.standard_normal((PQ_MIN + 500, 64)).astype(np.float32)
    titles /= np.linalg.norm(titles, axis=1, keepdims=True)
    scan = scan_index(titles)
    assert type(scan).__name__ == "IndexPQFastScan", "4 bits a component, not the small corpora's exact index"
    questions = titles[:20] + 0.3 * rng.standard_normal((20, 64)).astype(np.float32)
    _, found = scan.search(questions, TITLE_RERANK)
    kept = 0
    for question, ids in zip(questions, found, strict=True):
        exact = titles @ question
        best = set(np.argsort(-exact)[:SCANNED_TITLES])
        reranked = ids[np.argsort(-exact[ids])[:SCANNED_TITLES]]
        kept += len(best & set(reranked))
    assert kept / (20 * SCANNED_TITLES) >= 0.95


@pytest.mark.parametrize("scan", [True, False], ids=["4-bit scans", "exact cosines"])
def test_the_pool_holds_both_ends_of_every_range_so_its_fused_scores_are_exhaustive_ones(
        fake_embedder, tmp_path, monkeypatch, scan):
    """A pooled section's fused score equals exhaustive scoring's: the pool holds the sections of the
    lowest chunks (the dense minimum of the min-max) and, with the title scan, the lowest titles."""
    import retrieval.candidates
    import retrieval.indexing

    if scan:   # the large-corpus files, on 60 sections (exact flat indexes below store.PQ_MIN vectors)
        monkeypatch.setattr(retrieval.indexing, "ANN_MIN_CHUNKS", 1)
    for name, value in {"DENSE_CHUNKS": 8, "LEXICAL_CHUNKS": 2, "TITLE_SECTIONS": 2, "SCANNED_TITLES": 2,
                        "TITLE_RERANK": 4, "LOW_CHUNKS": 6, "LOW_TITLES": 2}.items():
        monkeypatch.setattr(retrieval.candidates, name, value)
    corpus, index = make_corpus(tmp_path / "corpus", 30), tmp_path / "index"
    build_fake(corpus, index)
    exact = Engine.open(index)
    assert (exact.index.chunk_scan is not None) == scan
    pooled = exact.with_settings()
    pooled.exact_below = 0
    exact.exact_below = 10**9
    asked = [f"{q} articolul {n}" for n in (3, 17, 29) for q in QUESTIONS]

    def differing() -> int:
        count = 0
        for question in asked:
            truth = {h.section: h.fused for h in exact.retrieve(question).hits}
            hits = pooled.retrieve(question).hits
            pooled_ids = set(retrieval.candidates.pool(pooled.index, pooled.embedder.embed_queries(
                [retrieval.text.model_text(question)])[0], pooled.index.lexical.scores([])).ids)
            assert len(pooled_ids) < len(truth) / 2, "a pool, not every section"
            count += any(abs(h.fused - truth[h.section]) > 1e-5 for h in hits if h.fused)
        return count

    assert differing() == 0
    # The control: without the lowest chunks and titles the pool's own ranges stand in, and scores move.
    monkeypatch.setattr(retrieval.candidates, "LOW_CHUNKS", 0)
    monkeypatch.setattr(retrieval.candidates, "LOW_TITLES", 0)
    assert differing() > len(asked) / 2


def test_the_pools_top_k_is_exact_with_or_without_its_threshold():
    """candidates._top partitions only the scores above a sampled threshold on large arrays: the same
    k best values as a full partition, ties, zeros and a threshold that lets too few through included."""
    from retrieval.candidates import _top

    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(185_000).astype(np.float32),                       # dense cosines
              np.where(rng.random(185_000) < 0.02, rng.random(185_000), 0).astype(np.float32),  # sparse BM25
              np.round(rng.random(100_000), 2).astype(np.float32),                   # many ties
              np.sort(rng.random(50_000)).astype(np.float32),                        # sorted ascending
              rng.random(150).astype(np.float32)]                                    # fewer than k
    for scores in arrays:
        for k in (1, 100, 300):
            found = _top(scores, k)
            assert len(found) == min(k, len(scores)) and len(set(found.tolist())) == len(found)
            assert np.array_equal(np.sort(scores[found]), np.sort(scores)[::-1][:len(found)][::-1])


def test_rows_read_from_the_file_equal_the_memory_maps_rows(tmp_path, monkeypatch):
    """read_rows (preadv into one array, issue 12) and the engine's runs of rows: the rows of the given
    sections, in order, and the maximum of each section's run (0 for a section without rows)."""
    from retrieval.candidates import read_rows
    from retrieval.engine import _rows_of, _run_max, _runs

    matrix = np.arange(40 * 6, dtype=np.float32).reshape(40, 6)
    np.save(tmp_path / "m.npy", matrix)
    mapped = np.load(tmp_path / "m.npy", mmap_mode="r")
    owners = np.repeat(np.arange(20), [0, 3, 2, 0, 4, 1, 2, 2, 3, 1, 2, 2, 3, 1, 2, 3, 3, 2, 2, 2])
    sections = np.array([0, 1, 3, 4, 8, 19])
    start, count = _runs(owners, sections)
    rows = _rows_of(start, count)
    assert rows.tolist() == [i for s in sections for i in np.flatnonzero(owners == s)]
    assert np.array_equal(read_rows(mapped, start, count, rows), matrix[rows]), "a small map is indexed"
    assert np.array_equal(read_rows(matrix, start, count, rows), matrix[rows]), "an in-memory matrix is indexed"
    monkeypatch.setattr(retrieval.candidates, "GATHER_MAX_BYTES", 0)   # a large one is read with preadv
    assert np.array_equal(read_rows(mapped, start, count, rows), matrix[rows])
    values = matrix[rows, 0] * np.where(np.arange(len(rows)) % 2, 1, -1)
    expected = [max((float(values[i]) for i, r in enumerate(rows) if owners[r] == s), default=0.0) for s in sections]
    assert _run_max(values, count).tolist() == expected
    empty = np.zeros(0, np.int64)
    assert read_rows(mapped, empty, empty, empty).shape == (0, 6) and _rows_of(empty, empty).shape == (0,)


def test_the_4_bit_chunk_scan_finds_both_ends_of_the_cosines():
    """chunks.sq (store.scan_index) searched with the question and its opposite: the pool's best chunks
    hold the exact best, and its lowest chunks (whose sections give the dense minimum) the exact lowest."""
    from retrieval.candidates import DENSE_CHUNKS, LOW_CHUNKS
    from retrieval.store import PQ_MIN, scan_index

    rng = np.random.default_rng(5)
    chunks = rng.standard_normal((PQ_MIN + 2_000, 64)).astype(np.float32)
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    scan = scan_index(chunks)
    assert type(scan).__name__ == "IndexPQFastScan"
    questions = chunks[:20] + 0.3 * rng.standard_normal((20, 64)).astype(np.float32)
    best = lowest = 0
    for question in questions:
        _, found = scan.search(np.vstack([question, -question]), max(DENSE_CHUNKS, LOW_CHUNKS))
        exact = np.argsort(-(chunks @ question))
        best += len(set(exact[:10]) & set(found[0][:DENSE_CHUNKS]))
        lowest += len(set(exact[-10:]) & set(found[1][:LOW_CHUNKS]))
    assert best / (20 * 10) >= 0.95 and lowest / (20 * 10) >= 0.95
