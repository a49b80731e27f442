"""Sections -> chunks (never crossing a section) and quotable units (slices of the section text)."""
import itertools

import pytest

from conftest import CORPUS
from retrieval.chunking import INTRO_CHARS, chunk_sections, list_marker, split_sentences, split_units
from retrieval.pages import load_corpus, parse_page

LONG_LIST = "---\ntitle: Liste\n---\n# Parteneri\nPartenerii noștri sunt:\n" + "".join(
    f"- partenerul numărul {i} care primește date pentru servicii de tip {i}\n" for i in range(40)
) + "\n# Altceva\nUn alt paragraf scurt.\n"

MIXED = """# T
Prima propoziție. A doua (ex. Google, etc.) rămâne întreagă. A treia:
- unu
- doi
  - doi.a
  - doi.b
1. numerotat

| Nume | Durată |
|---|---|
| auth | 7 zile |

Final conform art. 6 alin. (1) lit. b din GDPR. Gata.
"""


def units_of(markdown: str):
    section = parse_page(markdown, "u.md").sections[0]
    return section, split_units(section, 0)


def test_chunks_never_cross_a_section_and_are_slices_of_its_text():
    sections, chunks, _ = chunk_sections(load_corpus(CORPUS))
    assert {c.section for c in chunks} == set(range(len(sections))), "every section is searchable"
    for chunk in chunks:
        text = sections[chunk.section].text
        assert text[chunk.start:chunk.start + len(chunk.text)] == chunk.text
        assert chunk.embed_text.startswith(chunk.context) and chunk.embed_text.endswith(chunk.text)


def test_chunk_context_names_page_and_headings():
    sections, chunks, _ = chunk_sections(load_corpus(CORPUS))
    chunk = next(c for c in chunks if sections[c.section].title == "Pentru a comunica cu dvs.")
    assert chunk.context.split("\n")[0] == ("Utilizarea datelor › Cum vă utilizăm informațiile? › "
                                            "Pentru a comunica cu dvs.")


def test_long_sections_are_split_with_overlap():
    _, chunks, _ = chunk_sections([parse_page(LONG_LIST, "liste.md")], chunk_size=400, chunk_overlap=100)
    first = [c for c in chunks if c.section == 0]
    assert len(first) > 3 and all(len(c.text) <= 400 for c in first)
    assert any(b.start < a.start + len(a.text) for a, b in itertools.pairwise(first)), "consecutive chunks overlap"
    assert [c.section for c in chunks][-1] == 1 and chunks[-1].text == "Un alt paragraf scurt."


def test_a_split_lands_between_list_items_and_continuations_carry_the_intro():
    _, chunks, _ = chunk_sections([parse_page(LONG_LIST, "liste.md")], chunk_size=400, chunk_overlap=100)
    list_chunks = [c for c in chunks if c.section == 0]
    assert list_chunks[0].text.startswith("Partenerii noștri sunt:\n- partenerul")
    for chunk in list_chunks[1:]:
        assert chunk.text.startswith("- partenerul"), "never inside an item"
        assert "Partenerii noștri sunt:" in chunk.embed_text, "continuations carry the intro for the model"


def test_a_long_intro_is_cut_before_a_continuation_so_the_model_still_reads_the_chunk():
    # A real 1,900-character sentence before a list: repeated whole, it took ~430 of the 512
    # tokens e5 reads, so the continuation's own text was cut off from its vector.
    intro = "Datele sunt utilizate în scopul îndeplinirii unei sarcini de interes public, privind: " + \
        "; ".join(f"serviciul public numărul {i}" for i in range(80)) + ":"
    markdown = LONG_LIST.replace("Partenerii noștri sunt:", intro)
    _, chunks, _ = chunk_sections([parse_page(markdown, "liste.md")], chunk_size=400)
    continuations = [c for c in chunks if c.section == 0 and c.text.startswith("- partenerul")]
    assert continuations
    for chunk in continuations:
        carried = chunk.context.split("\n", 1)[1]
        assert carried.startswith("Datele sunt utilizate în scopul") and carried.endswith(" …")
        assert len(carried) <= INTRO_CHARS + 2 and len(intro) > 3 * INTRO_CHARS
        assert intro.startswith(carried[:-2]), "the intro's own first words, cut between words"


def test_shipped_lists_share_a_chunk_with_their_intro():
    _, chunks, _ = chunk_sections(load_corpus(CORPUS))
    partners = next(c for c in chunks if "Oblio.eu" in c.text)
    # What the model reads: a list cut from its intro gets the intro in front (no overlap needed).
    assert "Parteneri și terți cu care partajăm informații:" in partners.embed_text


def test_units_are_sentences_items_and_rows_in_page_order():
    section, units = units_of(MIXED)
    assert [(u.kind, u.text_in(section.text)) for u in units] == [
        ("sentence", "Prima propoziție."),
        ("sentence", "A doua (ex. Google, etc.) rămâne întreagă."),
        ("sentence", "A treia:"),
        ("item", "unu"),
        ("item", "doi"),
        ("item", "doi.a"),
        ("item", "doi.b"),
        ("item", "numerotat"),
        ("row", "Nume: auth · Durată: 7 zile"),
        ("sentence", "Final conform art. 6 alin. (1) lit. b din GDPR."),
        ("sentence", "Gata."),
    ]


def test_items_link_to_their_intro_or_parent_and_keep_marker_and_depth():
    _, units = units_of(MIXED)
    assert [u.intro for u in units[3:8]] == [2, 2, 4, 4, 2]
    assert [(u.marker, u.depth) for u in units[3:8]] == [("- ", 0), ("- ", 0), ("- ", 1), ("- ", 1), ("1. ", 0)]
    assert [u.line for u in units] == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 7]
    assert units[0].intro is None and units[8].intro is None


def test_a_long_item_is_quoted_sentence_by_sentence_and_keeps_its_marker_once():
    long_item = " ".join(f"Propoziția numărul {n} din elementul lung al listei." for n in range(8))
    section, units = units_of(f"# T\nIntro:\n- {long_item}\n- scurt\n")
    items = [u for u in units if u.kind == "item"]
    assert len(items) == 9
    assert items[0].marker == "- " and items[0].intro == 0
    assert all(u.marker == "" and u.intro == 1 for u in items[1:8]), "later sentences point at the item's start"
    assert items[8].text_in(section.text) == "scurt" and items[8].marker == "- "


def test_a_continuation_paragraph_belongs_to_its_item():
    section, units = units_of("# T\nIntro:\n- primul\n\n  Mai multe despre primul. Și încă.\n- al doilea\n")
    assert section.text == "Intro:\n- primul\n  Mai multe despre primul. Și încă.\n- al doilea"
    kinds = [(u.kind, u.intro, u.text_in(section.text)) for u in units]
    assert kinds == [("sentence", None, "Intro:"), ("item", 0, "primul"), ("sentence", 1, "Mai multe despre primul."),
                     ("sentence", 1, "Și încă."), ("item", 0, "al doilea")]


def test_every_unit_and_its_marker_are_slices_of_the_section_text():
    sections, _, units = chunk_sections(load_corpus(CORPUS))
    assert len(units) > 50
    for unit in units:
        text = sections[unit.section].text
        assert unit.text_in(text) == text[unit.start:unit.end] and unit.text_in(text).strip() == unit.text_in(text)
        assert text[unit.start - len(unit.marker):unit.start] == unit.marker
        assert unit.text_in(text), unit
        assert text.split("\n")[unit.line].find(unit.text_in(text)) >= 0
        if unit.intro is not None:
            assert sections[units[unit.intro].section] is sections[unit.section], "intro from the same section"


def test_unit_intro_indexes_are_global_across_sections():
    _, _, units = chunk_sections([parse_page("# A\nIntro A:\n- a\n# B\nIntro B:\n- b\n", "x.md")])
    assert [(u.section, u.kind, u.intro) for u in units] == [(0, "sentence", None), (0, "item", 0),
                                                             (1, "sentence", None), (1, "item", 2)]


@pytest.mark.parametrize("line, found", [
    ("- text", (0, "- ")), ("  - imbricat", (2, "- ")), ("12) doi", (0, "12) ")), ("3. trei", (0, "3. ")),
    ("• punct", (0, "• ")), ("– liniuță", (0, "– ")), ("text simplu", None), ("-lipit", None),
    ("2024. an", None),
])
def test_list_marker(line, found):
    assert list_marker(line) == found


def test_split_sentences_respects_abbreviations_and_lower_case():
    text = "Vezi art. 6 alin. (1) lit. b. Nr. 5 e ok. Scrieți-ne (ex. pe e-mail) la dvs. acasă! Gata? Da."
    pieces = [text[a:b] for a, b in split_sentences(text)]
    assert pieces == ["Vezi art. 6 alin. (1) lit. b.", "Nr. 5 e ok.", "Scrieți-ne (ex. pe e-mail) la dvs. acasă!",
                      "Gata?", "Da."]
    assert split_sentences("   ") == []


def test_an_address_is_not_cut_at_its_abbreviations():
    """Real pages (city hall, student NGO): "bd. Gen. Gheorghe Magheru" was three units, and the
    answer to "where do I complain" was quoted without its street."""
    text = ("Adresa: Bucuresti, bd. Gen. Gheorghe Magheru nr. 28-30, sector 1. Situată în Bdul. G-ral "
            "Gheorghe Magheru nr. 28-30, București. Șos. Olteniței nr. 2, bl. 3, sc. A, ap. 4, jud. Ilfov. Gata.")
    pieces = [text[a:b] for a, b in split_sentences(text)]
    assert pieces == ["Adresa: Bucuresti, bd. Gen. Gheorghe Magheru nr. 28-30, sector 1.",
                      "Situată în Bdul. G-ral Gheorghe Magheru nr. 28-30, București.",
                      "Șos. Olteniței nr. 2, bl. 3, sc. A, ap. 4, jud. Ilfov.", "Gata."]
