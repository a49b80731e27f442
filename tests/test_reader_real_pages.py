"""The markdown reader on real policy pages (../shared/policies and corpus/) and on the markup they use.

Real pages are written for a browser: hard wraps, bold labels, bold-only
sub-headings, tables, links, HTML comments. Whatever the markup, the reader
must keep every word, show no markup, find the headings the question sets
expect, and give quotes that are the page's own words in the page's order.
"""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

import retrieval
from conftest import CORPUS, SHARED_POLICIES
from retrieval.chunking import list_marker
from retrieval.evaluation import title_key
from retrieval.pages import Page, parse_front_matter, parse_page
from retrieval.text import words

needs_policies = pytest.mark.skipif(
    not SHARED_POLICIES.is_dir(),
    reason=f"the shared policy pages are not checked out next to the project ({SHARED_POLICIES})")

POLICY_PAGES = sorted(SHARED_POLICIES.glob("*/pages/*.md")) if SHARED_POLICIES.is_dir() else []
PAGES = POLICY_PAGES + sorted(CORPUS.glob("*.md"))
POLICIES = sorted(p.parent for p in SHARED_POLICIES.glob("*/questions.jsonl")) if SHARED_POLICIES.is_dir() else []

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def page_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}" if path.parent.name == "pages" else f"corpus/{path.name}"


def read(path: Path) -> tuple[str, Page]:
    raw = path.read_text(encoding="utf-8")
    return raw, parse_page(raw, path.name)


def raw_words(raw: str) -> list[str]:
    """The page body's word tokens as written: no front matter, comments, link targets or bold stars.

    `_` is left to the tokenizer (it separates words, and it is part of URLs such as `page=Plangeri_RGPD`).
    """
    _, body, _ = parse_front_matter(raw, "page")
    return words(_LINK_TARGET.sub("]", _COMMENT.sub(" ", body)).replace("*", ""))


def lost_words(raw: str, page: Page) -> Counter:
    """Tokens the page body has more often than its sections (text, heading paths) and title together."""
    shown = Counter(words(page.title))
    for section in page.sections:
        shown.update(words(section.text))
        shown.update(words(" ".join(section.path)))
    return Counter(raw_words(raw)) - shown


def test_there_are_real_pages_to_read():
    assert len(PAGES) >= 2
    if SHARED_POLICIES.is_dir():
        assert len(POLICY_PAGES) >= 7 and len(POLICIES) >= 7


@needs_policies
@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_no_word_of_the_page_is_lost(path):
    raw, page = read(path)
    assert page.sections
    lost = lost_words(raw, page)
    assert not lost, f"{page_id(path)}: words missing from every section: {sorted(lost)[:20]}"


def test_the_lost_words_check_notices_a_dropped_section():
    raw = "---\ntitle: T\n---\n# Unu\nprimul paragraf\n# Doi\nal doilea paragraf cu ciocolată\n"
    page = parse_page(raw, "t.md")
    assert not lost_words(raw, page)
    partial = Page(page.source, page.title, page.raw, page.sections[:1])
    assert lost_words(raw, partial) == Counter(["doi", "al", "doilea", "paragraf", "cu", "ciocolata"])


@needs_policies
@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_no_markup_in_section_text_or_headings(path):
    _, page = read(path)
    for section in page.sections:
        for line in [*section.text.split("\n"), *section.path, page.title]:
            assert "**" not in line and "__" not in line, line
            assert "](" not in line and "<!--" not in line, line
            assert not line.lstrip().startswith("|"), line
            assert line == line.rstrip() and line.strip(), repr(line)


@needs_policies
@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_section_line_points_at_the_first_words_of_its_text(path):
    raw, page = read(path)
    lines = raw.removeprefix("\ufeff").split("\n")
    for section in page.sections:
        first = section.text.split("\n")[0]
        found = list_marker(first)
        first = first[found[0] + len(found[1]):] if found else first
        assert words(first)[0] in words(lines[section.line - 1].replace("*", "")), (section.path, section.line)


@needs_policies
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_every_expected_section_of_the_question_set_exists(policy):
    titles = {title_key(s.title) for path in (policy / "pages").glob("*.md") for s in read(path)[1].sections}
    expected = {t for line in (policy / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
                for t in json.loads(line)["expected_sections"]}
    assert expected, "the set names sections to find"
    assert not {t for t in expected if title_key(t) not in titles}


# ---- the reader on the markup real pages use --------------------------------------------------------------


def one(markdown: str, source: str = "t.md"):
    page = parse_page(markdown, source)
    return page, page.sections


def test_heading_followed_directly_by_a_bold_line_keeps_both_in_the_path():
    _, sections = one("# Drepturile dvs.\n**Dreptul de acces**\nPuteți cere o copie.\n")
    assert [(s.path, s.text) for s in sections] == [(("Drepturile dvs.", "Dreptul de acces"), "Puteți cere o copie.")]
    _, sections = one("## 2. Ce date colectăm\n\n**Date de cont**\n\nNume și e-mail.\n")
    assert sections[0].path == ("2. Ce date colectăm", "Date de cont")


def test_bold_under_a_bold_line_nests_and_a_sibling_bold_line_replaces_it():
    _, sections = one("# H\n**A**\n\n**A.1**\n\ntext a1\n\n**B**\n\ntext b\n")
    assert [s.path for s in sections] == [("H", "A", "A.1"), ("H", "B")]


@pytest.mark.parametrize("line", ["**Ultima actualizare: 12.03.2024**",
                                  "**Versiunea 1.1 · în vigoare de la 02.10.2026**"])
def test_a_bold_version_or_date_line_is_text_not_a_heading(line):
    _, sections = one(f"# Politica\n{line}\n\nAceastă politică explică ce date colectăm.\n")
    assert [s.path for s in sections] == [("Politica",)]
    assert sections[0].text.split("\n") == [line.strip("*"), "Această politică explică ce date colectăm."]


def test_a_long_bold_paragraph_is_text():
    bold = ("**Vă rugăm să citiți cu atenție această declarație, deoarece prin utilizarea serviciului confirmați "
            "că ați înțeles modul în care vă prelucrăm datele cu caracter personal.**")
    _, sections = one(f"# Introducere\n{bold}\n\nUrmează detaliile.\n")
    assert [s.path for s in sections] == [("Introducere",)]
    assert sections[0].text.split("\n")[0] == bold.strip("*")


def test_a_bold_label_followed_by_text_is_text():
    _, sections = one("# Prelucrare\n**Operator:** Comisia Europeană\n\n**Scop.** Organizarea sondajelor.\n")
    assert [s.path for s in sections] == [("Prelucrare",)]
    assert sections[0].text == "Operator: Comisia Europeană\nScop. Organizarea sondajelor."


def test_hard_wrapped_lines_are_one_line_of_text():
    _, sections = one("# P\nDatele sunt păstrate\npe durata contractului\nși încă trei ani.\n\nAlt paragraf.\n")
    assert sections[0].text == "Datele sunt păstrate pe durata contractului și încă trei ani.\nAlt paragraf."


def test_a_list_item_with_continuation_lines_is_one_item():
    _, sections = one("# P\nPutem transmite datele:\n- autorităților publice, la\n  cererea lor scrisă;\n"
                      "- furnizorilor de\nhosting.\n1. primul\n   pas\n")
    assert sections[0].text.split("\n") == ["Putem transmite datele:",
                                            "- autorităților publice, la cererea lor scrisă;",
                                            "- furnizorilor de hosting.", "1. primul pas"]


def test_nested_items_are_indented_two_spaces_a_level():
    _, sections = one("# P\n- a\n  - a.1\n    - a.1.x\n- b\n")
    assert sections[0].text == "- a\n  - a.1\n    - a.1.x\n- b"


def test_a_table_becomes_rows_that_carry_their_header():
    _, sections = one("# Păstrare\n\n| Tip de date | Perioadă |\n|:--|--:|\n| Cont activ | cât folosiți platforma |\n"
                      "| **Mesaje** | 3 ani |\n|  | fără tip |\n")
    assert sections[0].text.split("\n") == ["Tip de date: Cont activ · Perioadă: cât folosiți platforma",
                                            "Tip de date: Mesaje · Perioadă: 3 ani", "Perioadă: fără tip"]


def test_links_become_their_text_and_comments_are_dropped():
    _, sections = one("# P\nCitiți [politica de cookies](https://ex.ro/cookies \"titlu\") aici.<!-- notă -->\n\n"
                      "<!--\nun comentariu\npe mai multe rânduri\n-->\nScrieți la <dpo@ex.ro>.\n")
    assert sections[0].text == "Citiți politica de cookies aici.\nScrieți la dpo@ex.ro."


def test_emphasis_inside_a_heading_is_dropped():
    _, sections = one("## 2.3 Date pe care **NU** le colectăm\n- CNP\n")
    assert sections[0].title == "2.3 Date pe care NU le colectăm"
    assert sections[0].anchor == "2-3-date-pe-care-nu-le-colectam"


def test_a_bom_before_front_matter_still_reads_the_title():
    page, sections = one("\ufeff---\ntitle: Politica de confidențialitate\n---\n# Cine suntem\nO asociație.\n")
    assert page.title == "Politica de confidențialitate" and sections[0].page_title == page.title
    assert sections[0].line == 5


def test_url_and_contact_from_front_matter():
    page, sections = one("---\ntitle: P\nurl: https://ex.ro/confidentialitate\ncontact: dpo@ex.ro\n---\n"
                         "# Cum vă contactăm?\nPrin e-mail.\n## Cât păstrăm\nUn an.\n")
    assert page.url == "https://ex.ro/confidentialitate" and page.contact == "dpo@ex.ro"
    for section in sections:
        assert section.url == page.url and section.link == f"{page.url}#{section.anchor}"
    assert sections[1].link == "https://ex.ro/confidentialitate#cat-pastram"


def test_paragraph_bullets_and_cedillas_are_kept_as_written_with_comma_below_letters():
    _, sections = one("# P\n• Dreptul de acces la datele prelucrate de clinică;\n\n– Securitatea datelor: protejăm.\n"
                      "Protecţia datelor şi drepturile persoanei.\n")
    assert sections[0].text.split("\n") == [
        "• Dreptul de acces la datele prelucrate de clinică;",
        "– Securitatea datelor: protejăm. Protecția datelor și drepturile persoanei."]


def test_a_continuation_after_a_nested_list_belongs_to_the_parent_item():
    _, sections = one("# P\n- doi\n  - doi.a\n\n  Despre doi.\n")
    assert sections[0].text == "- doi\n  - doi.a\n  Despre doi."


# ---- quotes are the page's words, in the page's order (real model) -----------------------------------------

QUOTED_POLICIES = ["sintezaur", "osubb-app"]


def contiguous(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def quote_pieces(line: str) -> list[str]:
    """What of a quote line must appear as written: the line without its marker, or a table row's header and cell."""
    found = list_marker(line)
    body = line[found[0] + len(found[1]):] if found else line
    if " · " not in body and ": " not in body:
        return [body]
    pieces = []
    for cell in body.split(" · "):
        pieces += cell.split(": ", 1)
    return [body, *pieces]


def quote_is_from(line: str, page_words: list[str]) -> bool:
    pieces = quote_pieces(line)
    whole = contiguous(page_words, words(pieces[0]))
    return whole or (len(pieces) > 1 and all(contiguous(page_words, words(p)) for p in pieces[1:]))


def test_the_in_order_check_rejects_reordered_or_foreign_words():
    page = raw_words("# T\n| Nume | Durată |\n|---|---|\n| auth | 7 zile |\n\nNu vindem datele **tale**.\n")
    assert quote_is_from("Nu vindem datele tale.", page)
    assert quote_is_from("Nume: auth · Durată: 7 zile", page)
    assert not quote_is_from("Nu vindem tale datele.", page)
    assert not quote_is_from("Nu vindem datele voastre.", page)


@pytest.fixture(scope="module")
def policy_engines(shipped_index, tmp_path_factory):
    """Real-model indexes of two shared policies; the session index's embedding cache spares the example questions."""
    engines = {}
    for slug in QUOTED_POLICIES:
        folder = tmp_path_factory.mktemp(slug)
        shutil.copytree(shipped_index / "cache", folder / "cache")
        retrieval.build(SHARED_POLICIES / slug / "pages", folder)
        engines[slug] = retrieval.open_engine(folder)
    return engines


@pytest.mark.slow
@needs_policies
@pytest.mark.parametrize("slug", QUOTED_POLICIES)
def test_every_quote_line_is_the_pages_words_in_order(policy_engines, slug):
    engine = policy_engines[slug]
    pages = {p.name: raw_words(p.read_text(encoding="utf-8")) for p in (SHARED_POLICIES / slug / "pages").glob("*.md")}
    questions = [json.loads(line) for line in (SHARED_POLICIES / slug / "questions.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    checked = 0
    for question in questions:
        answer = retrieval.ask(engine, question["question"], k=3)
        for quote in answer.quotes:
            section = next(s for s in engine.index.sections if (s.source, s.anchor) == (quote.source, quote.anchor))
            assert [section.text[a:b] for a, b in quote.spans] == quote.quote.split("\n")
            for line in quote.quote.split("\n"):
                assert quote_is_from(line, pages[quote.source]), (question["id"], line)
                checked += 1
    assert checked >= 2 * len(questions)
