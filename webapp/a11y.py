"""Accessibility glue Streamlit does not offer: the page language, an announcement per answer, focus.

Streamlit's index.html hard-codes `<html lang="en">` and has no setting for it,
so a script (run in the app's own document by `st.html(...,
unsafe_allow_javascript=True)`) sets `lang="ro"` on every run and a
MutationObserver puts it back should anything reset it. The same script adds one
`role="status"` live region to <body>, outside Streamlit's React tree, so it
survives reruns and screen readers hear each change of it.

None of these scripts carries page or user text: the announcement is copied at
run time from the answer already on the page (`.pp-lead`, our escaped HTML),
and the scripts are fixed strings apart from integers.
"""
from __future__ import annotations

import streamlit as st

LIVE_ID = "pp-live"
COPY_LABEL = "Copiază textul"

PAGE_SCRIPT = f"""<script>
(() => {{
  const root = document.documentElement;
  const keep = () => {{ if (root.lang !== "ro") root.lang = "ro"; }};
  keep();
  if (!window.__ppLang) {{
    window.__ppLang = new MutationObserver(keep);
    window.__ppLang.observe(root, {{ attributes: true, attributeFilter: ["lang"] }});
  }}
  if (!document.getElementById("{LIVE_ID}")) {{
    const live = document.createElement("div");
    live.id = "{LIVE_ID}";
    live.setAttribute("role", "status");
    live.setAttribute("aria-live", "polite");
    live.setAttribute("aria-atomic", "true");
    live.className = "pp-sr-only";
    document.body.appendChild(live);
  }}
  // Streamlit names the code box's copy button in English; this page speaks Romanian.
  const relabel = () => document.querySelectorAll('button[aria-label="Copy to clipboard"]')
    .forEach((b) => {{ b.setAttribute("aria-label", "{COPY_LABEL}"); b.title = "{COPY_LABEL}"; }});
  relabel();
  if (!window.__ppCopy) {{
    window.__ppCopy = new MutationObserver(relabel);
    window.__ppCopy.observe(document.body, {{ childList: true, subtree: true }});
  }}
}})();
</script>"""


def page_setup() -> None:
    """Every run, every page: lang="ro" and the live region."""
    st.html(PAGE_SCRIPT, unsafe_allow_javascript=True)


def announce_answer(nonce: int, focus_input: bool) -> None:
    """After a question: announce the newest answer; after an example click, put focus back in the input.

    The text announced is the answer's first passage (or our "not covered"
    sentence), read from the page a moment after it is drawn.
    """
    st.html(f"""<script data-pp-announce="{int(nonce)}">
(() => {{
  const focusInput = {"true" if focus_input else "false"};
  const lastAnswer = () => {{
    const all = [...document.querySelectorAll('[data-testid="stChatMessage"]')]
      .filter((m) => !m.querySelector('[data-testid="stChatMessageAvatarUser"]'));
    return all[all.length - 1];
  }};
  const say = (tries) => {{
    const live = document.getElementById("{LIVE_ID}");
    const answer = lastAnswer();
    if (!live || !answer) {{ if (tries > 0) setTimeout(() => say(tries - 1), 250); return; }}
    const lead = answer.querySelector(".pp-lead") || answer.querySelector("[data-testid=stMarkdownContainer] strong")
      || answer;
    const text = (lead.innerText || "").replace(/\\s+/g, " ").trim().slice(0, 500);
    live.textContent = "";
    setTimeout(() => {{ live.textContent = "Răspuns nou: " + text; }}, 50);
  }};
  setTimeout(() => say(8), 150);
  if (focusInput) {{
    const focus = (tries) => {{
      const box = document.querySelector('[data-testid="stChatInputTextArea"]');
      if (box) box.focus({{ preventScroll: true }});
      else if (tries > 0) setTimeout(() => focus(tries - 1), 200);
    }};
    setTimeout(() => focus(10), 100);
  }}
}})();
</script>""", unsafe_allow_javascript=True)
