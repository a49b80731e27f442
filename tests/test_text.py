"""Diacritics folding and the lexical tokens built on it."""
from retrieval.lexical import stems, terms
from retrieval.text import content_words, fold, fold_key, model_text, normalize_diacritics, slugify, words


def test_fold_strips_every_romanian_diacritic():
    assert fold("Înțelegeți, ăștia și ÂȘȚ") == "intelegeti, astia si ast"


def test_cedilla_and_comma_below_are_the_same_letters():
    assert normalize_diacritics("partajaţi şi") == "partajați și"
    assert fold("partajaţi şi") == fold("partajați și") == "partajati si"


def test_fold_key_ignores_case_whitespace_and_diacritics():
    assert fold_key("  Cum protejăm   informațiile? ") == fold_key("cum protejam informatiile?")


def test_slugify_is_url_safe_and_stable():
    assert slugify("Cum răspundem solicitărilor juridice, cum respectăm legislația aplicabilă?") == \
        "cum-raspundem-solicitarilor-juridice-cum-respectam-legislatia-aplicabila"
    assert slugify("???") == "sectiune"


def test_stopwords_and_pronouns_are_not_content():
    assert content_words("cui partajați datele mele?") == ["partajati", "datele"]


def test_stems_do_not_depend_on_diacritics():
    assert (stems("cui partajați datele mele?") == stems("cui partajati datele mele")
            == stems("cui partajaţi datele mele"))


def test_email_spellings_meet():
    assert "email" in stems("e-mailul meu") and "email" in stems("emailul meu")


def test_terms_add_prefixes_that_never_collide_with_stems():
    found = terms("vindeti datele")
    assert "vinde_" in found and all(t.endswith("_") or "_" not in t for t in found)


def test_words_are_folded_letters_and_digits_with_stopwords_kept():
    assert words("Păstrăm datele 3 ani (art. 6)!") == ["pastram", "datele", "3", "ani", "art", "6"]
    assert words("Plangeri_RGPD&lang=ro") == ["plangeri", "rgpd", "lang", "ro"]


def test_the_model_reads_folded_text_so_spellings_meet():
    assert model_text("Partajaţi") == model_text("partajați") == model_text("PARTAJATI") == "partajati"
