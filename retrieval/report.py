"""Evaluation output: a plain-text summary and a self-contained HTML report.

The chart is inline SVG written here by hand: the report must open offline,
from a file, with no JavaScript library fetched from a CDN.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

from .evaluation import Evaluation

_METRICS = [
    ("hit@1", "hit@1"), ("hit@3", "hit@3"), ("hit@5", "hit@5"), ("mrr", "MRR"),
    ("abstention_precision", "abținere: precizie"), ("abstention_recall", "abținere: recall"),
    ("answerable_abstained", "întrebări cu răspuns abținute"),
]


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _ms(value) -> str:
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


def coverage_svg(coverage: list[dict]) -> str:
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


def render_report(evaluation: Evaluation, title: str = "Evaluarea acoperirii politicii") -> str:
    s = evaluation.summary
    cards = "".join(f'<div class="card"><div class="v">{_fmt(s[k])}</div><div class="l">{html.escape(label)}</div></div>'
                    for k, label in _METRICS)
    failures = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            r.id, r.question, " | ".join(r.expected_sections) or "(abținere)",
            "da" if r.abstained else "nu", " | ".join(r.retrieved_sections[:3]), r.rank or "–")) + "</tr>"
        for r in evaluation.failures)
    errors = "".join(f"<li>{html.escape(str(e))}</li>" for e in evaluation.errors)
    unreached = "".join(f"<li>{html.escape(t)}</li>" for t in s["unreached_sections"])
    return f"""<!doctype html>
<html lang="ro"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2733;padding:0 1rem}}
.cards{{display:flex;flex-wrap:wrap;gap:.8rem}}.card{{border:1px solid #d5dde8;border-radius:8px;padding:.7rem 1rem;min-width:120px}}
.v{{font-size:1.5rem;font-weight:600}}.l{{color:#56657a;font-size:.85rem}}
table{{border-collapse:collapse;width:100%;font-size:.9rem}}td,th{{border-bottom:1px solid #e3e8ef;padding:.4rem;text-align:left;vertical-align:top}}
th{{background:#f3f6fa}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{s['questions']} întrebări: {s['answerable']} cu răspuns în politică, {s['unanswerable']} fără.
Latență p50 {_ms(s['latency_ms_p50'])} ms, p95 {_ms(s['latency_ms_p95'])} ms.</p>
<div class="cards">{cards}</div>
<h2>Acoperire pe secțiuni</h2>
<p>Închis: întrebări care găsesc secțiunea pe primul loc; deschis: întrebări care o așteaptă.</p>
<figure id="coverage-chart">{coverage_svg(s['coverage'])}</figure>
{f"<h3>Secțiuni la care nu ajunge nicio întrebare</h3><ul>{unreached}</ul>" if unreached else ""}
<h2>Întrebări ratate ({len(evaluation.failures)})</h2>
<table id="failures"><thead><tr><th>id</th><th>întrebare</th><th>așteptat</th><th>abținere</th><th>găsit (top 3)</th><th>rang</th></tr></thead>
<tbody>{failures}</tbody></table>
{f"<h2>Linii invalide</h2><ul>{errors}</ul>" if errors else ""}
</body></html>
"""


def write_report(evaluation: Evaluation, path: Path, title: str = "Evaluarea acoperirii politicii") -> None:
    """Write the HTML report atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(evaluation, title), encoding="utf-8")
    os.replace(tmp, path)
