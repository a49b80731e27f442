"""Evaluation: question-set format, matching, metrics, several policies; real-model runs are slow."""
import json

import pytest

from conftest import CORPUS, DATA, QUESTIONS, ROOT, SHARED_POLICIES
from retrieval.errors import RetrievalError
from retrieval.evaluation import (
    Evaluation,
    PolicyRun,
    Question,
    Result,
    combined_summary,
    contains_phrase,
    evaluate,
    first_match,
    load_questions,
    parse_question,
    parse_questions,
    policy_folders,
    select_split,
    summarize,
)
from retrieval.pages import load_corpus
from retrieval.text import fold_key

close = dict(abs=1e-4)


def test_malformed_lines_are_named_and_the_rest_still_parse():
    lines = [
        '{"id": "1", "question": "cum protejati datele?", "expected_sections": ["Cum protejăm informațiile?"], '
        '"answerable": true}',
        "{nu e json",
        '{"id": "3", "question": "x", "answerable": true}',
        "",
        '{"id": "5", "question": "rețete?", "expected_sections": [], "answerable": false, "nota": "ignorat"}',
        '{"id": "6", "question": "a", "expected_sections": [], "answerable": "da"}',
        '{"id": "7", "question": "a", "expected_sections": [], "answerable": true}',
        '["o listă"]',
        '{"id": "9", "question": "  ", "expected_sections": [], "answerable": false}',
    ]
    questions, errors = parse_questions(lines)
    assert [q.id for q in questions] == ["1", "5"]
    assert questions[1].extra == {"nota": "ignorat"}
    assert [e.line for e in errors] == [2, 3, 6, 7, 8, 9]
    assert "JSON invalid" in errors[0].message and "expected_sections" in errors[1].message
    assert "cel puțin o secțiune" in errors[3].message and "obiect JSON" in errors[4].message
    assert str(errors[2]).startswith("linia 6:")


def test_missing_or_non_utf8_question_file_is_a_clear_error(tmp_path):
    with pytest.raises(RetrievalError, match="nu există"):
        load_questions(tmp_path / "lipsa.jsonl")
    (tmp_path / "q.jsonl").write_bytes("întrebare".encode("utf-16"))
    with pytest.raises(RetrievalError, match="UTF-8"):
        load_questions(tmp_path / "q.jsonl")


def question(**extra) -> Question:
    return parse_question(json.dumps({"id": "x", "question": "q?", "expected_sections": ["A"], "answerable": True,
                                      **extra}))


@pytest.mark.parametrize("extra, kind", [
    ({"kind": "uncovered"}, "uncovered"), ({"kind": "uncovered-rights"}, "uncovered"),
    ({"kind": "offtopic"}, "offtopic"), ({"style": "off-topic"}, "offtopic"), ({"kind": "gibberish"}, "offtopic"),
    ({"style": "nodiac"}, "nodiac"), ({}, ""),
])
def test_question_kind(extra, kind):
    assert question(**extra).kind == kind


def test_question_split_is_the_sets_label_else_a_stable_half():
    assert question(split="test").split == "test" and question(split="dev").split == "dev"
    ids = [f"q{n}" for n in range(200)]
    halves = [parse_question(json.dumps({"id": i, "question": "q", "expected_sections": ["A"],
                                         "answerable": True})).split for i in ids]
    assert set(halves) == {"dev", "test"} and 60 < halves.count("dev") < 140
    assert halves == [Question(i, "q", ["A"], True).split for i in ids], "stable: the id alone decides"
    questions = [question(split="dev"), question(split="test")]
    assert select_split(questions, "dev") == questions[:1] and select_split(questions, "all") == questions
    assert select_split(questions, None) == questions


def test_answer_phrases_ignore_blanks_and_non_strings():
    assert question(answer_phrases=["a", " ", 3, "b"]).answer_phrases == ["a", "b"]
    assert question(answer_phrases="a").answer_phrases == [] and question().answer_phrases == []


def test_section_titles_match_ignoring_case_space_diacritics_and_emphasis():
    assert first_match(["  cum protejam INFORMATIILE? "], ["Altceva", "Cum protejăm informațiile?"]) == 2
    assert first_match(["**Date pe care NU le colectăm**"], ["Date pe care nu le colectam"]) == 1
    assert first_match(["Pentru a comunica cu dvs."], ["Altceva"]) is None


def test_phrases_are_found_ignoring_case_diacritics_spacing_and_emphasis():
    quote = "- furnizorii de servicii de plată:   SmartFintech, Netopia Payments"
    assert contains_phrase(quote, ["Furnizorii de servicii de plata: smartfintech"])
    assert contains_phrase(quote, ["nimic", "**Netopia** Payments"])
    assert not contains_phrase(quote, ["PayPal"])


def results():
    return [
        Result("a", "q", ["A"], True, False, ["A", "B"], 1, 10.0, quotes=[{"citation": "A", "quote": "x" * 100}],
               answer_in_first=True, answer_in_any=True),
        Result("b", "q", ["B"], True, False, ["A", "B"], 2, 20.0, quotes=[{"citation": "A", "quote": "y" * 50},
                                                                           {"citation": "B", "quote": "z" * 30}],
               answer_in_first=False, answer_in_any=True),
        Result("c", "q", ["A"], True, True, ["A", "B"], 1, 30.0, answer_in_first=False, answer_in_any=False),
        Result("d", "q", [], False, True, ["A", "B"], None, 40.0, kind="uncovered"),
        Result("e", "q", [], False, False, ["B", "A"], None, 50.0, kind="offtopic",
               quotes=[{"citation": "B", "quote": "w" * 10}]),
    ]


def test_metrics_count_an_abstained_answerable_question_as_a_miss():
    s = summarize(results(), ["A", "B", "C"], k=2)
    assert (s["questions"], s["answerable"], s["unanswerable"], s["k"]) == (5, 3, 2, 2)
    assert s["hit@1"] == pytest.approx(1 / 3, **close) and s["hit@3"] == pytest.approx(2 / 3, **close)
    assert s["mrr"] == pytest.approx((1 + 0.5) / 3, **close)
    assert s["abstention_precision"] == 0.5 and s["abstention_recall"] == 0.5
    assert s["answerable_abstained"] == pytest.approx(1 / 3, **close)
    assert s["uncovered_abstained"] == 1.0 and s["offtopic_abstained"] == 0.0
    assert {c["section"]: c["questions_reaching"] for c in s["coverage"]} == {"A": 1, "B": 0, "C": 0}
    assert {c["section"]: c["questions_expecting"] for c in s["coverage"]} == {"A": 2, "B": 1, "C": 0}
    assert s["unreached_sections"] == ["B", "C"]


def test_metrics_of_what_the_user_sees():
    s = summarize(results(), ["A", "B"], k=2)
    assert s["answer_in_first_quote"] == pytest.approx(1 / 3, **close)
    assert s["answer_in_any_quote"] == pytest.approx(2 / 3, **close)
    assert s["first_quote_chars"] == pytest.approx((100 + 50 + 10) / 3, abs=0.1)
    assert s["answer_chars"] == pytest.approx((100 + 80 + 10) / 3, abs=0.1)
    assert s["latency_ms_p50"] == 30.0


def test_empty_groups_have_no_figure_rather_than_zero():
    s = summarize([Result("a", "q", ["A"], True, False, ["A"], 1, 5.0)], ["A"], k=1)
    for key in ("abstention_precision", "abstention_recall", "uncovered_abstained", "offtopic_abstained",
                "answer_in_first_quote", "first_quote_chars"):
        assert s[key] is None, key


def test_failures_are_misses_and_wrong_answers():
    evaluation = Evaluation({}, results(), [])
    assert [r.id for r in evaluation.failures] == ["b", "c", "e"]


def test_combined_summary_pools_every_policys_questions():
    one = Evaluation({}, results()[:2], [])
    two = Evaluation({}, results()[2:], [])
    overall = combined_summary([PolicyRun("unu", one), PolicyRun("doi", two)], k=3)
    assert overall["policies"] == 2 and overall["questions"] == 5 and overall["k"] == 3
    assert overall["hit@1"] == summarize(results(), [], 3)["hit@1"]
    assert "coverage" not in overall and "unreached_sections" not in overall


def test_policy_folders_are_subfolders_with_pages_and_questions(tmp_path):
    for name, pages, questions in [("b", True, True), ("a", True, True), ("fara-intrebari", True, False),
                                   ("fara-pagini", False, True)]:
        (tmp_path / name).mkdir()
        if pages:
            (tmp_path / name / "pages").mkdir()
        if questions:
            (tmp_path / name / "questions.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "fisier.jsonl").write_text("", encoding="utf-8")
    assert [p.name for p in policy_folders(tmp_path)] == ["a", "b"]


def test_evaluate_keeps_k_sections_but_measures_hit_at_5(fake_engine):
    questions, _ = load_questions(QUESTIONS)
    evaluation = evaluate(fake_engine, questions[:20], k=2)
    assert len(evaluation.results) == 20
    assert all(len(r.retrieved_sections) <= 2 for r in evaluation.results)
    assert all(r.rank is None or r.rank <= 2 for r in evaluation.results)
    summary = evaluation.summary
    assert summary["k"] == 2 and summary["hit@1"] <= summary["hit@3"] <= summary["hit@5"]
    assert [c["section"] for c in summary["coverage"]] == [s.title for s in fake_engine.index.sections]
    data = evaluation.to_json()
    assert "latency_ms" not in data["results"][0] and "error" not in data["results"][0]
    assert all(len(r["quotes"]) <= 3 for r in data["results"])


def test_evaluate_reports_progress_and_a_bad_question_as_an_error_result(fake_engine):
    calls = []
    questions = [Question("ok", "cui partajați datele?", ["Cum partajăm informații?"], True),
                 Question("gol", "   ", [], False)]
    evaluation = evaluate(fake_engine, questions, k=3, progress=lambda n, total: calls.append((n, total)))
    assert calls == [(1, 2), (2, 2)]
    bad = evaluation.results[1]
    assert bad.abstained and bad.error and "goală" in bad.error


def test_shipped_set_covers_every_section_several_times():
    questions, errors = load_questions(QUESTIONS)
    assert not errors
    titles = {fold_key(s.title) for p in load_corpus(CORPUS) for s in p.sections}
    for title in titles:
        assert sum(title in {fold_key(x) for x in q.expected_sections} for q in questions) >= 5, title
    assert all(fold_key(x) in titles for q in questions for x in q.expected_sections)
    assert sum(not q.answerable for q in questions) >= 15


@pytest.mark.parametrize("path", sorted((ROOT / "eval" / "policies").glob("*.jsonl"))
                         + sorted((ROOT / "eval").glob("fresh*/*/questions.jsonl")),
                         ids=lambda p: p.stem if p.stem != "questions" else f"{p.parent.parent.name}-{p.parent.name}")
def test_extra_question_sets_parse_and_name_real_sections(path):
    questions, errors = load_questions(path)
    assert questions and not errors
    slug = path.parent.name if path.stem == "questions" else path.stem
    pages = CORPUS if slug == "onedu" else SHARED_POLICIES / slug / "pages"
    if not pages.is_dir():
        pytest.skip(f"no pages for {path.stem} at {pages}")
    titles = {fold_key(s.title) for p in load_corpus(pages) for s in p.sections}
    assert not [t for q in questions for t in q.expected_sections if fold_key(t) not in titles]


@pytest.mark.slow
def test_eval_cli_prints_the_figures_for_real(run_cli, shipped_index):
    result = run_cli("eval", str(QUESTIONS), "--index", str(shipped_index))
    assert result.returncode == 0, result.stderr
    for label in ("hit@1", "hit@3", "hit@5", "MRR", "abținere: precizie", "latență p50 / p95",
                  "Acoperire pe secțiuni"):
        assert label in result.stdout


@pytest.mark.slow
def test_another_corpus_and_question_set_need_no_code_change(shipped_index, tmp_path):
    import shutil

    import retrieval

    index = tmp_path / "club-index"
    shutil.copytree(shipped_index / "cache", index / "cache")
    retrieval.build(DATA / "club_corpus", index)
    questions, errors = load_questions(DATA / "club_questions.jsonl")
    evaluation = evaluate(retrieval.open_engine(index), questions, k=5, errors=errors)
    summary = evaluation.summary
    assert summary["questions"] == 7
    assert {"Fotografii", "Restituiri", "Cât timp păstrăm datele"} <= {c["section"] for c in summary["coverage"]}
    by_id = {r.id: r for r in evaluation.results}
    # Every answerable question finds its section first, even "Restituiri" (a bold sub-heading on another page).
    assert all(r.rank == 1 for r in evaluation.results if r.answerable), [(r.id, r.retrieved_sections[:2])
                                                                         for r in evaluation.results]
    # The privacy questions are answered. (c4-c6 ask about fees, refunds and ratings: a privacy engine may
    # decline those as off-topic, and shows the section it would have quoted.)
    assert not any(by_id[i].abstained for i in ("c1", "c2", "c3"))
    assert by_id["c7"].abstained is True
