"""Every question's outcome on every set, to compare two states of the code question by question.

    .venv/bin/python bench/per_question.py run /tmp/before.json     # on one commit
    .venv/bin/python bench/per_question.py run /tmp/after.json      # on the other
    .venv/bin/python bench/per_question.py diff /tmp/before.json /tmp/after.json

Sets: those of `bench/calibrate.py` (dev and test halves together, then the read blind sets, FRESH).
A question is fully right when answerable and its section is first with the answer in the first
quote, or unanswerable and abstained. `diff` lists each question whose outcome changed, with the
first quote before and after, and the counts of questions gained and lost.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import calibrate
import retrieval
from retrieval.evaluation import evaluate, load_questions


def outcomes() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for split in ("dev", "fresh"):
        for name, pages, files in calibrate.policy_sets(split):
            engine = retrieval.open_engine(calibrate.INDEXES / name, pages)
            questions = [q for f in files if f.is_file() for q in load_questions(f)[0]]
            for result in evaluate(engine, questions, k=5).results:
                j = result.to_json()
                out[f"{split}:{j['id']}"] = {
                    "rank": j.get("rank"), "first": j.get("answer_in_first"), "abstained": j.get("abstained"),
                    "answerable": j.get("answerable"), "question": j.get("question"),
                    "lead": (j.get("quotes") or [{}])[0].get("quote", "")[:120]}
    return out


def right(o: dict[str, Any]) -> bool:
    return bool(o["rank"] == 1 and o["first"]) if o["answerable"] else bool(o["abstained"])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        out = outcomes()
        Path(sys.argv[2]).write_text(json.dumps(out, ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"{sum(right(o) for o in out.values())} of {len(out)} questions fully right")
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        a, b = (json.loads(Path(p).read_text(encoding="utf-8")) for p in sys.argv[2:])
        for key in sorted(set(a) & set(b)):
            x, y = a[key], b[key]
            if (x["rank"], x["first"], x["abstained"]) != (y["rank"], y["first"], y["abstained"]):
                print(f"{key}: rank {x['rank']}->{y['rank']} first {x['first']}->{y['first']} "
                      f"abstained {x['abstained']}->{y['abstained']} | {y['question'][:90]}")
                print("    before:", x["lead"][:100].replace("\n", " "))
                print("    after: ", y["lead"][:100].replace("\n", " "))
        both = set(a) & set(b)
        print(f"gained {sum(right(b[k]) and not right(a[k]) for k in both)}, "
              f"lost {sum(right(a[k]) and not right(b[k]) for k in both)}, of {len(both)}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
