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
    *[(f"weighted w={w} heading={h}", dict(fusion="weighted", dense_weight=w, heading_weight=h))
      for w in (0.5, 0.6, 0.7, 0.8) for h in (0.0, 0.5, 1.0)],
]


def main() -> None:
    base = engine().with_settings(min_overlap=-1.0, min_dense=-1.0)
    splits = {name: questions(name) for name in ("dev", "test")}
    print(f"{'variant':42s} {'dev h@1':>8s} {'dev h@3':>8s} {'test h@1':>9s} {'test h@3':>9s}")
    for name, changes in VARIANTS:
        e = base.with_settings(**changes)
        row = [metrics(e, splits[s]) for s in ("dev", "test")]
        print(f"{name:42s} {row[0]['hit@1']:8.3f} {row[0]['hit@3']:8.3f} {row[1]['hit@1']:9.3f} {row[1]['hit@3']:9.3f}")


if __name__ == "__main__":
    main()
