"""Romanian text normalisation: diacritic folding, slugs and lexical tokens.

Everything here is a pure function. Folding is what makes "cui partajati"
find "cui partajați": both the index and the query go through `fold`, so
cedilla (ş ţ), comma-below (ș ț) and plain letters (s t) all meet.
"""
from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

# Cedilla forms are the legacy encoding of the same Romanian letters.
if TYPE_CHECKING:
    from .language import Language

_CEDILLA_TO_COMMA = str.maketrans({"ş": "ș", "Ş": "Ș", "ţ": "ț", "Ţ": "Ț"})
_WORD = re.compile(r"[0-9a-z]+")



def normalize_diacritics(text: str) -> str:
    """Map cedilla ş/ţ to comma-below ș/ț (same letters, two encodings)."""
    return unicodedata.normalize("NFC", text).translate(_CEDILLA_TO_COMMA)


class _FoldTable(dict[int, str]):
    """Code point -> its NFKD decomposition without combining marks, computed on first sight.

    Hand-written because `str.translate` over this table is 3.4x faster than decomposing
    the whole text and filtering it character by character in Python (12 kB page: 1.49 ->
    0.44 ms), and folding was a quarter of an unchanged rebuild (issue 12). NFKD works
    code point by code point, so the result is the same (tests/test_fuzz.py checks it on
    arbitrary text). Only code points below 0x3000 are kept, so untrusted text cannot
    grow the table past ~12k entries.
    """

    def __missing__(self, code: int) -> str:
        value = "".join(ch for ch in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(ch))
        if code < 0x3000:
            self[code] = value
        return value


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lowercase and strip every diacritic: 'Înțelegeți' -> 'intelegeti' (cedilla ş and comma ș alike)."""
    return text.lower().translate(_FOLD)


def model_text(text: str) -> str:
    """What the embedding model reads, for passages and questions alike: folded text.

    Folding both sides makes "partajați", "partajati" and "partajaţi" the very
    same input, and measured better than raw text too (bench/fusion.py: dense-only
    hit@1 0.76 -> 0.82 on our question set), since users mostly type without
    diacritics.
    """
    return fold(text)


def fold_key(text: str) -> str:
    """Comparison key for titles: folded, whitespace-collapsed, stripped."""
    return " ".join(fold(text).split())


def slugify(text: str) -> str:
    """A stable, URL-safe anchor from a heading ('Cum protejăm…?' -> 'cum-protejam')."""
    return "-".join(_WORD.findall(fold(text))) or "sectiune"


def stopwords(language: Language | None = None) -> frozenset[str]:
    """Folded stopwords of the language (Romanian unless told): its list plus colloquial extras."""
    return (language or default_language()).stopwords


def words(text: str) -> list[str]:
    """Folded word tokens (letters and digits), stopwords kept."""
    return _WORD.findall(fold(text))


def content_words(text: str, language: Language | None = None) -> list[str]:
    """Folded tokens without stopwords and one-letter noise."""
    stop = stopwords(language)
    return [w for w in words(text) if w not in stop and len(w) > 1]


def default_language() -> Language:
    from .language import default_language as load  # language.py folds with this module: no import cycle

    return load()


def sanitize(text: str) -> str:
    """Untrusted text made safe for the model, a terminal and UTF-8 output.

    Lone surrogates (undecodable bytes in argv, "\\ud800" in JSON) crash the
    model's UTF-8 encoder and every later write, so they become U+FFFD. Control
    characters (C0, DEL, C1: ESC sequences retitle or clear a terminal) and
    line/paragraph separators become spaces; invisible format characters
    (bidi overrides, zero-width marks, a stray BOM) are dropped. Written by hand:
    it is one pass over `unicodedata.category`, and no library does just this.
    """
    if text.isprintable():
        return text  # the common case: nothing to do (also true for "", false for any space but " ")
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cs":
            out.append("\ufffd")
        elif category in ("Cc", "Zl", "Zp"):
            out.append(ch if ch in "\t\n" else " ")
        elif category != "Cf":
            out.append(ch)
    return "".join(out)
