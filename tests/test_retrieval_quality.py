"""Retrieval on real pages with the real model: quality gates, per policy, on what the user sees.

Thresholds sit a little under what the engine reaches today (README "Measured",
`python -m retrieval eval eval/questions.jsonl ../shared/policies`); a change
that drops below them fails CI. The seven real policies are read from
../shared/policies as CI has it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import retrieval
from conftest import QUESTIONS
from retrieval.coverage import coverage_map
from retrieval.evaluation import PolicyRun, combined_summary, evaluate, load_questions

pytestmark = pytest.mark.slow

POLICIES = Path(__file__).resolve().parents[2] / "shared" / "policies"
# hit@1 floor per policy on its shared question set (measured today minus a margin; see README).
# Issue 7: no policy below 0.80. Measured 26 Nov: asmi 13/14, cosmomarket 15/15, dentocare 12/14,
# eusurvey 14/16, osubb 14/15, primaria 15/16, sintezaur 14/15.
POLICY_HIT_AT_1 = {
    "asmi-caravana": 0.85, "cosmomarket": 0.93, "dentocare": 0.80, "eusurvey": 0.80,
    "osubb-app": 0.86, "primaria-floresti-stoenesti": 0.87, "sintezaur": 0.86,
}
# Questions abstained per policy (uncovered, off-topic) on its shared set: measured today minus one
# question each (README "Saying what the policy does not say"; 26 Nov, round 8: eusurvey 5 of 5 uncovered,
# sintezaur 3 of 5).
POLICY_ABSTAINED = {
    "asmi-caravana": (5, 1), "cosmomarket": (5, 1), "dentocare": (5, 1), "eusurvey": (4, 1),
    "osubb-app": (4, 1), "primaria-floresti-stoenesti": (5, 1), "sintezaur": (2, 1),
}


@pytest.fixture(scope="module")
def shipped_evaluation(engine):
    questions, errors = load_questions(QUESTIONS)
    assert not errors
    return questions, evaluate(engine, questions, k=5)


@pytest.fixture(scope="module")
def policy_engines(tmp_path_factory):
    if not POLICIES.is_dir():
        pytest.skip(f"{POLICIES} is not here (CI lays ../shared beside the clone)")
    return {folder.name: retrieval.open_engine(tmp_path_factory.mktemp(folder.name), folder / "pages")
            for folder in sorted(p for p in POLICIES.iterdir() if (p / "pages").is_dir())}


@pytest.fixture(scope="module")
def policy_runs(policy_engines):
    runs = []
    for name, engine in policy_engines.items():
        questions, errors = load_questions(POLICIES / name / "questions.jsonl")
        assert not errors
        runs.append(PolicyRun(name, evaluate(engine, questions, k=5)))
    return runs


def test_onedu_hit_rates_and_answers(shipped_evaluation):
    s = shipped_evaluation[1].summary
    assert s["hit@1"] >= 0.90 and s["hit@3"] >= 0.95
    assert s["answer_in_first_quote"] >= 0.88   # 0.896 measured (95 of 106)
    assert s["first_quote_chars"] <= 350 and s["answer_chars"] <= 900


def test_onedu_abstention(shipped_evaluation):
    s = shipped_evaluation[1].summary
    assert s["answerable_abstained"] <= 0.03
    assert s["abstention_precision"] >= 0.9
    assert s["uncovered_abstained"] >= 0.9    # 10 of 10 today
    assert s["offtopic_abstained"] >= 0.9     # 11 of 12 today


@pytest.mark.parametrize("policy", sorted(POLICY_HIT_AT_1))
def test_each_real_policy_ranks_the_answering_section_first(policy_runs, policy):
    run = next(r for r in policy_runs if r.name == policy)
    assert run.evaluation.summary["hit@1"] >= POLICY_HIT_AT_1[policy]


@pytest.mark.parametrize("policy", sorted(POLICY_ABSTAINED))
def test_each_real_policy_says_what_it_does_not_say(policy_runs, policy):
    results = next(r for r in policy_runs if r.name == policy).evaluation.results
    uncovered, offtopic = POLICY_ABSTAINED[policy]
    assert sum(r.abstained for r in results if r.kind == "uncovered") >= uncovered
    assert sum(r.abstained for r in results if r.kind == "offtopic") >= offtopic
    assert sum(r.abstained for r in results if r.answerable) <= 1   # 0 today


def test_all_real_policies_together(policy_runs):
    s = combined_summary(policy_runs, 5)
    assert s["hit@1"] >= 0.88 and s["hit@3"] >= 0.97    # 0.905 and 0.990 measured (26 Nov)
    assert s["answer_in_first_quote"] >= 0.81   # 0.838 measured (88 of 105)
    assert s["first_quote_chars"] <= 350 and s["answer_chars"] <= 900
    assert s["uncovered_abstained"] >= 0.84   # 34 of 39 today
    assert s["offtopic_abstained"] >= 0.9     # 14 of 14 today
    assert s["answerable_abstained"] <= 0.03
    assert s["abstention_precision"] >= 0.9


def test_every_set_together_meets_the_issue_targets(policy_runs, shipped_evaluation):
    """Issue 7's "Done when", over the one command's sets: ONedu's and the seven policies' answerable questions.

    Measured 26 Nov (`python -m retrieval eval eval/questions.jsonl ../shared/policies`): hit@1 0.938,
    hit@3 0.991, answer in first quote 0.886 (187 of 211), 308 / 709 characters. The first-quote floor
    is the issue's 0.88 less one question (0.875), against rank flips from float differences between CPUs.
    """
    s = combined_summary([*policy_runs, PolicyRun("onedu", shipped_evaluation[1])], 5)
    assert s["hit@1"] >= 0.90 and s["hit@3"] >= 0.97
    assert s["answer_in_first_quote"] >= 0.875
    assert s["first_quote_chars"] <= 350 and s["answer_chars"] <= 900


def test_the_labelled_abstention_set_on_every_policy(engine, policy_engines):
    """The calibration set (bench/calibrate.py): every policy's questions plus its eval/policies/<slug>.jsonl
    (uncovered, off-topic and near-miss answerable questions), both halves; tuned on dev."""
    extra = QUESTIONS.parent / "policies"
    runs = []
    for name, eng in [("onedu", engine), *policy_engines.items()]:
        files = [QUESTIONS if name == "onedu" else POLICIES / name / "questions.jsonl", extra / f"{name}.jsonl"]
        questions = [q for f in files for q in load_questions(f)[0]]
        runs.append(PolicyRun(name, evaluate(eng, questions, k=5)))
    s = combined_summary(runs, 5)
    assert s["uncovered_abstained"] >= 0.85      # 84 of 97 today (dev 45/49, test 39/48)
    assert s["offtopic_abstained"] >= 0.9        # 39 of 42 today
    assert s["answerable_abstained"] <= 0.03     # 3 of 275 today (near misses)
    assert s["abstention_precision"] >= 0.9


def test_no_quote_ends_on_a_list_intro_without_its_list(policy_runs, shipped_evaluation):
    """ "Iată care sunt modurile …:" with nothing after it tells the reader nothing (21 such quotes before)."""
    runs = [*policy_runs, PolicyRun("onedu", shipped_evaluation[1])]
    for run in runs:
        for result in run.evaluation.results:
            for quote in result.quotes:
                assert not quote["quote"].rstrip().endswith(":"), (run.name, result.id, quote["quote"])


@pytest.mark.parametrize("question", ["How do you use my information?", "De ce folosiți informațiile mele?"])
def test_the_use_question_leads_with_the_purpose_not_the_announcement(engine, question):
    answer = retrieval.ask(engine, question, k=3)
    assert answer.quotes[0].citation == "Utilizarea datelor › Cum vă utilizăm informațiile?"
    assert "cu scopul de a vă furniza o experiență personalizată" in answer.quotes[0].quote


@pytest.mark.parametrize("question", ["ce faceti cu emailul meu?", "Ce faceți cu adresa mea de e-mail?"])
def test_the_email_question_quotes_what_the_email_is_used_for(engine, question):
    # The opt-out sentence shares the question's only content word (e-mail) and has the highest
    # cosine; the "purpose" answer type (language.yaml) leads with a sentence saying what for.
    answer = retrieval.ask(engine, question, k=3)
    assert answer.quotes[0].section == "Pentru a comunica cu dvs."
    assert "Unsubscribe" not in answer.quotes[0].quote
    assert answer.evidence["answer_types"] == ["un scop"]


def test_every_abstention_says_why_and_gives_a_way_forward(policy_runs):
    for run in policy_runs:
        for result in run.evaluation.results:
            if result.abstained and result.error is None:
                assert result.message
                if result.reason == "uncovered":
                    assert " nu spune " in result.message


def test_the_sale_question_quotes_the_sentence_that_answers(engine):
    answer = retrieval.ask(engine, "Vindeți datele mele?", k=3)
    assert not answer.abstained
    assert answer.quotes[0].quote.startswith("Nu vindem nimănui nicio informație")
    assert len(answer.quotes[0].quote) <= 350


def test_a_passage_never_grows_into_a_list_intro_without_its_list(engine):
    # "Cui dați datele mele?" had led with "În aceste cazuri, …" grown by "… inclusiv:" (its list cut).
    answer = retrieval.ask(engine, "Cui dați datele mele?", k=3)
    assert not any(q.quote.rstrip().endswith(":") for q in answer.quotes)
    assert "SmartFintech, Netopia Payments" in answer.quotes[0].quote


def test_the_partners_question_quotes_the_partner_list(engine):
    answer = retrieval.ask(engine, "cui partajați datele mele?", k=3)
    top = answer.quotes[0]
    assert not answer.abstained
    assert top.citation == "Partajarea datelor › Cum partajăm informații?"
    assert "C&C Financial Services SRL" in top.quote


@pytest.mark.parametrize("question, missing", [
    ("Cât timp păstrați datele mele?", "cât timp sunt păstrate datele"),
    ("cum depun o plangere la ANSPDCP?", "plângere"),
])
def test_uncovered_privacy_questions_name_what_the_policy_does_not_say(engine, question, missing):
    answer = retrieval.ask(engine, question)
    assert answer.abstained and answer.reason == "uncovered"
    assert answer.message.startswith("Politica de confidențialitate nu spune") and missing in answer.message
    assert answer.contact_line.startswith("Nu ați găsit răspunsul?")


def test_onedu_coverage_map(engine):
    entries = {e.topic: e for e in coverage_map(engine)}
    for missing in ("retention", "dpo", "rights", "complaint"):
        assert not entries[missing].covered, missing
    for covered in ("sharing", "security", "legal_requests", "marketing"):
        assert entries[covered].covered and entries[covered].best_sentence, covered


@pytest.mark.parametrize("typed", ["cui partajati datele mele", "CUI PARTAJAȚI DATELE MELE?",
                                   "cui partajaţi datele mele?"])
def test_diacritics_case_and_cedilla_do_not_change_the_answer(engine, typed):
    reference = engine.retrieve("cui partajați datele mele?")
    other = engine.retrieve(typed)
    assert other.hits[0].section == reference.hits[0].section


@pytest.mark.parametrize("question", ["Care e rețeta de clătite?", "xyzzy 123", "What is the capital of France?"])
def test_off_topic_questions_abstain_but_still_show_candidates(engine, question):
    answer = retrieval.ask(engine, question, k=3)
    assert answer.abstained and len(answer.quotes) == 3


def test_quotes_are_slices_of_their_sections(engine, shipped_evaluation):
    questions, _ = shipped_evaluation
    sections = {(s.source, s.anchor): s for s in engine.index.sections}
    for question in questions[::4]:
        for quote in retrieval.ask(engine, question.question, k=3).quotes:
            section = sections[(quote.source, quote.anchor)]
            assert [section.text[a:b] for a, b in quote.spans] == quote.quote.splitlines()


def test_bad_questions_are_clear_errors(engine):
    with pytest.raises(retrieval.QuestionError, match="goală"):
        retrieval.ask(engine, "   ")
    with pytest.raises(retrieval.QuestionError, match="prea lungă"):
        retrieval.ask(engine, "date " * 20_000)
    for k in ("3", 2.5, None, 0):
        with pytest.raises(retrieval.QuestionError):
            retrieval.ask(engine, "cui partajați datele?", k=k)  # type: ignore[arg-type]


def test_reply_text_is_ready_to_paste(engine):
    answer = retrieval.ask(engine, "cum mă dezabonez de la newsletter?", k=1)
    text = answer.reply_text()
    assert "(Utilizarea datelor › Pentru a comunica cu dvs.)" in text
    assert "dezabonare" in text or "Unsubscribe" in text
    assert not text.startswith("> ")


@pytest.mark.parametrize("policy, question, lead", [
    # eval/fresh8 (measured once blind, then read): the line that answers leads
    ("asmi-caravana", "la ce adresa fizica se afla asociatia care imi prelucreaza emailul?", "Str. Regina Elisabeta"),
    ("primaria-floresti-stoenesti", "Dacă cineva fură datele mele de la primărie și există risc de furt de "
     "identitate, sunt anunțat?", "vă vom contacta fără întârzieri nejustificate"),
    ("eusurvey", "Am răspuns la un chestionar făcut de o firmă pe EUSurvey; Comisia răspunde de ce face firma cu "
     "răspunsurile mele?", "Comisia nu este responsabilă de politicile"),
    # eval/fresh6 (read): "anulez consimțământul" is the page's "acord … revocat"
    ("asmi-caravana", "M-am răzgândit și nu mai vreau să-mi folosiți datele, cum îmi anulez consimțământul?",
     "Orice acord dat poate fi revocat în orice moment"),
    ("cosmomarket", "Ce firma anume se ocupa de informatiile mele personale cand cumpar de pe site?",
     "Operatorul responsabil pentru prelucrarea datelor"),
    # eval/fresh9, fresh10 (read): "viruși" is the page's "antivirus" (asked in three blind sets)
    ("dentocare", "Cum va protejati calculatoarele de virusi si de atacuri?", "soluții antivirus"),
    ("sintezaur", "Pot să descarc tot ce aveți despre mine într-un fișier, ca să mut informațiile în altă parte?",
     "Portabilitate"),
    # each asked in three or four blind sets
    ("dentocare", "Trimiteți datele mele de pacient în afara Uniunii Europene?", "strict de natură comercială"),
    ("sintezaur", "Dupa ce imi sterg contul mai pastrati ceva din datele mele?", "30 de zile (recuperare)"),
    ("asmi-caravana", "Pot să pun o întrebare despre admitere fără să-mi las adresa de mail?",
     "nu vă vom putea răspunde"),
])
def test_the_line_that_answers_leads_on_real_policies(policy_engines, policy, question, lead):
    answer = retrieval.ask(policy_engines[policy], question, k=3)
    assert not answer.abstained and lead in answer.quotes[0].quote


@pytest.mark.parametrize("policy, question, missing", [
    # eval/fresh8: the nearest paragraph (refusing cookies, encrypted passwords) had been quoted
    ("cosmomarket", "Cat timp raman salvate cookie-urile voastre pe calculatorul meu?", "cât timp rămân cookie-urile"),
    ("sintezaur", "Mesajele private pe care le trimit altor utilizatori le puteți citi voi sau sunt criptate?",
     "mesajele private"),
    # eval/fresh3 (read): a policy that gives its street but no e-mail address
    ("cosmomarket", "La ce adresă de e-mail trimit cererea ca să-mi exercit drepturile de persoană vizată?",
     "la ce adresă de e-mail"),
    ("eusurvey", "Înregistrați adresa IP a celor care răspund la sondaje?", "adresa IP"),
    ("sintezaur", "Pot moderatorii Sintezaur sa citeasca mesajele private pe care le trimit altor utilizatori?",
     "mesajele private"),
])
def test_a_detail_the_policy_does_not_give_is_said_on_real_policies(policy_engines, policy, question, missing):
    answer = retrieval.ask(policy_engines[policy], question, k=3)
    assert answer.abstained and answer.reason == "uncovered" and missing in answer.message


@pytest.mark.parametrize("question", ["Dați datele mele la poliție sau la tribunal dacă vi le cer?",
                                      "Daca politia sau un tribunal va cere datele mele, le dati?"])
def test_the_police_question_quotes_the_court_orders(engine, question):
    """Asked in three blind sets (fresh, fresh5, fresh8): "tribunal" is the page's "hotărâri judecătorești"."""
    answer = retrieval.ask(engine, question, k=3)
    assert not answer.abstained and "mandate de percheziție, hotărâri judecătorești" in answer.quotes[0].quote


@pytest.mark.parametrize("question", ["Cine se ocupa de plati cand cumpar ceva prin produsele ONedu?",
                                      "Folosiți Google Analytics sau Facebook Pixel pe platformele voastre?"])
def test_onedu_names_its_providers(engine, question):
    """eval/fresh9 and fresh10 (read): both were declined (off-topic; "nu spune … cookie-uri") though the
    partners list answers them."""
    answer = retrieval.ask(engine, question, k=3)
    assert not answer.abstained and "Parteneri și terți cu care partajăm informații" in answer.quotes[0].quote
