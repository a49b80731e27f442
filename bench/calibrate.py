"""Grid over the engine's knobs on every policy at once: tune on the dev half, then read the test half.

    .venv/bin/python bench/calibrate.py dev '{"topic_boost": [0.5, 0.8], "dense_weight": [0.5, 0.7]}'
    .venv/bin/python bench/calibrate.py test
    .venv/bin/python bench/calibrate.py fresh '{...}'   # the blind sets already read (FRESH)

Policies: ONedu (`corpus/`, eval/questions.jsonl + eval/policies/onedu.jsonl) and
every policy in ../shared/policies (its questions.jsonl + eval/policies/<slug>.jsonl).
Indexes are kept in /tmp/calibrate-index, or $CALIBRATE_INDEX (one folder per engineer:
a taxonomy change rebuilds them), built once, then reused through the embedding cache.
Each line: the settings and the overall figures, then hit@1 /
answer-in-first-quote per policy. The shipped defaults in `engine.Settings` were
chosen with this script on the dev half.
"""
from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

import retrieval
from common import ROOT
from retrieval.evaluation import PolicyRun, combined_summary, evaluate, load_questions, select_split

POLICIES = ROOT.parent / "shared" / "policies"
INDEXES = Path(os.environ.get("CALIBRATE_INDEX", "/tmp/calibrate-index"))


# Blind sets once measured, then read: tuning material (fresh8: blind in round 7; fresh9, fresh10: blind in round 8).
# eval/fresh11 was measured blind in round 8 and is not read: keep it out of here until it is.
FRESH = ("fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9", "fresh10")


def policy_sets(split: str = "dev") -> list[tuple[str, Path, list[Path]]]:
    """(name, pages, question files) per policy; `fresh` swaps our sets for eval/fresh and eval/fresh2."""
    if split == "fresh":
        return [(name, pages, [ROOT / "eval" / f / name / "questions.jsonl" for f in FRESH])
                for name, pages, _ in policy_sets()]
    sets = [("onedu", ROOT / "corpus", [ROOT / "eval" / "questions.jsonl", ROOT / "eval" / "policies" / "onedu.jsonl"])]
    for folder in sorted(p for p in POLICIES.iterdir() if (p / "pages").is_dir()):
        sets.append((folder.name, folder / "pages",
                     [folder / "questions.jsonl", ROOT / "eval" / "policies" / f"{folder.name}.jsonl"]))
    return sets


def main() -> None:
    split = sys.argv[1] if len(sys.argv) > 1 else "dev"
    grid = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    loaded = []
    for name, pages, files in policy_sets(split):
        engine = retrieval.open_engine(INDEXES / name, pages)
        questions = [q for f in files if f.is_file() for q in load_questions(f)[0]]
        loaded.append((name, engine, questions if split == "fresh" else select_split(questions, split)))
    keys = list(grid)
    for combo in itertools.product(*[grid[k] for k in keys]):
        changes = dict(zip(keys, combo, strict=True))
        runs = [PolicyRun(name, evaluate(e.with_settings(**changes), qs, k=5)) for name, e, qs in loaded]
        o = combined_summary(runs, 5)
        per = " ".join(f"{r.name[:8]}:{r.evaluation.summary['hit@1']:.2f}/"
                       f"{r.evaluation.summary['answer_in_first_quote'] or 0:.2f}" for r in runs)
        print(changes, f"hit@1 {o['hit@1']:.3f} hit@3 {o['hit@3']:.3f} first {o['answer_in_first_quote']:.3f} "
              f"uncovered {o['uncovered_abstained']} offtopic {o['offtopic_abstained']} "
              f"answerable-abstained {o['answerable_abstained']} precision {o['abstention_precision']}",
              per, flush=True)


if __name__ == "__main__":
    main()
