"""Calibrate the abstention thresholds on the dev half; report them on the test half.

    .venv/bin/python bench/calibrate.py

Objective: abstain on as many unanswerable dev questions as possible, each
answerable one abstained costing FALSE_ABSTAIN_COST of them, and never more than
MAX_FALSE_ABSTAIN of the answerable ones. Ties go to the least aggressive
thresholds (the dev half is small: aggressive thresholds overfit it). Paste the winner into `Settings` in engine.py.
"""
from __future__ import annotations

import itertools

import numpy as np
from common import engine, questions

MAX_FALSE_ABSTAIN = 0.02
FALSE_ABSTAIN_COST = 5.0
COVERAGE_MARGIN, DENSE_MARGIN = 0.1, 0.01


def rates(e, evidence, items, **thresholds):
    probe = e.with_settings(**thresholds)
    abstained = [probe.should_abstain(ev) for ev in evidence]
    answerable = [a for a, q in zip(abstained, items) if q.answerable]
    unanswerable = [a for a, q in zip(abstained, items) if not q.answerable]
    return float(np.mean(unanswerable)), float(np.mean(answerable))


def main() -> None:
    e = engine()
    dev, test = questions("dev"), questions("test")
    ev_dev = [e.retrieve(q.question).evidence for q in dev]
    ev_test = [e.retrieve(q.question).evidence for q in test]
    grid = itertools.product(np.arange(0, 0.31, 0.05), np.arange(0.2, 0.71, 0.05), np.arange(0.80, 0.89, 0.005))
    best = None
    for min_cov, weak_cov, min_dense in grid:
        if weak_cov < min_cov:
            continue
        t = dict(min_coverage=round(float(min_cov), 3), weak_coverage=round(float(weak_cov), 3),
                 min_dense=round(float(min_dense), 3))
        recall, _ = rates(e, ev_dev, dev, **t)
        # Margin: the thresholds must stay clear of answerable questions even when
        # pushed a little further, or they sit on the edge of the small dev half.
        _, false_rate = rates(e, ev_dev, dev, min_coverage=t["min_coverage"] + COVERAGE_MARGIN,
                              weak_coverage=t["weak_coverage"] + COVERAGE_MARGIN,
                              min_dense=t["min_dense"] + DENSE_MARGIN)
        if false_rate > MAX_FALSE_ABSTAIN:
            continue
        # A false abstention (a real question told "not covered") costs more than
        # a missed one; prefer the least aggressive thresholds among equals.
        key = (round(recall - FALSE_ABSTAIN_COST * false_rate, 6), -weak_cov, -min_dense, -min_cov)
        if best is None or key > best[0]:
            best = (key, t, recall, false_rate)
    _, t, recall, false_rate = best
    print("chosen thresholds:", t)
    print(f"dev : unanswerable abstained {recall:.3f}, answerable abstained {false_rate:.3f}")
    recall, false_rate = rates(e, ev_test, test, **t)
    print(f"test: unanswerable abstained {recall:.3f}, answerable abstained {false_rate:.3f}")
    current = dict(min_coverage=e.settings.min_coverage, weak_coverage=e.settings.weak_coverage,
                   min_dense=e.settings.min_dense)
    for name, ev, items in (("dev", ev_dev, dev), ("test", ev_test, test)):
        recall, false_rate = rates(e, ev, items, **current)
        print(f"shipped {current} on {name}: unanswerable abstained {recall:.3f}, answerable abstained {false_rate:.3f}")


if __name__ == "__main__":
    main()
