"""Who sees what: visitors the chat only; staff, once unlocked by the configured token, also
"Pentru echipa de suport" and "Evaluare".

The token lives in the server's environment (`PRIVACY_STAFF_TOKEN`), is compared
in constant time, and unlocks only this browser session (kept in session state,
never in the URL, a cookie or a log). Without a configured token nobody is staff.
"""
from __future__ import annotations

import hmac

import streamlit as st

from .config import staff_token

STAFF = "_staff_unlocked"


def is_staff() -> bool:
    return bool(st.session_state.get(STAFF)) and bool(staff_token())


def unlock(token: str) -> bool:
    expected = staff_token()
    ok = bool(expected) and hmac.compare_digest(token.strip().encode(), expected.encode())
    st.session_state[STAFF] = ok
    return ok


def lock() -> None:
    st.session_state[STAFF] = False
