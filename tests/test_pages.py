"""Markdown pages -> sections: front matter, nested headings, bold sub-headings, offsets."""
import pytest

from retrieval.errors import CorpusError
from retrieval.pages import load_corpus, parse_page

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
    assert all(s.page_title == "Pagina de test" for s in page.sections)


def test_missing_front_matter_falls_back_to_file_name():
    assert parse_page("# A\ntext", "politica-cookie.md").title == "Politica cookie"


def test_broken_front_matter_is_a_clear_error():
    with pytest.raises(CorpusError, match="rau.md"):
        parse_page("---\ntitle: [unclosed\n---\n# A\nb", "rau.md")


def test_nested_heading_paths():
    paths = [s.path for s in sections()]
    assert paths == [
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


def test_headings_inside_code_fences_are_text():
    deep = sections()[4]
    assert "# nu e titlu" in deep.text and "**nici asta**" in deep.text


def test_anchors_are_unique_within_a_page():
    anchors = [s.anchor for s in sections()]
    assert len(set(anchors)) == len(anchors)
    assert anchors[1] == "primul" and anchors[-1] == "primul-2"


def test_section_text_is_an_exact_slice_of_the_file():
    for s in sections():
        assert PAGE[s.start:s.start + len(s.text)] == s.text


def test_shipped_pages_parse_with_their_bold_sub_headings():
    from conftest import CORPUS

    pages = {p.source: p for p in load_corpus(CORPUS)}
    assert set(pages) == {"partajarea-datelor.md", "utilizarea-datelor.md"}
    titles = [s.title for s in pages["utilizarea-datelor.md"].sections]
    assert "Pentru a comunica cu dvs." in titles
    communicate = next(s for s in pages["utilizarea-datelor.md"].sections if s.title == "Pentru a comunica cu dvs.")
    assert communicate.path == ("Cum vă utilizăm informațiile?", "Pentru a comunica cu dvs.")
    assert communicate.citation == "Utilizarea datelor › Pentru a comunica cu dvs."


def test_missing_or_empty_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="nu există"):
        load_corpus(tmp_path / "nicaieri")
    with pytest.raises(CorpusError, match="Nu am găsit"):
        load_corpus(tmp_path)
