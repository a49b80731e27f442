"""Evaluation output: a plain-text summary and a self-contained HTML report.

The chart is inline SVG written here by hand: the report must open offline,
from a file, with no JavaScript library fetched from a CDN.
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from .evaluation import Evaluation, PolicyRun

_METRICS = [
    ("hit@1", "hit@1"), ("hit@3", "hit@3"), ("hit@5", "hit@5"), ("mrr", "MRR"),
    ("answer_in_first_quote", "răspunsul în primul citat"), ("answer_in_any_quote", "răspunsul în vreun citat"),
    ("first_quote_chars", "caractere, primul citat"), ("answer_chars", "caractere, tot răspunsul"),
    ("abstention_precision", "abținere: precizie"), ("abstention_recall", "abținere: recall"),
    ("uncovered_abstained", "neacoperite recunoscute"), ("offtopic_abstained", "în afara subiectului recunoscute"),
    ("answerable_abstained", "întrebări cu răspuns abținute"),
]
_SHORT = [("hit@1", "hit@1"), ("hit@3", "hit@3"), ("answer_in_first_quote", "în 1."),
          ("first_quote_chars", "car.1"), ("answer_chars", "car."), ("uncovered_abstained", "neacop."),
          ("offtopic_abstained", "offtop."), ("answerable_abstained", "abț.gr."),
          ("abstention_precision", "prec.abț.")]


def format_runs(runs: list[PolicyRun], overall: dict[str, Any]) -> str:
    """One line of figures per policy, then all of them together."""
    head = f"{'politica':30s}" + "".join(f"{label:>9s}" for _, label in _SHORT) + f"{'întreb.':>9s}"
    out = [head]
    for name, summary in [(r.name, r.evaluation.summary) for r in runs] + [("TOTAL", overall)]:
        out.append(f"{name[:30]:30s}" + "".join(f"{_fmt(summary.get(k)):>9s}" for k, _ in _SHORT)
                   + f"{summary['questions']:>9d}")
    failures = [(r.name, f) for r in runs for f in r.evaluation.failures]
    out += ["", f"Întrebări ratate: {len(failures)} (detalii: --json sau --report)"]
    return "\n".join(out) + "\n"


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value > 1.5 else f"{value:.3f}"
    return str(value)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def format_summary(evaluation: Evaluation) -> str:
    """The figures, coverage per section and the failing questions, for a terminal."""
    s = evaluation.summary
    out = [f"Întrebări: {s['questions']} ({s['answerable']} cu răspuns în politică, {s['unanswerable']} fără)", ""]
    out += [f"  {label:32s} {_fmt(s[key])}" for key, label in _METRICS]
    out += [f"  {'latență p50 / p95':32s} {_ms(s['latency_ms_p50'])} / {_ms(s['latency_ms_p95'])} ms", "",
            "Acoperire pe secțiuni (întrebări care o găsesc pe locul 1 / întrebări care o așteaptă):"]
    out += [f"  {c['questions_reaching']:3d} / {c['questions_expecting']:3d}  {c['section']}" for c in s["coverage"]]
    if s["unreached_sections"]:
        out += ["", "Secțiuni la care nu ajunge nicio întrebare:"] + [f"  - {t}" for t in s["unreached_sections"]]
    failures = evaluation.failures
    out += ["", f"Întrebări ratate ({len(failures)}):" if failures else "Nicio întrebare ratată."]
    for r in failures:
        if r.error:
            got = f"eroare: {r.error}"
        elif r.answerable and r.abstained:
            got = "s-a abținut (cele mai apropiate: " + " | ".join(r.retrieved_sections[:3]) + ")"
        elif not r.answerable:
            got = "a răspuns, deși nu trebuia: " + (r.retrieved_sections[0] if r.retrieved_sections else "–")
        else:
            got = "a găsit: " + " | ".join(r.retrieved_sections[:3])
        expected = " | ".join(r.expected_sections) or "(abținere)"
        out += [f"  [{r.id}] {r.question}", f"      așteptat: {expected}", f"      {got}"]
    if evaluation.errors:
        out += ["", "Linii invalide:"] + [f"  {e}" for e in evaluation.errors]
    return "\n".join(out) + "\n"


def coverage_svg(coverage: list[dict[str, Any]]) -> str:
    """Horizontal bars: questions reaching each section (dark) over those expecting it (light)."""
    bar_h, gap, label_w, chart_w = 22, 10, 430, 360
    top = max([c["questions_expecting"] for c in coverage] + [c["questions_reaching"] for c in coverage] + [1])
    height = len(coverage) * (bar_h + gap) + 30
    rows = []
    for i, c in enumerate(coverage):
        y = i * (bar_h + gap) + 20
        expect_w = chart_w * c["questions_expecting"] / top
        reach_w = chart_w * c["questions_reaching"] / top
        label = c["section"] if len(c["section"]) <= 60 else c["section"][:57] + "…"
        rows.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{expect_w:.1f}" height="{bar_h}" fill="#c9d8ef"/>'
            f'<rect class="reach" x="{label_w}" y="{y}" width="{reach_w:.1f}" height="{bar_h}" fill="#2f5d9b"/>'
            f'<text x="{label_w + max(expect_w, reach_w) + 6}" y="{y + 15}">'
            f'{c["questions_reaching"]} / {c["questions_expecting"]}</text>'
        )
    return (f'<svg role="img" aria-label="Acoperire pe secțiuni" xmlns="http://www.w3.org/2000/svg" '
            f'width="{label_w + chart_w + 80}" height="{height}" font-size="13" font-family="sans-serif">'
            + "".join(rows) + "</svg>")


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2733;padding:0 1rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}\
.card{border:1px solid #d5dde8;border-radius:8px;padding:.7rem 1rem;min-width:120px}
.v{font-size:1.5rem;font-weight:600}.l{color:#56657a;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}\
td,th{border-bottom:1px solid #e3e8ef;padding:.4rem;text-align:left;vertical-align:top}
th{background:#f3f6fa}.q{white-space:pre-wrap;font-size:.85rem;color:#33414f}
"""


def _body(evaluation: Evaluation, level: int = 2) -> str:
    s = evaluation.summary
    h, hh = f"h{level}", f"h{level + 1}"
    cards = "".join(f'<div class="card"><div class="v">{_fmt(s.get(k))}</div>'
                    f'<div class="l">{html.escape(label)}</div></div>'
                    for k, label in _METRICS)
    failures = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            r.id, r.question, " | ".join(r.expected_sections) or "(abținere)",
            "da" if r.abstained else "nu", " | ".join(r.retrieved_sections[:3]), r.rank or "–"))
        + '<td class="q">' + html.escape(r.message or (r.quotes[0]["citation"] + "\n" + r.quotes[0]["quote"]
                                                         if r.quotes else "")) + "</td></tr>"
        for r in evaluation.failures)
    errors = "".join(f"<li>{html.escape(str(e))}</li>" for e in evaluation.errors)
    unreached = "".join(f"<li>{html.escape(t)}</li>" for t in s.get("unreached_sections", []))
    return f"""<p>{s['questions']} întrebări: {s['answerable']} cu răspuns în politică, {s['unanswerable']} fără.
Latență p50 {_ms(s['latency_ms_p50'])} ms, p95 {_ms(s['latency_ms_p95'])} ms.</p>
<div class="cards">{cards}</div>
<{h}>Acoperire pe secțiuni</{h}>
<p>Închis: întrebări care găsesc secțiunea pe primul loc; deschis: întrebări care o așteaptă.</p>
<figure {'id="coverage-chart"' if level == 2 else 'class="coverage-chart"'}>\
{coverage_svg(s.get('coverage', []))}</figure>
{f"<{hh}>Secțiuni la care nu ajunge nicio întrebare</{hh}><ul>{unreached}</ul>" if unreached else ""}
<{h}>Întrebări ratate ({len(evaluation.failures)})</{h}>
<table {'id="failures"' if level == 2 else 'class="failures"'}><thead><tr>\
<th>id</th><th>întrebare</th><th>așteptat</th><th>abținere</th><th>găsit (top 3)</th>
<th>rang</th><th>ce a văzut utilizatorul</th></tr></thead>
<tbody>{failures}</tbody></table>
{f"<{h}>Linii invalide</{h}><ul>{errors}</ul>" if errors else ""}"""


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="ro"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
{body}
</body></html>
"""


def render_report(evaluation: Evaluation | list[PolicyRun], title: str = "Evaluarea acoperirii politicii",
                  extra: str = "") -> str:
    """One policy's report, or an overview plus one part per policy."""
    if isinstance(evaluation, Evaluation):
        return _page(title, _body(evaluation) + extra)
    runs = evaluation
    rows = "".join("<tr><td>" + html.escape(r.name) + "</td>" + "".join(
        f"<td>{_fmt(r.evaluation.summary.get(k))}</td>" for k, _ in _SHORT) + "</tr>" for r in runs)
    overview = ("<table id=\"policies\"><thead><tr><th>politica</th>"
                + "".join(f"<th>{html.escape(label)}</th>" for _, label in _SHORT)
                + f"</tr></thead><tbody>{rows}</tbody></table>")
    parts = "".join(f"<section><h2>{html.escape(r.name)}</h2>{_body(r.evaluation, 3)}</section>" for r in runs)
    return _page(title, overview + parts + extra)


def write_report(evaluation: Evaluation | list[PolicyRun], path: Path, title: str = "Evaluarea acoperirii politicii",
                 extra: str = "") -> None:
    """Write the HTML report atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(render_report(evaluation, title, extra), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_page(path: Path, title: str, body: str) -> None:
    """Any report body as a self-contained page, written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(_page(title, body), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
