"""Property-based tests (Hypothesis): any input in -> a result or the library's own error, never anything else.

The page reader, the question validator (and `ask` behind it) and the JSONL reader
each get arbitrary text, plus text built from the fragments that broke them before
(front matter, YAML anchors, deep brackets, BOMs, line separators, surrogates,
terminal escapes). CI runs the "ci" profile (40 examples a test, about 3 s);
`HYPOTHESIS_PROFILE=long` runs 5,000 (profiles in tests/conftest.py).
"""
from __future__ import annotations

import io
import json
import unicodedata

import pytest
from hypothesis import given, strategies as st

import retrieval
from conftest import CORPUS, FAKE_MODEL, FakeEmbedder
from retrieval.engine import MAX_QUESTION_CHARS, SCORED_QUESTION_CHARS, prepare_question
from retrieval.errors import CorpusError, QuestionError, RetrievalError
from retrieval.evaluation import parse_questions, read_questions, split_lines
from retrieval.pages import parse_page

TRICKY = ["\ufeff", "\u2028", "\u2029", "\u0085", "\x00", "\x1b[2J", "\x1b]0;t\x07", "\x9b", "\u202e", "\ud800",
          "\udcff", "\r\n", "\r", "\n", "\t", " ", "ș", "ţ", "😀", "\u00ad", "\u200b"]
MARKDOWN = ["---\n", "title: ", "url: ", "contact: ", "topics: ", "&a ", "*a", "[", "]", "{", "}", "# ", "## ",
            "**", "__", "`", "```\n", "- ", "1. ", "| a | b |\n|---|---|\n", "<!--", "-->", "<b>", "![i](x)",
            "[l](http://x)", "[^1]", "> ", "\\", "Text. ", "Secțiune"]
JSONISH = ['{"id": ', '"question": ', '"expected_sections": ', '"answerable": ', "true", "false", "null", '"',
           "[", "]", "{", "}", ",", ":", "\\u", "\\ud800", "1e999", "-0", '"x"']


def pieces(vocabulary: list[str]) -> st.SearchStrategy[str]:
    """Text built from meaningful fragments, tricky characters and arbitrary text."""
    return st.lists(st.one_of(st.sampled_from(vocabulary), st.sampled_from(TRICKY), st.text(max_size=8)),
                    max_size=40).map("".join)


def printable(text: str) -> bool:
    """No control, format or separator character and no lone surrogate (newlines and tabs aside)."""
    return all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") or ch in "\n\t" for ch in text)


# ---- page reader ----------------------------------------------------------------------------------------


@given(st.one_of(st.text(), pieces(MARKDOWN)))
def test_any_page_text_gives_sections_or_a_corpus_error(raw):
    try:
        page = parse_page(raw, "p.md")
    except CorpusError as exc:
        assert str(exc).startswith("p.md")   # names the file
        return
    for section in page.sections:
        assert section.text.strip() and printable(section.text) and printable(section.title)
        section.text.encode("utf-8")
        assert section.anchor and "\n" not in section.anchor
    assert printable(page.title)


# ---- question validator and ask -------------------------------------------------------------------------


@given(st.one_of(st.text(max_size=3 * MAX_QUESTION_CHARS), pieces([*TRICKY, "cui", "partajați", "date"]),
                 st.integers(), st.none(), st.binary(max_size=20)))
def test_any_question_is_prepared_or_refused_with_a_question_error(question):
    try:
        text, shortened = prepare_question(question)
    except QuestionError:
        return
    assert text and text == " ".join(text.split()) and len(text) <= SCORED_QUESTION_CHARS
    assert printable(text) and "\n" not in text
    text.encode("utf-8")
    assert shortened == (len(" ".join(question.split())) > SCORED_QUESTION_CHARS) or shortened


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory):
    """The shipped pages with the fake model, built once for the module (Hypothesis reuses it).

    Not named `engine`: conftest marks every test using a fixture of that name slow (real model).
    """
    import retrieval.embeddings
    import retrieval.engine
    import retrieval.indexing

    fake = FakeEmbedder()
    with pytest.MonkeyPatch.context() as patch:
        for module in (retrieval.embeddings, retrieval.engine, retrieval.indexing):
            patch.setattr(module, "get_embedder", lambda name=FAKE_MODEL: fake)
        folder = tmp_path_factory.mktemp("fuzz-index")
        retrieval.build(CORPUS, folder, FAKE_MODEL)
        yield retrieval.open_engine(folder)


@given(question=st.one_of(st.text(max_size=400), pieces([*TRICKY, "cui", "partajați", "date", "cookie"])),
       k=st.one_of(st.integers(-3, 60), st.floats(allow_nan=True), st.text(max_size=3), st.none(), st.booleans()))
def test_ask_gives_an_answer_or_a_question_error(fuzz_engine, question, k):
    try:
        answer = retrieval.ask(fuzz_engine, question, k=k)
    except QuestionError:
        return
    assert isinstance(k, int) and 1 <= k <= 50
    json.dumps(answer.to_json(), ensure_ascii=False).encode("utf-8")
    assert answer.abstained or answer.quotes


# ---- JSONL reader ----------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                        max_size=4), max_leaves=20)
RECORDS = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=5), st.integers()), "question": st.one_of(st.text(max_size=30), JSON_VALUES),
     "expected_sections": st.one_of(st.lists(st.text(max_size=10), max_size=3), JSON_VALUES),
     "answerable": st.one_of(st.booleans(), JSON_VALUES)},
    optional={"answer_phrases": JSON_VALUES, "kind": JSON_VALUES, "split": JSON_VALUES})


@given(st.one_of(st.text(), pieces(JSONISH),
                 st.lists(st.one_of(RECORDS.map(lambda r: json.dumps(r, ensure_ascii=False)),
                                    RECORDS.map(json.dumps), pieces(JSONISH)), max_size=6).map("\n".join)))
def test_any_jsonl_text_gives_questions_and_numbered_line_errors(text):
    lines = split_lines(text)
    questions, errors = parse_questions(lines)
    assert len(questions) + len(errors) <= len(lines)
    assert all(1 <= e.line <= len(lines) for e in errors)
    for question in questions:
        for value in (question.id, question.question, *question.expected_sections):
            value.encode("utf-8")   # no lone surrogate survives: the report and the JSON can be written


@given(st.one_of(st.binary(max_size=200), pieces(JSONISH).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_uploaded_bytes_give_questions_or_one_retrieval_error(data):
    try:
        read_questions(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="\n"), "set.jsonl")
    except RetrievalError as exc:
        assert "UTF-8" in str(exc)


def _reference_fold(text: str) -> str:
    """The definition `fold` implements faster: NFC, cedilla -> comma, lowercase, NFKD, no combining marks."""
    from retrieval.text import normalize_diacritics

    decomposed = unicodedata.normalize("NFKD", normalize_diacritics(text).lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@given(st.one_of(st.text(), pieces([*TRICKY, "Înțelegeți", "ŞŢşţșțȘȚ", "ﬁ²½Ⅻ", "İΣΑΣ", "e\u0301", "s\u0327"])))
def test_fold_is_the_reference_folding(text):
    from retrieval.text import fold

    assert fold(text) == _reference_fold(text)
