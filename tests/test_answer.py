"""Quote choice plumbing (fake embedder): what the first passage is built from, on a purpose-made page.

Quality on real questions is in tests/test_retrieval_quality.py (slow tier) and bench/quotes.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import retrieval.answer as answer_module
from conftest import build_fake
from retrieval.engine import Engine

PAGE = """---
title: Politica
---
# Utilizarea datelor

Utilizăm informațiile dvs. cu scopul de a vă furniza o experiență personalizată.
Iată care sunt modurile în care vă utilizăm informațiile:

## Pentru a comunica

Vă trimitem notificări despre actualizările serviciului.

# Accesul la date

Accesul la datele dumneavoastră este acordat personalului Comisiei responsabil cu serviciul.
Personalul respectă acordurile de confidențialitate semnate.
Prin urmare, personalul care gestionează aplicația are acces la datele dumneavoastră.

# Destinatari

Transmitem datele dumneavoastră, pentru a furniza serviciul și a respecta obligațiile legale ale organizației, \
către următoarele categorii de destinatari stabilite prin contract cu fiecare dintre ei:

- firma de contabilitate și audit care verifică facturile
- furnizorii de servicii de hosting care găzduiesc serverele
- furnizorii de servicii de e-mail care trimit mesajele
- furnizorii de servicii de ticketing pentru evenimente
- furnizorii de servicii de marketing și publicitate
- furnizorii de servicii de plată: SmartFintech, Netopia Payments
"""


@pytest.fixture
def engine(fake_embedder, tmp_path: Path) -> Engine:
    corpus = tmp_path / "pages"
    corpus.mkdir()
    (corpus / "politica.md").write_text(PAGE, encoding="utf-8")
    build_fake(corpus, tmp_path / "index")
    return Engine.open(tmp_path / "index")


def _unit(engine: Engine, text: str) -> int:
    return next(i for i in range(len(engine.index.units)) if engine.unit_text[i].startswith(text))


def test_a_dangling_list_intro_is_never_quoted_alone(engine, monkeypatch):
    """Its "list" is the sub-sections below: alone it tells nothing, so the section's next best unit leads."""
    monkeypatch.setattr(answer_module, "LEAD_GROW_TO", 0)
    shown = answer_module.answer(engine, "Iată care sunt modurile în care vă utilizăm informațiile?", k=1)
    assert shown.quotes[0].section == "Utilizarea datelor"
    assert shown.quotes[0].quote.startswith("Utilizăm informațiile dvs. cu scopul")
    monkeypatch.setattr(answer_module, "DANGLING_INTRO", False)   # the check can fail
    shown = answer_module.answer(engine, "Iată care sunt modurile în care vă utilizăm informațiile?", k=1)
    assert shown.quotes[0].quote.rstrip().endswith(":")


def test_a_sentence_opening_with_a_connector_brings_the_one_before(engine, monkeypatch):
    monkeypatch.setattr(answer_module, "LEAD_GROW_TO", 0)
    question = "Prin urmare, personalul care gestionează aplicația are acces?"
    lead = answer_module.answer(engine, question, k=1).quotes[0]
    assert lead.quote == ("Personalul respectă acordurile de confidențialitate semnate. "
                          "Prin urmare, personalul care gestionează aplicația are acces la datele dumneavoastră.")
    monkeypatch.setattr(answer_module, "ATTACH", False)
    assert answer_module.answer(engine, question, k=1).quotes[0].quote.startswith("Prin urmare")


def test_a_short_lead_grows_by_its_better_neighbour_within_the_budget(engine, monkeypatch):
    monkeypatch.setattr(answer_module, "ATTACH", False)
    monkeypatch.setattr(answer_module, "LEAD_MIN_CHARS", 0)   # (which grows within the paragraph only)
    question = "Personalul respectă acordurile de confidențialitate?"
    monkeypatch.setattr(answer_module, "LEAD_GROW_TO", 0)
    alone = answer_module.answer(engine, question, k=1).quotes[0].quote
    assert alone == "Personalul respectă acordurile de confidențialitate semnate."
    monkeypatch.setattr(answer_module, "LEAD_GROW_TO", 200)
    grown = answer_module.answer(engine, question, k=1).quotes[0].quote
    assert alone in grown and len(alone) < len(grown) <= answer_module.LEAD_BUDGET


def test_a_list_too_long_for_the_budget_keeps_its_first_items_and_its_best_scored_one(engine):
    intro = _unit(engine, "Transmitem datele")
    items = engine.list_items.get(intro)
    assert len(items) == 6
    payments = items[-1]
    kept = answer_module._fit(engine, [intro, *items], keep=intro, budget=330,
                              scores={u: 0.0 for u in items} | {payments: 5.0})
    assert intro in kept and items[0] in kept and payments in kept and len(kept) < 7
    assert payments not in answer_module._fit(engine, [intro, *items], keep=intro, budget=330)   # no scores


def test_a_trimmed_list_keeps_the_item_that_alone_holds_a_word_of_the_question(engine, monkeypatch):
    intro = _unit(engine, "Transmitem datele")
    items = engine.list_items.get(intro)
    ticketing, payments = items[3], items[-1]
    scores = {u: 0.0 for u in items} | {items[0]: 5.0}   # the best-scored item is the first one
    picked = [intro, *items]
    kept = answer_module._fit(engine, picked, keep=intro, budget=300, scores=scores,
                              question="Cine procesează plățile mele?")
    assert payments in kept and items[0] in kept and ticketing not in kept
    monkeypatch.setattr(answer_module, "COVER_QUESTION", False)
    assert payments not in answer_module._fit(engine, picked, keep=intro, budget=300, scores=scores,
                                              question="Cine procesează plățile mele?")


def test_every_quote_is_a_verbatim_slice_of_its_section(engine):
    for question in ("Cine are acces la datele mele?", "Cui transmiteți datele?", "Cum folosiți informațiile?"):
        for quote in answer_module.answer(engine, question, k=3).quotes:
            section = next(s for s in engine.sections if s.title == quote.section)
            for (start, end), line in zip(quote.spans, quote.quote.splitlines(), strict=True):
                assert section.text[start:end] == line
