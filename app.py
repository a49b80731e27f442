"""Offline assistant for the privacy policy: answers are verbatim quotes, each cited.

    .venv/bin/python -m streamlit run app.py

Entry point: page setup (language, live region, styles), the engine (loaded once
per process) and navigation by role. Visitors get the chat alone, with no menu;
/echipa asks support staff for the token from `PRIVACY_STAFF_TOKEN` and, once
unlocked, the menu holds "Pentru echipa de suport" and "Evaluare". Nothing a
user types is logged, written to disk or sent anywhere; the conversation lives
in the session only.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from webapp import a11y  # `webapp` is installed (editable) by scripts/setup.sh
from webapp.access import is_staff
from webapp.engine import load_engine
from webapp.render import CSS

APP_DIR = Path(__file__).resolve().parent
PAGES = APP_DIR / "webapp"

# Page icons are emoji: a page's material icon becomes the tab's favicon, which the browser fetches
# from a font server on the internet (tests/test_browser.py checks that no request leaves the machine).
chat = st.Page(PAGES / "chat_page.py", title="Întrebări", icon="💬", default=True)
if is_staff():
    page = st.navigation([
        chat,
        st.Page(PAGES / "staff_page.py", title="Pentru echipa de suport", icon="🛟",
                url_path="echipa"),
        st.Page(PAGES / "eval_page.py", title="Evaluare", icon="📋", url_path="evaluare"),
    ])
else:
    page = st.navigation([chat, st.Page(PAGES / "login_page.py", title="Acces pentru echipă",
                                        icon="🔑", url_path="echipa")], position="hidden")

# Evaluare's tables have many columns: the whole width; the chat reads best centred. Only the first
# set_page_config of a run sets the layout, so it comes once the page is known.
st.set_page_config(page_title="Asistent – politica de confidențialitate", page_icon="🔒",
                   layout="wide" if page.url_path == "evaluare" else "centered")
st.html(CSS)
a11y.page_setup()

load_engine()  # a missing or stale index is built here, with its progress box, before any page draws
page.run()
