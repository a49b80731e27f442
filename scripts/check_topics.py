#!/usr/bin/env python
"""Check the privacy topic taxonomy (retrieval/resources/ro/topics.yaml) against real policies.

Self-contained on purpose (no import of the engine): it reads the YAML with
yaml.safe_load, compiles every regex (and stops loudly on a bad one), splits each
markdown page into sections at `#`..`###` headings and at lines that are entirely
bold (`**...**`), folds the text (heading path + body: lowercase, no diacritics,
whitespace collapsed) and prints:

  1. per policy, per topic: the section titles matched by section_cues, or MISSING;
  2. per topic: recall of its question_cues on its own examples (misses listed);
  3. examples of one topic also matched by another topic's question_cues (overlaps);
  4. off-topic examples matched by any question_cue (should be none).

Usage:
  .venv/bin/python scripts/check_topics.py                 # everything
  .venv/bin/python scripts/check_topics.py --why retention # show the matched text per section
  .venv/bin/python scripts/check_topics.py --policy cosmomarket --sections
  .venv/bin/python scripts/check_topics.py --ask "cat timp tineti datele?"
  .venv/bin/python scripts/check_topics.py --matrix           # plus a compact coverage matrix
Exit status 1 when the YAML is malformed or a regex does not compile.
"""
from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = ROOT / "retrieval" / "resources" / "ro" / "topics.yaml"
POLICY_DIRS = {
    **{p.name: sorted((p / "pages").glob("*.md")) for p in sorted(Path("/work/shared/policies").glob("*"))
       if (p / "pages").is_dir()},
    "onedu": sorted((ROOT / "corpus").glob("*.md")),
}
# What must hold for ONedu (the shipped corpus), read from the pages by hand.
ONEDU_TRUTH = {
    "missing": ["retention", "dpo", "rights", "complaint", "cookies", "erasure", "access", "children"],
    "covered": ["sharing", "security", "legal_requests", "marketing", "storage_location", "selling"],
}
REQUIRED_KEYS = ("id", "name", "missing", "examples", "question_cues", "section_cues")

_CEDILLA = str.maketrans({"ş": "ș", "Ş": "Ș", "ţ": "ț", "Ţ": "Ț"})
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BOLD = re.compile(r"^(?:\*\*|__)(?=\S)(.+?)(?<=\S)(?:\*\*|__)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def fold(text: str) -> str:
    """Lowercase, strip diacritics, collapse whitespace."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", text).translate(_CEDILLA).lower())
    return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).split())


def die(msg: str) -> None:
    print(f"EROARE: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        die(f"{path}: YAML invalid: {exc}")
    if not isinstance(data, dict) or data.get("version") != 1 or data.get("language") != "ro":
        die("antetul trebuie să fie version: 1, language: ro")
    topics = data.get("topics")
    if not isinstance(topics, list) or not topics:
        die("lipsește lista `topics`")
    seen = set()
    for t in topics:
        for key in REQUIRED_KEYS:
            if key not in t:
                die(f"tema {t.get('id', '?')}: lipsește `{key}`")
        if t["id"] in seen or not re.fullmatch(r"[a-z][a-z_]*", t["id"]):
            die(f"id duplicat sau invalid: {t['id']}")
        seen.add(t["id"])
        for kind in ("question_cues", "section_cues"):
            compiled = []
            for pattern in t[kind] or []:
                if not isinstance(pattern, str):
                    die(f"{t['id']}.{kind}: nu e text: {pattern!r}")
                if pattern != pattern.lower() or fold(pattern) != pattern:
                    print(f"ATENȚIE: {t['id']}.{kind}: expresia nu e scrisă pentru text pliat: {pattern}")
                try:
                    compiled.append(re.compile(pattern))
                except re.error as exc:
                    die(f"{t['id']}.{kind}: expresie invalidă {pattern!r}: {exc}")
            t["_" + kind] = compiled
        n = len(t["examples"] or [])
        if not 12 <= n <= 16:
            print(f"ATENȚIE: {t['id']}: {n} exemple (se cer 12-16)")
    if len((data.get("offtopic") or {}).get("examples") or []) < 50:
        print("ATENȚIE: mai puțin de 50 de exemple off-topic")
    return data


def sections(path: Path) -> list[tuple[str, str, str]]:
    """(title, heading path, body) per section; headings #..###+ and entirely bold lines."""
    raw = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    m = _FRONT.match(raw)
    meta = yaml.safe_load(m.group(1)) if m else {}
    body = raw[m.end():] if m else raw
    page_title = str((meta or {}).get("title") or path.stem)
    out, stack, level_atx, lines, in_fence = [], [], 0, [], False
    path_now = (page_title,)

    def close() -> None:
        text = "\n".join(lines).strip()
        if text:
            out.append((path_now[-1], " › ".join(path_now), text))

    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        if in_fence:
            lines.append(line)
            continue
        atx = _ATX.match(line)
        bold = _BOLD.match(line.strip()) if line.strip() == line.rstrip() else None
        if not (atx or bold):
            lines.append(line)
            continue
        close()
        lines = []
        if atx:
            level, title = len(atx.group(1)), atx.group(2).strip()
            level_atx = level
        else:
            level, title = level_atx + 1, bold.group(1).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        path_now = tuple(t for _, t in stack)
    close()
    return out


def short(title: str, n: int = 38) -> str:
    title = re.sub(r"[*_`]", "", title).strip()
    return title if len(title) <= n else title[: n - 1] + "…"


def coverage(data: dict, why: str | None, only: str | None, show_sections: bool) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = {}
    for policy, files in POLICY_DIRS.items():
        if only and only != policy:
            continue
        hits: dict[str, list[str]] = {t["id"]: [] for t in data["topics"]}
        print(f"\n=== {policy} ({', '.join(f.name for f in files)})")
        for f in files:
            for title, hpath, body in sections(f):
                folded = fold(hpath + "\n" + body)
                labels = []
                for t in data["topics"]:
                    found = [c.search(folded) for c in t["_section_cues"]]
                    found = [m for m in found if m]
                    if found:
                        hits[t["id"]].append(short(title))
                        labels.append(t["id"])
                        if why in (t["id"], "all"):
                            shown = "; ".join(repr(m.group(0)[:70]) for m in found[:3])
                            print(f"   [{t['id']}] {short(title, 50)}: {shown}")
                if show_sections:
                    print(f"   § {short(title, 50)} -> {', '.join(labels) or '-'}")
        for t in data["topics"]:
            titles = list(dict.fromkeys(hits[t["id"]]))
            shown = " | ".join(titles[:4]) + (f" (+{len(titles) - 4})" if len(titles) > 4 else "")
            print(f"  {t['id']:<22} {shown if titles else 'MISSING'}")
        result[policy] = hits
    return result


def cue_report(data: dict) -> None:
    print("\n=== question_cues: recall on own examples")
    total = matched = 0
    overlaps = []
    for t in data["topics"]:
        misses = []
        for ex in t["examples"]:
            q = fold(ex)
            if any(c.search(q) for c in t["_question_cues"]):
                matched += 1
            else:
                misses.append(ex)
            others = [o["id"] for o in data["topics"]
                      if o is not t and any(c.search(q) for c in o["_question_cues"])]
            if others:
                overlaps.append((t["id"], ex, others))
        total += len(t["examples"])
        n = len(t["examples"])
        print(f"  {t['id']:<22} {n - len(misses):>2}/{n}" + (f"  miss: {misses}" if misses else ""))
    print(f"  TOTAL {matched}/{total} = {matched / total:.0%}")
    print("\n=== examples also cued as another topic (classification takes the one nearest by examples)")
    for tid, ex, others in overlaps:
        print(f"  {tid:<22} {ex!r} -> also {others}")
    print("\n=== off-topic examples matched by a question_cue (should be none)")
    bad = 0
    for ex in data["offtopic"]["examples"]:
        q = fold(ex)
        cued = [t["id"] for t in data["topics"] if any(c.search(q) for c in t["_question_cues"])]
        if cued:
            bad += 1
            print(f"  {ex!r} -> {cued}")
    print(f"  {bad}/{len(data['offtopic']['examples'])} off-topic examples cued")


def check_truth(result: dict) -> None:
    if "onedu" not in result:
        return
    hits = result["onedu"]
    wrong = [f"{t} should be MISSING" for t in ONEDU_TRUTH["missing"] if hits.get(t)]
    wrong += [f"{t} should be COVERED" for t in ONEDU_TRUTH["covered"] if not hits.get(t)]
    print("\n=== ONedu ground truth: " + ("OK" if not wrong else "FAILED: " + "; ".join(wrong)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, default=TAXONOMY)
    ap.add_argument("--why", help="topic id (or 'all'): print the text each section cue matched")
    ap.add_argument("--policy", help="only this policy (folder name, or 'onedu')")
    ap.add_argument("--sections", action="store_true", help="print every section with its topics")
    ap.add_argument("--ask", help="classify one question by cues and exit")
    ap.add_argument("--matrix", action="store_true", help="also print a compact topic x policy coverage matrix")
    args = ap.parse_args()
    data = load(args.file)
    n_q = sum(len(t["_question_cues"]) for t in data["topics"])
    n_s = sum(len(t["_section_cues"]) for t in data["topics"])
    print(f"{args.file}: {len(data['topics'])} topics, {n_q} question cues, {n_s} section cues: all compile")
    if args.ask:
        q = fold(args.ask)
        print(q, "->", [t["id"] for t in data["topics"] if any(c.search(q) for c in t["_question_cues"])])
        return
    result = coverage(data, args.why, args.policy, args.sections)
    if args.matrix:
        policies = list(result)
        legend = " ".join(f"{i + 1}={p}" for i, p in enumerate(policies))
        print("\n=== coverage matrix (+ covered, . MISSING): " + legend)
        for t in data["topics"]:
            print(f"  {t['id']:<22} " + " ".join("+" if result[p][t["id"]] else "." for p in policies))
    check_truth(result)
    if not args.policy:
        cue_report(data)


if __name__ == "__main__":
    main()
