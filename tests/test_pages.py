"""Markdown pages -> sections: front matter, nested headings, bold sub-headings, anchors, lines, corpus files.

The reader's handling of real-page markup (tables, links, hard wraps, comments…)
is in test_reader_real_pages.py.
"""
import pytest

from conftest import CORPUS
from retrieval.errors import CorpusError
from retrieval.pages import Section, cite, is_heading_like, load_corpus, parse_page

PAGE = """---
title: Pagina de test
---

Text înainte de orice titlu.

# Primul
Corpul primului.

## Al doilea
Corpul celui de-al doilea.

**Sub-titlu îngroșat**
Text sub titlul îngroșat.

### Al treilea
Adânc.

```
# nu e titlu
**nici asta**
```

# Primul
Același titlu, altă ancoră.
"""


def sections():
    return parse_page(PAGE, "test.md").sections


def test_front_matter_title_is_the_page_title():
    page = parse_page(PAGE, "test.md")
    assert page.title == "Pagina de test"
    assert all(s.page_title == "Pagina de test" and s.source == "test.md" for s in page.sections)


def test_missing_front_matter_falls_back_to_file_name():
    assert parse_page("# A\ntext", "politica-cookie.md").title == "Politica cookie"


def test_broken_front_matter_is_a_clear_error():
    with pytest.raises(CorpusError, match=r"rau\.md"):
        parse_page("---\ntitle: [unclosed\n---\n# A\nb", "rau.md")
    with pytest.raises(CorpusError, match="dicționar"):
        parse_page("---\n- o listă\n---\n# A\nb", "lista.md")


def test_nested_heading_paths():
    assert [s.path for s in sections()] == [
        ("Pagina de test",),
        ("Primul",),
        ("Primul", "Al doilea"),
        ("Primul", "Al doilea", "Sub-titlu îngroșat"),
        ("Primul", "Al doilea", "Al treilea"),
        ("Primul",),
    ]


def test_bold_only_line_is_a_sub_heading_one_level_down():
    bold = sections()[3]
    assert bold.title == "Sub-titlu îngroșat"
    assert bold.text == "Text sub titlul îngroșat."
    assert bold.citation == "Pagina de test › Sub-titlu îngroșat"


def test_code_fences_are_text_kept_as_written():
    deep = sections()[4]
    assert deep.text == "Adânc.\n# nu e titlu\n**nici asta**"


def test_anchors_are_unique_slugs_within_a_page():
    anchors = [s.anchor for s in sections()]
    assert len(set(anchors)) == len(anchors)
    assert anchors[1] == "primul" and anchors[-1] == "primul-2"
    assert sections()[3].id == "test.md#sub-titlu-ingrosat"


def test_section_line_is_where_its_text_starts_in_the_file():
    lines = PAGE.split("\n")
    for s in sections():
        assert lines[s.line - 1] == s.text.split("\n")[0], s.path


def test_heading_separated_from_its_text_by_a_blank_line_still_points_at_the_text():
    page = parse_page("---\ntitle: T\n---\n# Titlu\n\n\nPrimul rând.\n", "t.md")
    assert page.sections[0].line == 7


def test_empty_sections_are_dropped_and_a_page_without_text_has_none():
    page = parse_page("# Gol\n## Tot gol\n## Plin\nceva\n", "g.md")
    assert [s.path for s in page.sections] == [("Gol", "Plin")]
    assert parse_page("---\ntitle: Nimic\n---\n# Doar titlu\n", "n.md").sections == ()


def test_citation_does_not_repeat_a_heading_equal_to_the_page_title():
    assert cite("Cookie", ("Cookie",)) == "Cookie"
    assert cite("Cookie", ("COOKIE",)) == "Cookie"
    assert cite("Cookie", ("Cookie", "Durată")) == "Cookie › Durată"
    assert cite("Cookie", ()) == "Cookie"


def test_section_json_round_trip_keeps_every_field():
    section = Section("a.md", "Pagina", ("Unu", "Doi"), "doi", "- x\n  - y", 12, "https://ex.ro/a", ("sharing",))
    again = Section.from_json(section.to_json())
    assert again == section and again.link == "https://ex.ro/a#doi"
    assert Section("a.md", "P", ("T",), "t", "x").link == ""


@pytest.mark.parametrize("text, heading", [
    ("Dreptul de acces", True),
    ("Activitatea în aplicație.", True),
    ("Ultima actualizare: 12.03.2024", False),
    ("Versiunea 1.1 · în vigoare de la 02.10.2026", False),
    ("Acest text îngroșat este o propoziție întreagă, cu mult mai multe cuvinte decât un titlu.", False),
    (" ".join(["cuvânt"] * 21), False),
    ("", False),
])
def test_is_heading_like(text, heading):
    assert is_heading_like(text) is heading


def test_a_labelled_paragraph_after_a_bold_label_returns_to_the_parent_section():
    """osubb-app's section 2: "**Date …** text" paragraphs around one bold label over a list."""
    raw = ("## Ce date prelucrăm\n\n**Date de contact.** Numele și emailul.\n\n**Activitatea în aplicație.**\n\n"
           "- Taskurile tale;\n- Punctele obținute.\n\n**Ce nu prelucrăm.** Nu vindem date nimănui.\n\n"
           "**Date tehnice:**\n\n- adresa IP.\n\n**Pe scurt.** Atât.\n\n"
           "## Drepturi\n\n**Dreptul de acces**\n\nPoți cere o copie.\n\n**Notă.** Gratuit.\n")
    page = parse_page(raw, "p.md")
    by_path = {s.path: s for s in page.sections}
    assert list(by_path) == [("Ce date prelucrăm", "Activitatea în aplicație."), ("Ce date prelucrăm", "Date tehnice:"),
                             ("Ce date prelucrăm",), ("Drepturi", "Dreptul de acces")]
    parent = by_path[("Ce date prelucrăm",)]
    assert parent.text.splitlines() == ["Date de contact. Numele și emailul.",
                                        "Ce nu prelucrăm. Nu vindem date nimănui.", "Pe scurt. Atât."]
    assert parent.anchor == "ce-date-prelucram" and parent.line == 3
    assert by_path[("Ce date prelucrăm", "Activitatea în aplicație.")].text == "- Taskurile tale;\n- Punctele obținute."
    # A sub-heading that does not read as a label keeps what follows it.
    assert by_path[("Drepturi", "Dreptul de acces")].text == "Poți cere o copie.\nNotă. Gratuit."


def test_raw_html_headings_are_headings_and_inline_tags_leave_no_gap():
    """A page converted from HTML: "<h2>" lines are sections; "<b>esențiale</b>." reads "esențiale."."""
    raw = ("# Politica\n\nIntro.\n\n<!--\nnotă internă\n-->\n\n<h2>Cookie-uri</h2>\n"
           "<p>Folosim cookie-uri <b>esențiale</b>, vezi <a href=\"x\">aici</a>.</p>\n\n"
           "<div>\n<h3 class=\"t\">Durata <em>cookie-urilor</em></h3>\n<p>30 de zile.</p>\n</div>\n\n"
           "## Contact\n\nScrieți-ne.\n")
    page = parse_page(raw, "h.md")
    assert [(s.path, s.text) for s in page.sections] == [
        (("Politica",), "Intro."),
        (("Politica", "Cookie-uri"), "Folosim cookie-uri esențiale, vezi aici."),
        (("Politica", "Cookie-uri", "Durata cookie-urilor"), "30 de zile."),
        (("Politica", "Contact"), "Scrieți-ne."),
    ]


def test_numbered_bold_items_and_lines_in_capitals_are_headings():
    """Pages from word processors: "1. **Title**" alone in its list, "DREPTURILE DUMNEAVOASTRĂ" on its own line."""
    raw = ("# Politica\n\n1. **Cine suntem**\n\nSuntem Asociația X.\n\n2. **Ce date colectăm**\n\nNumele.\n\n"
           "DREPTURILE DUMNEAVOASTRĂ\n\nAveți dreptul de acces.\n\nLista:\n\n1. **Nume**\n2. **Email**\n\n"
           "GDPR\n\nCOSMOPOLIS MARKETPLACE S.R.L. este operatorul.\n\nVĂ MULȚUMIM.\n")
    page = parse_page(raw, "n.md")
    assert [(s.path[-1], s.text.splitlines()) for s in page.sections] == [
        ("1. Cine suntem", ["Suntem Asociația X."]),
        ("2. Ce date colectăm", ["Numele."]),
        # a list of several bold items, a lone acronym, a sentence and a closing line in capitals stay text
        ("DREPTURILE DUMNEAVOASTRĂ", ["Aveți dreptul de acces.", "Lista:", "1. Nume", "2. Email", "GDPR",
                                      "COSMOPOLIS MARKETPLACE S.R.L. este operatorul.", "VĂ MULȚUMIM."]),
    ]


def test_shipped_pages_parse_with_their_bold_sub_headings():
    pages = {p.source: p for p in load_corpus(CORPUS)}
    assert set(pages) == {"partajarea-datelor.md", "utilizarea-datelor.md"}
    sections_ = pages["utilizarea-datelor.md"].sections
    communicate = next(s for s in sections_ if s.title == "Pentru a comunica cu dvs.")
    assert communicate.path == ("Cum vă utilizăm informațiile?", "Pentru a comunica cu dvs.")
    assert communicate.citation == "Utilizarea datelor › Pentru a comunica cu dvs."
    assert sum(len(p.sections) for p in pages.values()) == 9


def test_corpus_reads_subfolders_skips_readmes_and_pages_without_text(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("# A\ntext a\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\ntext b\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# Citește-mă\nnu e pagină\n", encoding="utf-8")
    (tmp_path / "gol.md").write_text("---\ntitle: Gol\n---\n", encoding="utf-8")
    (tmp_path / "note.txt").write_text("# nu\n", encoding="utf-8")
    assert [p.source for p in load_corpus(tmp_path)] == ["b.md", "sub/a.md"]


def test_missing_empty_or_unreadable_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="nu există"):
        load_corpus(tmp_path / "nicaieri")
    with pytest.raises(CorpusError, match="Nu am găsit"):
        load_corpus(tmp_path)
    (tmp_path / "gol.md").write_text("---\ntitle: Gol\n---\n\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="nu conțin text"):
        load_corpus(tmp_path)
    (tmp_path / "latin1.md").write_bytes("# Titlu\nprotecţie".encode("cp1250"))
    with pytest.raises(CorpusError, match=r"latin1\.md.*UTF-8"):
        load_corpus(tmp_path)
