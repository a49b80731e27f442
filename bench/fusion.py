"""Compare fusion strategies on the shipped question set (dev and test halves).

    .venv/bin/python bench/fusion.py

Abstention is switched off here: this measures ranking only.
"""
from __future__ import annotations

from common import engine, metrics, questions

VARIANTS = [
    ("dense only", dict(fusion="dense")),
    ("lexical only (BM25, folded + stemmed)", dict(fusion="lexical")),
    ("RRF dense + lexical", dict(fusion="rrf")),
    *[(f"weighted w={w}", dict(fusion="weighted", dense_weight=w)) for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)],
]


def main() -> None:
    base = engine().with_settings(min_coverage=-1.0, abstain_uncovered=False, topic_similarity=2.0)
    splits = {name: questions(name) for name in ("dev", "test")}
    splits["all"] = questions()
    print(f"{'variant':40s} " + " ".join(f"{s + ' h@1':>9s} {s + ' h@3':>9s}" for s in splits))
    for name, changes in VARIANTS:
        e = base.with_settings(**changes)
        row = [metrics(e, items) for items in splits.values()]
        print(f"{name:40s} " + " ".join(f"{m['hit@1']:9.3f} {m['hit@3']:9.3f}" for m in row))


if __name__ == "__main__":
    main()
