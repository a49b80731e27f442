"""Coverage evaluation: question-set format, metrics, CLI, HTML report, another corpus."""
import json

import pytest

from retrieval.evaluation import Result, first_match, parse_questions, summarize

from conftest import DATA, QUESTIONS


def test_malformed_lines_are_named_and_the_rest_still_parse():
    lines = [
        '{"id": "1", "question": "cum protejati datele?", "expected_sections": ["Cum protejăm informațiile?"], "answerable": true}',
        "{nu e json",
        '{"id": "3", "question": "x", "answerable": true}',
        "",
        '{"id": "5", "question": "rețete?", "expected_sections": [], "answerable": false, "nota": "ignorat"}',
        '{"id": "6", "question": "a", "expected_sections": [], "answerable": "da"}',
    ]
    questions, errors = parse_questions(lines)
    assert [q.id for q in questions] == ["1", "5"]
    assert questions[1].extra == {"nota": "ignorat"}
    assert [e.line for e in errors] == [2, 3, 6]
    assert "JSON invalid" in errors[0].message and "expected_sections" in errors[1].message
    assert str(errors[2]).startswith("linia 6:")


def test_section_titles_match_ignoring_case_space_and_diacritics():
    assert first_match(["  cum protejam INFORMATIILE? "], ["Altceva", "Cum protejăm informațiile?"]) == 2
    assert first_match(["Pentru a comunica cu dvs."], ["Altceva"]) is None


def test_metrics_count_an_abstained_answerable_question_as_a_miss():
    results = [
        Result("a", "q", ["A"], True, False, ["A", "B"], 1, 10.0),
        Result("b", "q", ["B"], True, False, ["A", "B"], 2, 20.0),
        Result("c", "q", ["A"], True, True, ["A", "B"], 1, 30.0),
        Result("d", "q", [], False, True, ["A", "B"], None, 40.0),
        Result("e", "q", [], False, False, ["B", "A"], None, 50.0),
    ]
    s = summarize(results, ["A", "B", "C"], k=2)
    close = dict(abs=1e-4)
    assert s["hit@1"] == pytest.approx(1 / 3, **close) and s["hit@3"] == pytest.approx(2 / 3, **close)
    assert s["mrr"] == pytest.approx((1 + 0.5) / 3, **close)
    assert s["abstention_precision"] == 0.5 and s["abstention_recall"] == 0.5
    assert s["answerable_abstained"] == pytest.approx(1 / 3, **close)
    assert {c["section"]: c["questions_reaching"] for c in s["coverage"]} == {"A": 1, "B": 0, "C": 0}
    assert s["unreached_sections"] == ["B", "C"]


def test_shipped_set_covers_every_section_several_times(engine):
    from retrieval.evaluation import load_questions
    from retrieval.text import fold_key

    questions, errors = load_questions(QUESTIONS)
    assert not errors
    titles = {fold_key(s.title) for s in engine.index.sections}
    for title in titles:
        assert sum(title in {fold_key(x) for x in q.expected_sections} for q in questions) >= 5, title
    assert all(fold_key(x) in titles for q in questions for x in q.expected_sections)
    assert sum(not q.answerable for q in questions) >= 15


def test_eval_cli_prints_the_figures(run_cli, shipped_index):
    result = run_cli("eval", str(QUESTIONS), "--index", str(shipped_index))
    assert result.returncode == 0, result.stderr
    for label in ("hit@1", "hit@3", "hit@5", "MRR", "abținere: precizie", "abținere: recall", "latență p50 / p95",
                  "Acoperire pe secțiuni", "Întrebări ratate"):
        assert label in result.stdout


def test_eval_cli_json_and_report(run_cli, shipped_index, tmp_path):
    report = tmp_path / "raport.html"
    result = run_cli("eval", str(QUESTIONS), "--index", str(shipped_index), "--k", "3", "--json",
                     "--report", str(report))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"hit@1", "hit@3", "hit@5", "mrr", "abstention_precision", "abstention_recall", "coverage",
            "unreached_sections", "latency_ms_p50", "latency_ms_p95"} <= set(data["summary"])
    first = data["results"][0]
    assert set(first) == {"id", "question", "expected_sections", "answerable", "abstained", "retrieved_sections", "rank"}
    assert all(len(r["retrieved_sections"]) == 3 for r in data["results"])
    assert any(r["abstained"] and r["retrieved_sections"] for r in data["results"])
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and 'id="failures"' in html and "http" not in html.replace('http://www.w3.org/2000/svg', '')


def test_a_malformed_line_is_reported_and_the_rest_run(run_cli, shipped_index, tmp_path):
    questions = tmp_path / "q.jsonl"
    good = QUESTIONS.read_text(encoding="utf-8").splitlines()[:3]
    questions.write_text("\n".join([good[0], "{stricat", *good[1:]]) + "\n", encoding="utf-8")
    result = run_cli("eval", str(questions), "--index", str(shipped_index), "--json")
    assert result.returncode == 1
    assert "linia 2" in result.stderr and "Traceback" not in result.stderr
    assert len(json.loads(result.stdout)["results"]) == 3


def test_another_corpus_and_question_set_need_no_code_change(run_cli, tmp_path):
    index = tmp_path / "club-index"
    built = run_cli("build", "--corpus", str(DATA / "club_corpus"), "--index", str(index))
    assert built.returncode == 0, built.stderr
    result = run_cli("eval", str(DATA / "club_questions.jsonl"), "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["questions"] == 7
    assert data["summary"]["hit@3"] >= 0.8
    sections = {c["section"] for c in data["summary"]["coverage"]}
    assert {"Fotografii", "Restituiri", "Cât timp păstrăm datele"} <= sections
    assert next(r for r in data["results"] if r["id"] == "c7")["abstained"] is True
