"""Errors a user can cause and fix; their messages are shown as-is (Romanian UI)."""


class RetrievalError(Exception):
    """Base for every error the CLI and the app turn into a one-line message."""


class CorpusError(RetrievalError):
    """The policy pages are missing, unreadable or malformed."""


class BrokenIndexError(RetrievalError):
    """The index is missing, corrupted or was built differently."""

    def __init__(self, reason: str, hint: str = "Rulați: python -m retrieval build") -> None:
        super().__init__(f"{reason}. {hint}" if hint else reason)
        self.reason = reason  # the short why, for "rebuilding because …" notices


class StaleIndexError(BrokenIndexError):
    """The index no longer matches the pages or the model."""


class QuestionError(RetrievalError):
    """The question cannot be answered as typed (empty, too long)."""
