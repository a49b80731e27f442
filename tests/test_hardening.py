"""Issue 10, point by point: each bad input or fault reproduced, and what it gets now (docs/hardening.md).

Fast tier: the fake model (tests/conftest.py). The few that need the real model or a
real subprocess are marked slow.
"""
from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import retrieval
from conftest import CORPUS, FAKE_MODEL, ROOT, build_fake
from retrieval.errors import BrokenIndexError, CorpusError, IndexWriteError, QuestionError
from retrieval.evaluation import (
    MAX_LINE_CHARS,
    MAX_QUESTIONS,
    evaluate,
    load_questions,
    parse_questions,
    split_lines,
)
from retrieval.pages import MAX_HEADING_CHARS, load_corpus, parse_page
from retrieval.store import MANIFEST, PENDING, file_checksums, load_index, read_manifest

GOOD = {"id": "q1", "question": "cui partajați datele mele?", "expected_sections": ["Cum partajăm informații?"],
        "answerable": True}


def line(**changes) -> str:
    return json.dumps({**GOOD, **changes}, ensure_ascii=False)


def assert_one_error_line(result, fragment: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert lines and lines[-1].startswith("Eroare:") and fragment in lines[-1], result.stderr


def edit_manifest(index: Path, **changes) -> None:
    path = index / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def reseal(index: Path) -> None:
    """Record the generation's files as they are now, as if a build had written them so."""
    edit_manifest(index, files=file_checksums(index / read_manifest(index)["generation"]))


def leftovers(index: Path) -> list[str]:
    return sorted(p.name for p in index.iterdir() if p.name.startswith((".building-", PENDING, ".manifest")))


# ---- 1. page headings rendered as Markdown on the Evaluare page ----------------------------------------------


@pytest.mark.slow   # fake model, but a whole AppTest run of two pages: seconds
def test_1_section_titles_in_the_evaluare_warning_are_escaped(fake_embedder, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    # Code spans keep their text literally: the section title is the Markdown source itself.
    hostile = "Poze `![i](http://evil.example/x.png)` `[link](http://evil.example)` `**gras**`"
    (corpus / "zz.md").write_text(f"---\ntitle: Altele\n---\n# {hostile}\nNimeni nu întreabă asta.\n",
                                  encoding="utf-8")
    build_fake(corpus, tmp_path / "index")
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(corpus))
    from webapp.access import STAFF

    monkeypatch.setenv("PRIVACY_STAFF_TOKEN", "un-jeton-de-test-destul-de-lung")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[STAFF] = True     # Evaluare is a staff page (issue 11)
    at.run()
    at.switch_page("webapp/eval_page.py").run()
    at.radio[0].set_value("Un fișier încărcat").run()
    unknown = line(id="q2", expected_sections=["Nu există ![x](http://evil.example/y.png)"])
    at.file_uploader[0].set_value(("set.jsonl", f"{line()}\n{unknown}".encode(), "application/jsonl")).run()
    next(b for b in at.button if b.label == "Rulează evaluarea").click().run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    unreached = next(w for w in warnings if w.startswith("Secțiuni pe care nicio"))
    assert r"\!\[i\]\(http" in unreached and r"\*\*gras\*\*" in unreached
    assert "![i](" not in unreached and "[link](" not in unreached
    missing = next(w for w in warnings if w.startswith("Secțiuni așteptate care nu există"))
    assert "![x](" not in missing and r"\!\[x\]" in missing


# ---- 2. lone surrogates --------------------------------------------------------------------------------------


@pytest.fixture
def strict_model(fake_embedder, monkeypatch):
    """The fake model, encoding what it reads to UTF-8 as the real one does (a lone surrogate raises there)."""
    seen: list[str] = []
    embed = fake_embedder.embed_queries

    def embed_queries(texts):
        for text in texts:
            text.encode("utf-8")
            seen.append(text)
        return embed(texts)

    monkeypatch.setattr(fake_embedder, "embed_queries", embed_queries)
    return seen


def test_2_a_lone_surrogate_in_a_question_reaches_the_model_as_a_replacement_character(fake_engine, strict_model):
    answer = retrieval.ask(fake_engine, "cui partajați \ud800 datele?\udcff")
    assert "\ufffd" in strict_model[-1] and "\ud800" not in answer.question
    json.dumps(answer.to_json(), ensure_ascii=False).encode("utf-8")   # writable as UTF-8


def test_2_one_surrogate_line_does_not_end_the_eval_run(fake_engine, strict_model, tmp_path):
    path = tmp_path / "set.jsonl"
    surrogates = json.dumps({**GOOD, "question": "date \ud800 personale", "id": "\udcff"})  # "\\ud800" in JSON
    path.write_text(f"{surrogates}\n{line(id='q2')}\n", encoding="utf-8")
    questions, errors = load_questions(path)
    assert len(questions) == 2 and not errors
    evaluation = evaluate(fake_engine, questions)
    assert [r.error for r in evaluation.results] == [None, None]
    json.dumps(evaluation.to_json(), ensure_ascii=False).encode("utf-8")


def test_2_undecodable_bytes_in_argv_are_answered(cli, fake_index, strict_model):
    result = cli("ask", "date \udcff personale", "--index", str(fake_index))   # what Python makes of b"\xff"
    assert result.returncode == 0, result.stderr
    assert "\udcff" not in result.stdout


@pytest.mark.slow
def test_2_undecodable_argv_with_the_real_model(shipped_index):
    done = subprocess.run([sys.executable.encode(), b"-m", b"retrieval", b"ask", b"date \xff personale",
                           b"--index", str(shipped_index).encode()], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr


# ---- 3. deeply nested JSONL -----------------------------------------------------------------------------------


def test_3_a_deeply_nested_line_is_one_error_and_the_others_run():
    questions, errors = parse_questions([line(), "[" * 9_000 + "]" * 9_000, line(id="q3")])
    assert [q.id for q in questions] == ["q1", "q3"]
    assert [(e.line, e.message) for e in errors] == [(2, "JSON imbricat prea adânc")]


# ---- 5. size limits in the corpus --------------------------------------------------------------------------


def test_5_a_200kb_line_is_refused_naming_file_and_line():
    raw = "---\ntitle: T\n---\n# Poze\nText.\n![x](data:image/png;base64," + "A" * 200_000 + ")\n"
    with pytest.raises(CorpusError, match=r"^poze\.md, linia 6: rând prea lung"):
        parse_page(raw, "poze.md")


def test_5_a_100kb_heading_is_refused_naming_file_and_line():
    for words, why in ((15_000, "rând prea lung"), (1_000, "titlu prea lung")):   # 100 KB, then 7 KB
        raw = "---\ntitle: T\n---\nText.\n\n" + "# " + "cuvânt " * words + "\nText.\n"
        with pytest.raises(CorpusError, match=rf"^lung\.md, linia 6: {why}"):
            parse_page(raw, "lung.md")
    parse_page("# " + "a" * (MAX_HEADING_CHARS - 2) + "\ntext\n", "ok.md")   # at the limit: fine


def test_5_a_yaml_alias_bomb_is_refused_at_once():
    layers = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
    raw = "---\n" + "\n".join(layers) + "\ntitle: *i\n---\n# H\ntext\n"   # 9^9 strings as a title
    started = time.perf_counter()
    with pytest.raises(CorpusError, match="aliasurilor"):
        parse_page(raw, "bomba.md")
    assert time.perf_counter() - started < 1.0


def test_5_a_self_referencing_or_deep_front_matter_is_a_clear_error():
    for front in ("a: &a [*a]", "title: " + "[" * 800):
        with pytest.raises(CorpusError, match="antetul YAML"):
            parse_page(f"---\n{front}\n---\ntext\n", "p.md")


def test_5_a_huge_page_is_refused_before_it_is_read(tmp_path):
    (tmp_path / "mare.md").write_text("# H\n" + "Un rând de text obișnuit.\n" * 30_000, encoding="utf-8")
    with pytest.raises(CorpusError, match=r"^mare\.md: pagina este prea mare"):
        load_corpus(tmp_path)


def test_5_build_stops_with_one_line_naming_the_page(cli, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.md").write_text("# H\n" + "x" * 200_000 + "\n", encoding="utf-8")
    result = cli("build", "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i"), "--model", FAKE_MODEL)
    assert_one_error_line(result, "a.md, linia 2: rând prea lung")


# ---- 6. silent index corruption -----------------------------------------------------------------------------


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_6_flipped_bytes_inside_the_vectors_mean_a_rebuild_not_a_wrong_answer(cli, fake_embedder, tiny_corpus,
                                                                               tmp_path):
    index = tmp_path / "index"
    build_fake(tiny_corpus, index)
    path = index / read_manifest(index)["generation"] / "chunks.npy"
    flip(path, path.stat().st_size - 10)        # inside the vectors: numpy still reads the file
    assert "chunks.npy" in retrieval.index_status(index, tiny_corpus)
    result = cli("build", "--if-needed", "--corpus", str(tiny_corpus), "--index", str(index), "--model", FAKE_MODEL)
    assert result.returncode == 0 and "la zi" not in result.stdout and "chunks.npy" in result.stderr
    assert retrieval.index_status(index, tiny_corpus) is None
    with pytest.raises(BrokenIndexError, match="deteriorat"):   # and load itself checks too
        flip(index / read_manifest(index)["generation"] / "units.npy", -5)
        load_index(index)


# ---- 7. file-system faults ---------------------------------------------------------------------------------


def test_7_build_on_a_read_only_folder_is_one_line(cli, fake_embedder, tiny_corpus, tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "index"))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)   # root ignores chmod: the fault is injected
    result = cli("build", "--corpus", str(tiny_corpus), "--index", str(tmp_path / "index"), "--model", FAKE_MODEL)
    assert_one_error_line(result, "doar pentru citire")
    assert not leftovers(tmp_path / "index")


def test_7_a_full_disk_mid_build_leaves_the_old_index_and_nothing_half_written(cli, fake_index, corpus_copy,
                                                                              monkeypatch):
    import retrieval.indexing

    before = read_manifest(fake_index)
    (corpus_copy / "nou.md").write_text("# Nou\nAltceva.\n", encoding="utf-8")
    real = retrieval.indexing.write_records

    def full(path, records):
        real(path, records)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(retrieval.indexing, "write_records", full)
    result = cli("build", "--corpus", str(corpus_copy), "--index", str(fake_index), "--model", FAKE_MODEL)
    assert_one_error_line(result, "discul este plin")
    assert read_manifest(fake_index) == before and not leftovers(fake_index)
    assert [p.name for p in fake_index.glob("gen-*")] == [before["generation"]]


def test_7_a_full_disk_while_publishing_leaves_no_temporary_manifest(fake_embedder, tiny_corpus, tmp_path,
                                                                    monkeypatch):
    build_fake(tiny_corpus, tmp_path)
    before = read_manifest(tmp_path)
    real_fsync = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(IndexWriteError, match="discul este plin"):
        build_fake(tiny_corpus, tmp_path)
    assert read_manifest(tmp_path) == before and not leftovers(tmp_path)
    assert load_index(tmp_path).sections


def test_7_eval_report_onto_a_full_disk_is_one_line_and_leaves_no_tmp(cli, fake_index, tmp_path, monkeypatch):
    questions = tmp_path / "q.jsonl"
    questions.write_text(line() + "\n", encoding="utf-8")
    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.endswith(".tmp"):
            real(self, "")   # the file is created, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    result = cli("eval", str(questions), "--index", str(fake_index), "--report", str(tmp_path / "r.html"))
    assert_one_error_line(result, "discul este plin")
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp")) and not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_7_eval_report_past_the_file_size_limit_for_real(shipped_index, tmp_path):
    """A real process whose writes fail (RLIMIT_FSIZE: the kernel refuses past 4 KB, as a full disk would)."""
    questions = tmp_path / "q.jsonl"
    questions.write_text(line() + "\n", encoding="utf-8")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4_000, 4_000))

    done = subprocess.run([sys.executable, "-m", "retrieval", "eval", str(questions), "--index", str(shipped_index),
                           "--report", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=300,
                          preexec_fn=limit)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip().splitlines()[-1].startswith("Eroare:")
    assert not list(tmp_path.glob(".*tmp")) and not (tmp_path / "r.html").exists()


# ---- 8. index files that parse but do not agree ----------------------------------------------------------


def damage_generation_type(index: Path) -> None:
    edit_manifest(index, generation=12)


def damage_manifest_folder(index: Path) -> None:
    (index / MANIFEST).unlink()
    (index / MANIFEST).mkdir()


def damage_generation_path(index: Path) -> None:
    edit_manifest(index, generation="../../etc")


def records_edit(name: str, change, owners: str | None = None):
    """Rewrite one records file (and its owner-id array, when the change is an owner id), then reseal."""
    def damage(index: Path) -> None:
        from retrieval.records import write_records

        folder = index / read_manifest(index)["generation"]
        path = folder / name
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        change(rows)
        write_records(path, rows)
        if owners is not None:
            np.save(folder / owners, np.array([r["section"] for r in rows], np.int32))
        reseal(index)
    return damage


def bm25_out_of_range(index: Path) -> None:
    path = index / read_manifest(index)["generation"] / "bm25" / "indices.csc.index.npy"
    ids = np.load(path)
    ids[0] = 10_000
    np.save(path, ids)
    reseal(index)


DAMAGES = {
    "generation of the wrong type": damage_generation_type,
    "generation outside the index": damage_generation_path,
    "manifest.json is a folder": damage_manifest_folder,
    "empty sections": records_edit("sections.jsonl", lambda rows: rows.clear()),
    "a section with no text": records_edit("sections.jsonl", lambda rows: rows[0].update(text="  ")),
    "chunk section id out of range": records_edit("chunks.jsonl", lambda rows: rows[0].update(section=999),
                                                  "chunk_section.npy"),
    "unit section id out of range": records_edit("units.jsonl", lambda rows: rows[0].update(section=-1),
                                                 "unit_section.npy"),
    "unit offsets past its section": records_edit("units.jsonl", lambda rows: rows[0].update(end=10**6)),
    "bm25 ids out of range": bm25_out_of_range,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_8_files_that_parse_but_disagree_mean_a_rebuild(fake_embedder, tiny_corpus, tmp_path, damage):
    index = tmp_path / "index"
    build_fake(tiny_corpus, index)
    damage(index)
    with pytest.raises(BrokenIndexError, match=r"deteriorat|Nu există"):
        load_index(index)
    reasons: list[str] = []
    engine = retrieval.open_engine(index, tiny_corpus, FAKE_MODEL, on_rebuild=reasons.append)
    assert len(reasons) == 1
    assert retrieval.ask(engine, "folosiți cookie-uri?").quotes[0].section == "Cookie-uri"


# ---- 9. UTF-8 BOM --------------------------------------------------------------------------------------------


def test_9_a_page_with_a_bom_keeps_its_front_matter(tmp_path):
    (tmp_path / "a.md").write_bytes("\ufeff---\r\ntitle: Titlul meu\r\n---\r\n# Secțiune\r\nText.\r\n".encode())
    [page] = load_corpus(tmp_path)
    assert page.title == "Titlul meu" and [s.text for s in page.sections] == ["Text."]


def test_9_a_question_set_with_a_bom_is_read(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_bytes(("\ufeff" + line() + "\n").encode())
    assert [q.id for q in load_questions(path)[0]] == ["q1"]
    assert [q.id for q in parse_questions(["\ufeff" + line()])[0]] == ["q1"]


# ---- 10. U+2028 / U+0085 inside a JSON string -----------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\u2028", "\u0085", "\u2029"])   # str.splitlines splits at each
def test_10_line_separators_inside_strings_do_not_split_a_record(tmp_path, separator):
    text = "\n".join([line(question=f"cui{separator}partajați?"), "{rău", line(id="q3")]) + "\n"
    path = tmp_path / "set.jsonl"
    path.write_text(text, encoding="utf-8")
    for questions, errors in (load_questions(path), parse_questions(split_lines(text))):
        assert [q.id for q in questions] == ["q1", "q3"]
        assert [e.line for e in errors] == [2], "line numbers count '\\n' only"
        assert " ".join(questions[0].question.split()) == "cui partajați?"   # the separator, sanitised: a space


# ---- 11. bounded work per question and per set ---------------------------------------------------------------


def test_11_a_long_question_is_scored_on_its_beginning_and_the_answer_says_so(fake_engine, strict_model):
    from retrieval.engine import SCORED_QUESTION_CHARS

    question = "cui partajați datele mele personale? " * 54   # ~2,000 characters
    answer = retrieval.ask(fake_engine, question)
    assert len(strict_model[-1]) <= SCORED_QUESTION_CHARS and len(answer.question) <= SCORED_QUESTION_CHARS
    assert str(SCORED_QUESTION_CHARS) in answer.notice and answer.to_json()["notice"] == answer.notice
    assert retrieval.ask(fake_engine, "cui partajați datele?").notice == ""


def test_11_the_cli_prints_the_notice(cli, fake_index):
    result = cli("ask", "cui partajați datele mele personale? " * 30, "--index", str(fake_index))
    assert result.returncode == 0 and "primele 300 de caractere" in result.stdout


def test_11_a_huge_question_set_is_capped_and_streamed(tmp_path):
    path = tmp_path / "mare.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"id": "lung", "question": "' + "x" * (5 * MAX_LINE_CHARS) + '"}\n')
        for n in range(MAX_QUESTIONS + 500):
            handle.write(line(id=f"q{n}") + "\n")
    questions, errors = load_questions(path)
    assert len(questions) == MAX_QUESTIONS
    assert errors[0].line == 1 and "prea lungă" in errors[0].message
    assert errors[-1].line == MAX_QUESTIONS + 2 and f"primele {MAX_QUESTIONS}" in errors[-1].message


def test_11_an_evaluation_can_be_stopped_and_keeps_what_it_asked(fake_engine):
    questions = parse_questions([line(id=f"q{n}") for n in range(10)])[0]
    asked: list[int] = []
    evaluation = evaluate(fake_engine, questions, progress=lambda done, total: asked.append(done),
                          stop=lambda: len(asked) >= 3)
    assert len(evaluation.results) == 3 and evaluation.summary["stopped"] == 7
    assert evaluation.summary["questions"] == 3


def test_11_ctrl_c_stops_eval_and_prints_the_figures_so_far(cli, fake_index, tmp_path, monkeypatch):
    import retrieval.evaluation

    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(line(id=f"q{n}") for n in range(6)) + "\n", encoding="utf-8")
    real = retrieval.evaluation.run_question
    asked: list[str] = []

    def run_question(engine, question, k):
        asked.append(question.id)
        if len(asked) == 2:
            os.kill(os.getpid(), signal.SIGINT)   # the user presses Ctrl+C during the second question
        return real(engine, question, k)

    monkeypatch.setattr(retrieval.evaluation, "run_question", run_question)
    result = cli("eval", str(path), "--index", str(fake_index))
    assert result.returncode == 1 and asked == ["q0", "q1"]
    assert "Oprit: 4 întrebări neevaluate" in result.stderr and "Întrebări: 2" in result.stdout


# ---- 12. the library's own error for a bad k -------------------------------------------------------------------


@pytest.mark.parametrize("k", ["3", 2.5, None, True, 0, 51])
def test_12_ask_with_a_bad_k_is_a_question_error(fake_engine, k):
    with pytest.raises(QuestionError, match="k"):
        retrieval.ask(fake_engine, "cui partajați datele?", k=k)


@pytest.mark.parametrize("k", ["3", 2.5, None, True, 0])
def test_12_evaluate_with_a_bad_k_is_a_question_error(fake_engine, k):
    with pytest.raises(QuestionError, match="k"):
        evaluate(fake_engine, parse_questions([line()])[0], k=k)


# ---- 13. terminal escapes, unknown expected sections ---------------------------------------------------------


ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


def test_13_escapes_in_pages_and_questions_never_reach_the_terminal(cli, fake_embedder, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.md").write_text(f"---\ntitle: Cookie\ncontact: dpo@x.ro\n---\n# Cookie-uri{ESCAPES}\n"
                                 f"Folosim cookie-uri{ESCAPES} pentru trafic.\n", encoding="utf-8")
    build_fake(corpus, tmp_path / "i")
    for extra in ([], ["--json"], ["--explain"]):
        result = cli("ask", f"cookie-uri{ESCAPES}?", "--index", str(tmp_path / "i"), *extra)
        assert result.returncode == 0, result.stderr
        for ch in "\x1b\x07\x9b\u202e":
            assert ch not in result.stdout and ch not in result.stderr
    for command in ("topics", "coverage"):
        result = cli(command, "--index", str(tmp_path / "i"))
        assert result.returncode == 0 and not set("\x1b\x07\x9b\u202e") & set(result.stdout)


def test_13_escapes_in_a_file_name_or_error_are_shown_as_codes(cli, fake_index, tmp_path):
    result = cli("eval", str(tmp_path / "nu\x1b[2Jexistă.jsonl"), "--index", str(fake_index))
    assert_one_error_line(result, "\\x1b[2J")
    assert "\x1b" not in result.stderr


def test_13_json_output_escapes_c1_controls_and_stays_valid(cli, fake_index):
    result = cli("ask", "cookie \x9b2J \u202e?", "--index", str(fake_index), "--json")
    assert result.returncode == 0 and "\x9b" not in result.stdout
    json.loads(result.stdout)


def test_13_expected_sections_no_page_has_are_named(cli, fake_engine, fake_index, tmp_path):
    questions = parse_questions([line(), line(id="q2", expected_sections=["Secțiune inventată"])])[0]
    evaluation = evaluate(fake_engine, questions)
    assert evaluation.summary["unknown_expected_sections"] == ["Secțiune inventată"]
    path = tmp_path / "q.jsonl"
    path.write_text(line(id="q2", expected_sections=["Secțiune inventată"]) + "\n", encoding="utf-8")
    result = cli("eval", str(path), "--index", str(fake_index))
    assert "nu există în pagini" in result.stderr and "Secțiune inventată" in result.stderr


# ---- also seen: clean-up never deletes a generation about to be published ----------------------------------


def test_cleanup_keeps_a_generation_another_build_is_about_to_publish(fake_embedder, tiny_corpus, tmp_path,
                                                                     monkeypatch):
    import retrieval.indexing
    import retrieval.store

    index = tmp_path / "index"
    build_fake(tiny_corpus, index)
    real_publish = retrieval.store.publish
    raced: list[str] = []

    def publish_after_a_rival(index_dir, manifest):
        # Build A has renamed its generation into place; before it swaps the manifest, build B runs whole.
        if not raced:
            raced.append(manifest["generation"])
            monkeypatch.setattr(retrieval.indexing, "publish", real_publish)
            build_fake(tiny_corpus, index)
        real_publish(index_dir, manifest)

    monkeypatch.setattr(retrieval.indexing, "publish", publish_after_a_rival)
    build_fake(tiny_corpus, index)
    assert read_manifest(index)["generation"] == raced[0]
    assert load_index(index).sections, "the published generation was not deleted by the rival's clean-up"
    assert not leftovers(index)


def test_cleanup_removes_a_pending_generation_of_a_build_that_crashed_long_ago(fake_embedder, tiny_corpus,
                                                                              tmp_path):
    build_fake(tiny_corpus, tmp_path)
    crashed = tmp_path / "gen-20200101T000000-deadbeef"
    crashed.mkdir()
    marker = tmp_path / f"{PENDING}{crashed.name}"
    marker.touch()
    old = time.time() - 7200
    os.utime(marker, (old, old))
    build_fake(tiny_corpus, tmp_path)
    assert not crashed.exists() and not marker.exists()
