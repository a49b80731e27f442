"""Acces pentru echipă: the token form at /echipa; once unlocked, the same address is the staff view."""
from __future__ import annotations

import streamlit as st

from webapp.access import unlock
from webapp.config import STAFF_TOKEN_ENV, staff_token

st.title("Acces pentru echipa de suport")
if not staff_token():
    st.info(f"Accesul echipei nu este configurat: setați variabila {STAFF_TOKEN_ENV} pe server "
            "(cel puțin 12 caractere) și reporniți aplicația.", icon=":material/lock:")
else:
    with st.form("staff-login", enter_to_submit=True):
        token = st.text_input("Cheia de acces a echipei", type="password", key="staff_token_input")
        if st.form_submit_button("Intră", icon=":material/login:"):
            if unlock(token):
                st.rerun()
            st.error("Cheia nu este corectă.", icon=":material/key_off:")
st.page_link("webapp/chat_page.py", label="Înapoi la întrebări", icon=":material/arrow_back:")
