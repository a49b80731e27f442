"""BM25 over folded, Romanian-stemmed tokens (bm25s + PyStemmer).

Folding happens before stemming, on both sides: the Snowball stemmer then sees
"partajati" and "partajați" as the same word, and a question typed without
diacritics meets the pages on equal terms.
"""
from __future__ import annotations

import re
from pathlib import Path

import bm25s
import numpy as np

from .language import Language, default_language
from .text import content_words

# "e-mail", "e-mailul" and "email", "emailul" are the same word in users' mouths.
_E_MAIL = re.compile(r"\be-(?=mail)", re.I)


def _stem_words(words: list[str], language: Language | None = None) -> list[str]:
    return (language or default_language()).stem_words(words)


PREFIX = 5


def stems(text: str, language: Language | None = None) -> list[str]:
    """Content stems of a text: folded, stopwords dropped, Snowball-stemmed."""
    return _stem_words(content_words(_E_MAIL.sub("e", text), language), language)


def terms(text: str, language: Language | None = None) -> list[str]:
    """Index terms: Snowball stems plus 5-letter prefixes.

    The prefixes (marked with a trailing "_" so they never collide with a stem)
    catch the inflections and typos Snowball leaves apart ("vindeti"/"vindem",
    "datelr"/"datele"); on our question set they raised hit@3 (bench/fusion.py).
    """
    words = content_words(_E_MAIL.sub("e", text), language)
    return _stem_words(words, language) + [w[:PREFIX] + "_" for w in words if len(w) >= PREFIX]


def word_keys(text: str, language: Language | None = None, synonyms: bool = False) -> list[tuple[str, ...]]:
    """For each content word of a text, the index terms any one of which counts as that word (stem, prefix;
    with `synonyms`, also the stems of the language's synonyms of the word: "greșite" meets "incorecte")."""
    words = content_words(_E_MAIL.sub("e", text), language)
    related = (language or default_language()).related_stems if synonyms else {}
    return [((stem, w[:PREFIX] + "_") if len(w) >= PREFIX else (stem,)) + related.get(stem, ())
            for w, stem in zip(words, _stem_words(words, language), strict=True)]


def question_terms(text: str, language: Language | None = None) -> list[str]:
    """A question's BM25 terms: its own (`terms`) plus the stems of its words' synonyms."""
    related = (language or default_language()).related_stems
    own = terms(text, language)
    return own + [other for term in own for other in related.get(term, ()) if other not in own]


class LexicalIndex:
    """A thin wrapper so the rest of the code never sees bm25s' token-id plumbing."""

    def __init__(self, retriever: bm25s.BM25, language: Language | None = None) -> None:
        self._bm25 = retriever
        self.language = language or default_language()
        self._vocab = retriever.vocab_dict
        # bm25s stores scores as a CSC matrix with one column per term: its
        # column lengths are the document frequencies.
        self._doc_freq = np.diff(np.asarray(retriever.scores["indptr"]))

    @classmethod
    def build(cls, language: Language, texts: list[str]) -> LexicalIndex:
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index([terms(t, language) for t in texts], show_progress=False)
        return cls(retriever, language)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, language: Language | None = None, mmap: bool = False) -> LexicalIndex:
        """`mmap`: the score arrays stay on disk, paged in as questions touch them (flat load, shared pages)."""
        return cls(bm25s.BM25.load(str(directory), allow_pickle=False, mmap=mmap), language)

    def consistent(self) -> bool:
        """Do the stored matrix's document ids and term columns fit its own sizes?"""
        scores = self._bm25.scores
        indices = np.asarray(scores["indices"])
        indptr = np.asarray(scores["indptr"])
        return bool((not len(indices) or (indices.min() >= 0 and indices.max() < self.size))
                    and len(indptr) >= 1 and indptr[-1] == len(indices)
                    and all(0 <= v < len(indptr) - 1 for k, v in self._vocab.items() if k)  # "" has no column
                    and bool(np.all(np.diff(indptr) >= 0)))

    @property
    def size(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def known(self, query_terms: list[str]) -> list[str]:
        """The query terms that occur somewhere in the indexed pages."""
        return [t for t in query_terms if t in self._vocab]

    def idf(self, term: str) -> float:
        """BM25's idf; a term the pages never use gets the highest idf there is."""
        n = self.size
        token = self._vocab.get(term)
        df = 0 if token is None else int(self._doc_freq[token])
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def coverage(self, text: str) -> float:
        """Share of the text's content words that the pages use (by stem or by prefix).

        Off-topic questions ask with words the policy never says: this separates
        them far better than any embedding similarity on our question set.
        """
        words = content_words(_E_MAIL.sub("e", text), self.language)
        if not words:
            return 0.0
        known = [
            s in self._vocab or (len(w) >= PREFIX and w[:PREFIX] + "_" in self._vocab)
            for w, s in zip(words, _stem_words(words, self.language), strict=True)
        ]
        return sum(known) / len(words)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every document (zeros when no term is known)."""
        known = self.known(query_terms)
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
