"""Sections -> chunks (never crossing a section) and quotable units (verbatim)."""
from retrieval.chunking import chunk_sections, split_units
from retrieval.pages import load_corpus, parse_page

from conftest import CORPUS

LONG_LIST = "---\ntitle: Liste\n---\n# Parteneri\nPartenerii noștri sunt:\n" + "".join(
    f"- partenerul numărul {i} care primește date pentru servicii de tip {i}\n" for i in range(40)
) + "\n# Altceva\nUn alt paragraf scurt.\n"


def test_chunks_never_cross_a_section_and_are_verbatim():
    pages = load_corpus(CORPUS)
    sections, chunks, _ = chunk_sections(pages)
    for chunk in chunks:
        page, section = sections[chunk.section]
        assert page.raw[chunk.start:chunk.start + len(chunk.text)] == chunk.text
        assert section.start <= chunk.start
        assert chunk.start + len(chunk.text) <= section.start + len(section.text)


def test_long_sections_are_split_with_overlap():
    page = parse_page(LONG_LIST, "liste.md")
    sections, chunks, _ = chunk_sections([page], chunk_size=400, chunk_overlap=100)
    first = [c for c in chunks if c.section == 0]
    assert len(first) > 3
    assert any(b.start < a.start + len(a.text) for a, b in zip(first, first[1:])), "consecutive chunks overlap"


def test_a_list_stays_with_the_sentence_that_introduces_it():
    page = parse_page(LONG_LIST, "liste.md")
    _, chunks, _ = chunk_sections([page], chunk_size=400, chunk_overlap=100)
    list_chunks = [c for c in chunks if c.section == 0]
    assert list_chunks[0].text.startswith("Partenerii noștri sunt:\n- partenerul")
    for chunk in list_chunks[1:]:
        assert "Partenerii noștri sunt:" in chunk.embed_text, "continuations carry the intro for the model"


def test_shipped_lists_share_a_chunk_with_their_intro():
    sections, chunks, _ = chunk_sections(load_corpus(CORPUS))
    partners = next(c for c in chunks if "Oblio.eu" in c.text)
    assert "Parteneri și terți cu care partajăm informații:" in partners.text


def test_units_are_sentences_and_list_items_with_their_intro():
    page = parse_page("# T\nPrima propoziție. A doua (ex. Google, etc.) rămâne întreagă. A treia:\n- unu\n- doi\n", "u.md")
    units = split_units(page.sections[0], 0)
    assert [u.text for u in units] == ["Prima propoziție.", "A doua (ex. Google, etc.) rămâne întreagă.",
                                       "A treia:", "unu", "doi"]
    assert [u.kind for u in units] == ["sentence", "sentence", "sentence", "item", "item"]
    assert units[3].intro == 2 and units[3].quote_line == "- unu"


def test_every_unit_and_its_marker_are_verbatim():
    pages = load_corpus(CORPUS)
    sections, _, units = chunk_sections(pages)
    for unit in units:
        page, _ = sections[unit.section]
        start = unit.start - len(unit.marker)
        assert page.raw[start:unit.start + len(unit.text)] == unit.quote_line
