"""Chat page for visitors: ask about the policy, get the passage that answers first, verbatim and cited.

The chat itself is `webapp.chat`; the staff view (`staff_page.py`) is the same
chat with the staff panel under each answer.
"""
from __future__ import annotations

from webapp import chat

chat.main(staff=False)
