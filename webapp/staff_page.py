"""Pentru echipa de suport: the chat plus section scores, the decision, a page filter and a reply to paste.

Reachable only once the session is unlocked (`webapp.access`); the sidebar
settings persist across page switches (`persist_state="session"`).
"""
from __future__ import annotations

import json

import streamlit as st

from webapp import chat
from webapp.access import is_staff, lock
from webapp.engine import load_engine

if not is_staff():   # navigation never offers this page then; a stale link lands on the chat
    st.switch_page("webapp/chat_page.py")

loaded = load_engine()
with st.sidebar:
    k = st.slider("Secțiuni afișate", min_value=1, max_value=max(1, len(loaded.sections)),
                  value=min(chat.STAFF_K, len(loaded.sections)), key="staff_k", persist_state="session")
    pages = st.multiselect("Doar din paginile", loaded.pages, key="staff_pages", placeholder="Toate paginile",
                           persist_state="session")
    unhelpful = chat.unhelpful_questions(chat.history())
    st.download_button(f"Întrebări marcate „nu a ajutat” ({len(unhelpful)}), ca set JSONL",
                       "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in unhelpful),
                       file_name="intrebari-nefolositoare.jsonl", mime="application/jsonl",
                       icon=":material/thumb_down:", disabled=not unhelpful, on_click="ignore",
                       help="Doar din această sesiune; se deschide în Evaluare (Un fișier încărcat). "
                            "Nimic nu este salvat pe server.")
    st.button("Închide accesul echipei", icon=":material/lock:", on_click=lock)

chat.main(staff=True, k=int(k), pages=set(pages))
