"""Offline assistant for the privacy policy: answers are verbatim quotes, each cited.

    .venv/bin/python -m streamlit run app.py

Entry point: page setup, the engine (loaded once per process), the staff
settings shared by every page, and navigation. Nothing a user types is logged,
written to disk or sent anywhere; the conversation lives in the session only.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from webapp.engine import load_engine  # `webapp` is installed (editable) by scripts/setup.sh
from webapp.render import CSS

APP_DIR = Path(__file__).resolve().parent

st.set_page_config(page_title="Asistent – politica de confidențialitate", page_icon="🔒",
                   layout="centered")
st.html(CSS)

chat = st.Page(APP_DIR / "webapp" / "chat_page.py", title="Întrebări", icon=":material/forum:", default=True)
evaluation = st.Page(APP_DIR / "webapp" / "eval_page.py", title="Evaluare", icon=":material/fact_check:",
                     url_path="evaluare")
page = st.navigation([chat, evaluation])

loaded = load_engine()

with st.sidebar:
    # Declared here, not on a page, so the choice survives switching pages.
    staff = st.toggle("Mod asistență", key="staff_mode",
                      help="Pentru echipa de suport: scorurile secțiunilor, filtru pe pagini "
                           "și textul de răspuns gata de copiat.")
    if staff:
        st.slider("Secțiuni afișate (k)", min_value=1, max_value=max(1, len(loaded.sections)),
                  value=min(5, len(loaded.sections)), key="staff_k")
        st.multiselect("Doar din paginile", loaded.pages, key="staff_pages", placeholder="Toate paginile")
    st.caption(":material/lock: Conversația rămâne în această fereastră: nu este salvată și nu este "
               "trimisă nicăieri. Totul rulează local.")

page.run()
