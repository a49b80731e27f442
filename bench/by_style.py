"""Quality of the shipped question set broken down by the questions' `style` field.

    .venv/bin/python bench/by_style.py

Answerable styles: share hit at 1 and at 3. Unanswerable styles: share abstained.
"""
from __future__ import annotations

from collections import defaultdict

from common import engine, questions
from retrieval.evaluation import evaluate


def main() -> None:
    items = questions()
    evaluation = evaluate(engine(), items, k=5)
    groups: dict[str, list] = defaultdict(list)
    for question, result in zip(items, evaluation.results, strict=True):
        groups[str(question.extra.get("style", "?")).split(":")[0]].append(result)
    print(f"{'style':22s} {'n':>4s} {'hit@1':>7s} {'hit@3':>7s} {'abstained':>10s}")
    for style, results in sorted(groups.items()):
        n = len(results)
        if results[0].answerable:
            print(f"{style:22s} {n:4d} {sum(r.hit(1) for r in results) / n:7.3f}"
                  f" {sum(r.hit(3) for r in results) / n:7.3f} {sum(r.abstained for r in results) / n:10.3f}")
        else:
            print(f"{style:22s} {n:4d} {'':7s} {'':7s} {sum(r.abstained for r in results) / n:10.3f}")
    no_typos = [r for q, r in zip(items, evaluation.results, strict=True)
                if q.answerable and q.extra.get("style") != "typo"]
    print(f"\nanswerable without typos: n={len(no_typos)} hit@1={sum(r.hit(1) for r in no_typos) / len(no_typos):.3f} "
          f"hit@3={sum(r.hit(3) for r in no_typos) / len(no_typos):.3f}")
    print("summary:", {k: v for k, v in evaluation.summary.items() if k not in ("coverage", "unreached_sections")})


if __name__ == "__main__":
    main()
